// Flag-control and halt instructions, PUSHF/POPF, and the segment-register
// loads and stores: MOV Sreg, PUSH/POP Sreg, LDS/LES/LSS/LFS/LGS.
// Intel SDM vol. 2; protection rules from vol. 3. The rest of the system
// family: far_transfers.cpp, descriptor_insns.cpp, control_regs.cpp.
#include "accel/tcg/exec/privileged.h"

namespace vireo::tcg {

namespace {

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

template <typename T, bool>
struct Pushf {  // 9c: pushf / pushfd / pushfq
  static void run(Cpu& cpu, const Insn& i) {
    // Virtual-8086 mode without VME needs IOPL 3; the image has VM and RF
    // clear (SDM vol. 2 "PUSHF").
    if (virtual_8086(cpu) && iopl(cpu) < 3) raise_gp(0);
    push<T>(cpu, static_cast<T>(cpu.flags() & ~(kVm | kRf)));
    next(cpu, i);
  }
};
template <typename T, bool>
struct Popf {  // 9d: popf / popfd / popfq
  static void run(Cpu& cpu, const Insn& i) {
    // SDM vol. 2 "POPF": VM, VIF, VIP never change, RF is cleared; IOPL
    // changes only at CPL 0 (real mode included), IF only with CPL <= IOPL;
    // a 16-bit POPF changes only the low 16 bits.
    if (virtual_8086(cpu) && iopl(cpu) < 3) raise_gp(0);
    T popped = peek<T>(cpu, 0);
    uint64_t mask = kArithmeticFlags | kTf | kDf | kNt | kAc | kId;
    if (cpu.cpl == 0) mask |= kIopl | kIf;
    else if (cpu.cpl <= iopl(cpu)) mask |= kIf;
    if constexpr (sizeof(T) == 2) mask &= 0xffff;
    set_stack_pointer(cpu, cpu.gpr[kRsp] + sizeof(T));
    cpu.set_flags(((cpu.flags() & ~mask) | (popped & mask)) & ~kRf);
    next(cpu, i);
  }
};

// PUSH/POP Sreg: the segment is in bits 5:3 of the opcode (06/07 ES,
// 0e CS, 16/17 SS, 1e/1f DS, 0f a0/a1 FS, 0f a8/a9 GS).
unsigned sreg_of_opcode(const Insn& i) { return (i.opcode >> 3) & 7u; }

template <typename T, bool>
struct PushSreg {
  static void run(Cpu& cpu, const Insn& i) {
    // Pushed zero-extended to the operand size, as QEMU does (recent Intel
    // processors write only the low 16 bits of a 32-bit slot).
    push<T>(cpu, static_cast<T>(cpu.seg[sreg_of_opcode(i)].selector));
    next(cpu, i);
  }
};
template <typename T, bool>
struct PopSreg {
  static void run(Cpu& cpu, const Insn& i) {
    const unsigned segment = sreg_of_opcode(i);
    // rSP moves with the stack size in force before SS changes, and only
    // once the load has succeeded.
    const unsigned bits = stack_address_bits(cpu);
    const uint64_t sp = wrap_address(cpu.gpr[kRsp] + sizeof(T), bits);
    load_segment(cpu, segment, static_cast<uint16_t>(peek<T>(cpu, 0)));
    if (bits == 16) cpu.gpr[kRsp] = (cpu.gpr[kRsp] & ~0xffffull) | sp;
    else cpu.gpr[kRsp] = sp;
    if (segment == kSs) cpu.interrupt_shadow = true;
    next(cpu, i);
    cpu.end_block = true;
  }
};

// LDS/LES/LSS/LFS/LGS r, m16:16 / m16:32 / m16:64: offset first, then the
// selector; the register is written only once the segment load succeeded.
template <unsigned Segment>
struct LoadFarPointer {
  template <typename T, bool>
  struct Form {
    static void run(Cpu& cpu, const Insn& i) {
      uint64_t ea = effective_address(cpu, i);
      T offset = cpu.read<T>(i.seg, ea);
      uint16_t selector = cpu.read<uint16_t>(i.seg, wrap_address(ea + sizeof(T), i.addr_bits));
      load_segment(cpu, Segment, selector);
      cpu.set<T>(i.reg, offset);
      next(cpu, i);
    }
  };
};
template <typename T, bool Mem> using Les = LoadFarPointer<kEs>::Form<T, Mem>;
template <typename T, bool Mem> using Lds = LoadFarPointer<kDs>::Form<T, Mem>;
template <typename T, bool Mem> using Lss = LoadFarPointer<kSs>::Form<T, Mem>;
template <typename T, bool Mem> using Lfs = LoadFarPointer<kFs>::Form<T, Mem>;
template <typename T, bool Mem> using Lgs = LoadFarPointer<kGs>::Form<T, Mem>;

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
  t.push_back({op1(0x9c), -1, kAnyPrefix, "pushf", "", kDefault64, word_sized_handlers<Pushf>()});
  t.push_back({op1(0x9d), -1, kAnyPrefix, "popf", "", kDefault64 | kEndsBlock, word_sized_handlers<Popf>()});
  for (uint8_t op : {0x06, 0x0e, 0x16, 0x1e}) {
    t.push_back({op1(op), -1, kAnyPrefix, "push", "", kInvalid64, word_sized_handlers<PushSreg>()});
  }
  for (uint8_t op : {0x07, 0x17, 0x1f}) {
    t.push_back({op1(op), -1, kAnyPrefix, "pop", "", kInvalid64 | kEndsBlock, word_sized_handlers<PopSreg>()});
  }
  for (uint8_t op : {0xa0, 0xa8}) {
    t.push_back({op0f(op), -1, kAnyPrefix, "push", "", kDefault64, word_sized_handlers<PushSreg>()});
  }
  for (uint8_t op : {0xa1, 0xa9}) {
    t.push_back({op0f(op), -1, kAnyPrefix, "pop", "", kDefault64 | kEndsBlock, word_sized_handlers<PopSreg>()});
  }
  t.push_back({op1(0xc4), -1, kAnyPrefix, "les", "Gv,Mp", kInvalid64, word_sized_handlers<Les>()});
  t.push_back({op1(0xc5), -1, kAnyPrefix, "lds", "Gv,Mp", kInvalid64, word_sized_handlers<Lds>()});
  t.push_back({op0f(0xb2), -1, kAnyPrefix, "lss", "Gv,Mp", 0, word_sized_handlers<Lss>()});
  t.push_back({op0f(0xb4), -1, kAnyPrefix, "lfs", "Gv,Mp", 0, word_sized_handlers<Lfs>()});
  t.push_back({op0f(0xb5), -1, kAnyPrefix, "lgs", "Gv,Mp", 0, word_sized_handlers<Lgs>()});
  add_far_transfer_rows(t);
  add_descriptor_rows(t);
  add_control_register_rows(t);
}

}  // namespace vireo::tcg
