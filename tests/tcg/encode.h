// A tiny x86 encoder for tests: enough to build ModRM instructions with
// any register or a base+displacement memory operand, prefixes, REX and
// immediates, so tests can sweep forms without hand-written byte arrays.
#pragma once

#include <cstdint>
#include <initializer_list>
#include <vector>

namespace vireo::tcg::test {

using Bytes = std::vector<uint8_t>;

// The ModRM r/m operand: a register, or memory at [base + disp].
struct Rm {
  bool mem = false;
  unsigned reg = 0;   // register form
  unsigned base = 0;  // memory form: base register 0..15
  int32_t disp = 0;
};
inline Rm reg(unsigned r) { return Rm{false, r, 0, 0}; }
inline Rm mem(unsigned base, int32_t disp = 0) { return Rm{true, 0, base, disp}; }

struct Encoding {
  std::vector<uint8_t> prefixes;  // legacy prefixes (F0, F2, F3, 67, segment), in order
  unsigned op_bits = 32;          // 16 adds 66, 64 adds REX.W; 8 and 32 add nothing
  std::vector<uint8_t> opcode;    // e.g. {0x0f, 0xa4}
  bool has_modrm = true;
  unsigned reg = 0;               // ModRM.reg: a register or an opcode extension
  Rm rm;
  uint64_t imm = 0;
  unsigned imm_bytes = 0;
  bool force_rex = false;         // an empty REX (0x40): SPL..DIL instead of AH..BH
};

inline Bytes encode(const Encoding& in) {
  Bytes out;
  if (in.op_bits == 16) out.push_back(0x66);
  out.insert(out.end(), in.prefixes.begin(), in.prefixes.end());
  uint8_t rex = 0;
  if (in.op_bits == 64) rex |= 8;
  if (in.has_modrm) {
    if (in.reg & 8) rex |= 4;
    if ((in.rm.mem ? in.rm.base : in.rm.reg) & 8) rex |= 1;
  }
  if (rex || in.force_rex) out.push_back(static_cast<uint8_t>(0x40 | rex));
  out.insert(out.end(), in.opcode.begin(), in.opcode.end());
  if (in.has_modrm) {
    const uint8_t reg_field = static_cast<uint8_t>((in.reg & 7) << 3);
    if (!in.rm.mem) {
      out.push_back(static_cast<uint8_t>(0xc0 | reg_field | (in.rm.reg & 7)));
    } else {
      const unsigned base = in.rm.base & 7;
      // rbp/r13 have no mod=00 form (that encodes disp32/RIP), so they take disp8 0.
      unsigned mod = (in.rm.disp == 0 && base != 5) ? 0 : (in.rm.disp >= -128 && in.rm.disp <= 127) ? 1 : 2;
      out.push_back(static_cast<uint8_t>((mod << 6) | reg_field | base));
      if (base == 4) out.push_back(0x24);  // SIB: base rsp/r12, no index
      if (mod == 1) out.push_back(static_cast<uint8_t>(in.rm.disp));
      if (mod == 2) {
        for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(static_cast<uint32_t>(in.rm.disp) >> (8 * i)));
      }
    }
  }
  for (unsigned i = 0; i < in.imm_bytes; ++i) out.push_back(static_cast<uint8_t>(in.imm >> (8 * i)));
  return out;
}

// Concatenates instruction byte sequences.
inline Bytes join(std::initializer_list<Bytes> parts) {
  Bytes out;
  for (const Bytes& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

}  // namespace vireo::tcg::test
