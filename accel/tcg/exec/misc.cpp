// Small integer instructions without a family of their own: XLAT (D7),
// LAHF (9F), SAHF (9E) and SALC (D6). Intel SDM vol. 2. LAHF/SAHF are
// valid in 64-bit mode because CPUID advertises LAHF_LM (features.h).
#include "accel/tcg/exec/families.h"
#include "accel/tcg/exec/operands.h"

namespace vireo::tcg {

namespace {

// XLAT: AL = [seg:rBX + AL], rBX at the address size; DS unless overridden.
void xlat(Cpu& cpu, const Insn& i) {
  uint64_t address = wrap_address(cpu.gpr[kRbx] + static_cast<uint8_t>(cpu.gpr[kRax]), i.addr_bits);
  cpu.set8(0, cpu.read<uint8_t>(i.seg, address));
  next(cpu, i);
}

// The flags LAHF/SAHF move: SF ZF AF PF CF, in their RFLAGS positions;
// bit 1 always reads as 1.
constexpr uint64_t kLahfFlags = kSf | kZf | kAf | kPf | kCf;

void lahf(Cpu& cpu, const Insn& i) {
  cpu.set8(1, static_cast<uint8_t>((cpu.flags() & kLahfFlags) | kRflagsFixed));
  next(cpu, i);
}

void sahf(Cpu& cpu, const Insn& i) {
  cpu.set_arithmetic_flags(kLahfFlags, static_cast<uint8_t>(cpu.gpr[kRax] >> 8));
  next(cpu, i);
}

// D6 SALC: AL = CF ? FF : 00, flags unchanged. Not in Intel's manual, but
// every Intel and AMD processor executes it outside 64-bit mode (#UD in
// 64-bit mode), QEMU too, and 16-bit code does use it. objdump calls it
// "(bad)", so the opcode sweep (opcode_coverage_test) cannot see it.
void salc(Cpu& cpu, const Insn& i) {
  cpu.set8(0, cpu.cf() ? 0xff : 0x00);
  next(cpu, i);
}

}  // namespace

void add_misc_rows(std::vector<OpcodeRow>& t) {
  t.push_back({op1(0xd7), -1, kAnyPrefix, "xlat", "", 0, one_handler(&xlat)});
  t.push_back({op1(0x9f), -1, kAnyPrefix, "lahf", "", 0, one_handler(&lahf)});
  t.push_back({op1(0x9e), -1, kAnyPrefix, "sahf", "", 0, one_handler(&sahf)});
  t.push_back({op1(0xd6), -1, kAnyPrefix, "salc", "", kInvalid64, one_handler(&salc)});
}

}  // namespace vireo::tcg
