// CRC32 (SSE4.2, F2 0F 38 F0/F1): Intel SDM vol. 2, "CRC32 — Accumulate
// CRC32 Value". The polynomial is CRC-32C (Castagnoli, 11EDC6F41H) in its
// bit-reflected form; the instruction applies no initial or final
// inversion, so a guest's CRC is exactly the running remainder in the
// destination's low 32 bits.
#include <array>

#include "accel/tcg/exec/families.h"
#include "accel/tcg/exec/operands.h"

namespace vireo::tcg {

namespace {

constexpr uint32_t kCrc32cReflected = 0x82f63b78;

constexpr std::array<uint32_t, 256> make_crc32c_table() {
  std::array<uint32_t, 256> table{};
  for (uint32_t byte = 0; byte < 256; ++byte) {
    uint32_t crc = byte;
    for (int bit = 0; bit < 8; ++bit) crc = (crc >> 1) ^ (kCrc32cReflected & (0u - (crc & 1)));
    table[byte] = crc;
  }
  return table;
}
constexpr std::array<uint32_t, 256> kCrc32cTable = make_crc32c_table();

// Feeds the bytes of `data`, least significant first (the SDM's
// TEMP1[31:0] <- BIT_REFLECT(SRC) formulation, done a byte at a time).
template <typename T>
uint32_t crc32c(uint32_t crc, T data) {
  for (unsigned k = 0; k < sizeof(T); ++k) {
    crc = (crc >> 8) ^ kCrc32cTable[(crc ^ static_cast<uint8_t>(data >> (8 * k))) & 0xff];
  }
  return crc;
}

// The destination is r32 or r64; either way the result is 32 bits,
// zero-extended (with REX.W the SDM's TEMP is also 32 bits wide).
template <typename Src, bool Mem>
void crc32_run(Cpu& cpu, const Insn& i) {
  Src data = read_rm<Src, Mem>(cpu, i);
  cpu.set<uint32_t>(i.reg, crc32c(static_cast<uint32_t>(cpu.gpr[i.reg]), data));
  next(cpu, i);
}

// F1's source is r/m16 with 66, r/m64 with REX.W (which wins), else r/m32.
// The row's size is the destination's (Gy), so the source width is read
// from the prefixes here.
template <bool Mem>
void crc32_ev(Cpu& cpu, const Insn& i) {
  if (i.prefix & kPrefixRexW) crc32_run<uint64_t, Mem>(cpu, i);
  else if (i.prefix & kPrefixOpsize) crc32_run<uint16_t, Mem>(cpu, i);
  else crc32_run<uint32_t, Mem>(cpu, i);
}

}  // namespace

void add_crc32_rows(std::vector<OpcodeRow>& t) {
  t.push_back({op0f38(0xf0), -1, kPrefixF2, "crc32", "Gy,Eb", 0,
               form_handlers(&crc32_run<uint8_t, false>, &crc32_run<uint8_t, true>)});
  t.push_back({op0f38(0xf1), -1, kPrefixF2, "crc32", "Gy,Ev", 0,
               form_handlers(&crc32_ev<false>, &crc32_ev<true>)});
}

}  // namespace vireo::tcg
