// Flag-control, halt and segment-register instructions, and far jumps.
// Intel SDM vol. 2; protection rules from vol. 3.
#include "accel/tcg/exec/families.h"
#include "accel/tcg/exec/operands.h"
#include "accel/tcg/system.h"

namespace vireo::tcg {

namespace {

bool protected_mode(const Cpu& cpu) { return cpu.cr0 & kCr0Pe; }
unsigned iopl(const Cpu& cpu) { return static_cast<unsigned>((cpu.rflags & kIopl) >> 12); }

void hlt(Cpu& cpu, const Insn& i) {
  if (cpu.cpl != 0) raise_gp(0);
  next(cpu, i);
  cpu.halted = true;
  cpu.end_block = true;
}

void cli(Cpu& cpu, const Insn& i) {
  // Protected mode: IF may change only with CPL <= IOPL (no VME/PVI support).
  if (protected_mode(cpu) && cpu.cpl > iopl(cpu)) raise_gp(0);
  cpu.rflags &= ~kIf;
  next(cpu, i);
}
void sti(Cpu& cpu, const Insn& i) {
  if (protected_mode(cpu) && cpu.cpl > iopl(cpu)) raise_gp(0);
  // Interrupts stay blocked until after the next instruction (SDM: "STI").
  if (!(cpu.rflags & kIf)) cpu.interrupt_shadow = true;
  cpu.rflags |= kIf;
  next(cpu, i);
  cpu.end_block = true;
}
void cld(Cpu& cpu, const Insn& i) { cpu.rflags &= ~kDf; next(cpu, i); }
void std_(Cpu& cpu, const Insn& i) { cpu.rflags |= kDf; next(cpu, i); }
void clc(Cpu& cpu, const Insn& i) { cpu.set_arithmetic_flags(kCf, 0); next(cpu, i); }
void stc(Cpu& cpu, const Insn& i) { cpu.set_arithmetic_flags(kCf, kCf); next(cpu, i); }
void cmc(Cpu& cpu, const Insn& i) { cpu.set_arithmetic_flags(kCf, cpu.cf() ? 0 : kCf); next(cpu, i); }

template <typename T, bool Mem>
struct MovESreg {  // 8c: mov r/m, Sreg (a register destination gets the zero-extended selector)
  static void run(Cpu& cpu, const Insn& i) {
    if (i.reg > kGs) raise_ud();
    uint16_t selector = cpu.seg[i.reg].selector;
    if constexpr (Mem) write_rm<uint16_t, true>(cpu, i, selector);
    else cpu.set<T>(i.rm, static_cast<T>(selector));
    next(cpu, i);
  }
};
template <typename T, bool Mem>
struct MovSregE {  // 8e: mov Sreg, r/m16
  static void run(Cpu& cpu, const Insn& i) {
    if (i.reg > kGs || i.reg == kCs) raise_ud();
    uint16_t selector = read_rm<uint16_t, Mem>(cpu, i);
    load_segment(cpu, i.reg, selector);
    // Loading SS blocks interrupts for one instruction so that SS:SP can
    // be set together (SDM vol. 3 §6.8.3).
    if (i.reg == kSs) cpu.interrupt_shadow = true;
    next(cpu, i);
    cpu.end_block = true;
  }
};

// EA: jmp ptr16:16 / ptr16:32.
void jmp_far_direct(Cpu& cpu, const Insn& i) {
  uint16_t selector = static_cast<uint16_t>(i.imm2);
  if (!protected_mode(cpu) || (cpu.rflags & kVm)) {
    load_segment_real(cpu, kCs, selector);
    cpu.update_mode();
    jump(cpu, i.op_bits == 16 ? (i.imm & 0xffff) : (i.imm & 0xffffffffull));
    return;
  }
  raise_gp(selector & 0xfffc);  // protected-mode far jumps: system family
}

}  // namespace

void add_system_rows(std::vector<OpcodeRow>& t) {
  t.push_back({op1(0xf4), -1, kAnyPrefix, "hlt", "", kEndsBlock, one_handler(&hlt)});
  t.push_back({op1(0xfa), -1, kAnyPrefix, "cli", "", 0, one_handler(&cli)});
  t.push_back({op1(0xfb), -1, kAnyPrefix, "sti", "", kEndsBlock, one_handler(&sti)});
  t.push_back({op1(0xfc), -1, kAnyPrefix, "cld", "", 0, one_handler(&cld)});
  t.push_back({op1(0xfd), -1, kAnyPrefix, "std", "", 0, one_handler(&std_)});
  t.push_back({op1(0xf8), -1, kAnyPrefix, "clc", "", 0, one_handler(&clc)});
  t.push_back({op1(0xf9), -1, kAnyPrefix, "stc", "", 0, one_handler(&stc)});
  t.push_back({op1(0xf5), -1, kAnyPrefix, "cmc", "", 0, one_handler(&cmc)});
  t.push_back({op1(0x8c), -1, kAnyPrefix, "mov", "Ev,Sw", 0, sized_handlers<MovESreg>()});
  t.push_back({op1(0x8e), -1, kAnyPrefix, "mov", "Sw,Ew", kEndsBlock, sized_handlers<MovSregE>()});
  t.push_back({op1(0xea), -1, kAnyPrefix, "jmp", "Ap", kInvalid64 | kEndsBlock, one_handler(&jmp_far_direct)});
}

}  // namespace vireo::tcg
