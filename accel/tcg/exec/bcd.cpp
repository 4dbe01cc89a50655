// Decimal arithmetic: DAA DAS AAA AAS AAM AAD (27 2F 37 3F D4 D5), the
// adjustments after packed (DAA/DAS) and unpacked (the rest) BCD
// arithmetic in AL/AX. Intel SDM vol. 2. All are #UD in 64-bit mode.
//
// Flags the SDM leaves undefined are set as the host (AMD Zen 4) sets
// them; the differential test runs these in a 32-bit code segment.
#include "accel/tcg/exec/families.h"
#include "accel/tcg/exec/int_flags.h"
#include "accel/tcg/exec/operands.h"

namespace vireo::tcg {

namespace {

uint8_t al(const Cpu& cpu) { return static_cast<uint8_t>(cpu.gpr[kRax]); }
uint8_t ah(const Cpu& cpu) { return static_cast<uint8_t>(cpu.gpr[kRax] >> 8); }

// DAA/DAS: SDM pseudo-code, with OF (undefined) as the host computes it.
template <bool Subtract>
void decimal_adjust(Cpu& cpu, const Insn& i) {
  const uint8_t old_al = al(cpu);
  const bool old_cf = cpu.cf();
  uint8_t v = old_al;
  bool af = false, cf = false;
  if ((old_al & 0xf) > 9 || cpu.flags() & kAf) {
    cf = old_cf || (Subtract ? old_al < 6 : old_al > 0xf9);
    v = static_cast<uint8_t>(Subtract ? v - 6 : v + 6);
    af = true;
  }
  if (old_al > 0x99 || old_cf) {
    v = static_cast<uint8_t>(Subtract ? v - 0x60 : v + 0x60);
    cf = true;
  }
  cpu.set8(0, v);
  // OF as an 8-bit signed overflow of AL's change: the host's rule.
  const bool of = Subtract ? ((old_al & ~v) & 0x80) : ((~old_al & v) & 0x80);
  set_all_arithmetic_flags(cpu, result_flags(v) | (af ? kAf : 0) | (cf ? kCf : 0) | (of ? kOf : 0));
  next(cpu, i);
}

// AAA/AAS: SDM pseudo-code. AX +/- 106H adjusts AL and carries into AH.
// SF, ZF, PF and OF are undefined; the host sets them as for the 16-bit
// ADD/SUB AX, 106H (or from AX unchanged when no adjustment is needed),
// before AL's upper nibble is cleared.
template <bool Subtract>
void ascii_adjust(Cpu& cpu, const Insn& i) {
  const uint16_t ax = static_cast<uint16_t>(cpu.gpr[kRax]);
  const bool adjust = (ax & 0xf) > 9 || (cpu.flags() & kAf);
  uint16_t t = ax;
  bool of = false;
  if (adjust) {
    t = static_cast<uint16_t>(Subtract ? ax - 0x106 : ax + 0x106);
    of = Subtract ? (ax & ~t & 0x8000) : (~ax & t & 0x8000);
  }
  cpu.set<uint16_t>(kRax, t & 0xff0f);
  set_all_arithmetic_flags(cpu, result_flags(t) | (adjust ? kAf | kCf : 0) | (of ? kOf : 0));
  next(cpu, i);
}

// D4 ib: AH = AL / base, AL = AL mod base; #DE for base 0. SF, ZF and PF
// from AL; OF, AF and CF (undefined) cleared, as on the host.
void aam(Cpu& cpu, const Insn& i) {
  const uint8_t base = static_cast<uint8_t>(i.imm);
  if (base == 0) raise_fault(kDivideError);
  const uint8_t v = al(cpu);
  const uint8_t low = v % base;
  cpu.set<uint16_t>(kRax, static_cast<uint16_t>(((v / base) << 8) | low));
  set_all_arithmetic_flags(cpu, result_flags(low));
  next(cpu, i);
}

// D5 ib: AL = AL + AH * base, AH = 0. The host's flags are those of the
// byte addition AL + (AH * base), which record_flags describes exactly.
void aad(Cpu& cpu, const Insn& i) {
  const uint8_t product = static_cast<uint8_t>(ah(cpu) * static_cast<uint8_t>(i.imm));
  const uint8_t low = static_cast<uint8_t>(al(cpu) + product);
  record_flags<uint8_t>(cpu, FlagOp::Add, al(cpu), product, low);
  cpu.set<uint16_t>(kRax, low);
  next(cpu, i);
}

}  // namespace

void add_bcd_rows(std::vector<OpcodeRow>& t) {
  t.push_back({op1(0x27), -1, kAnyPrefix, "daa", "", kInvalid64, one_handler(&decimal_adjust<false>)});
  t.push_back({op1(0x2f), -1, kAnyPrefix, "das", "", kInvalid64, one_handler(&decimal_adjust<true>)});
  t.push_back({op1(0x37), -1, kAnyPrefix, "aaa", "", kInvalid64, one_handler(&ascii_adjust<false>)});
  t.push_back({op1(0x3f), -1, kAnyPrefix, "aas", "", kInvalid64, one_handler(&ascii_adjust<true>)});
  t.push_back({op1(0xd4), -1, kAnyPrefix, "aam", "Ib", kInvalid64, one_handler(&aam)});
  t.push_back({op1(0xd5), -1, kAnyPrefix, "aad", "Ib", kInvalid64, one_handler(&aad)});
}

}  // namespace vireo::tcg
