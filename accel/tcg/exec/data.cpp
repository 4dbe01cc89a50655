// Data movement: MOV (general, moffs, immediate), LEA, XCHG, MOVZX/MOVSX/
// MOVSXD, PUSH/POP of general registers, immediates and memory, PUSHA/POPA,
// BOUND, the sign extensions CBW/CWDE/CDQE and CWD/CDQ/CQO, NOP.
// Intel SDM vol. 2.
#include "accel/tcg/exec/families.h"
#include "accel/tcg/exec/operands.h"

namespace vireo::tcg {

namespace {

template <typename T, bool Mem>
struct MovEG {  // 88, 89: mov r/m, reg
  static void run(Cpu& cpu, const Insn& i) {
    write_rm<T, Mem>(cpu, i, cpu.get<T>(i.reg));
    next(cpu, i);
  }
};
template <typename T, bool Mem>
struct MovGE {  // 8a, 8b: mov reg, r/m
  static void run(Cpu& cpu, const Insn& i) {
    cpu.set<T>(i.reg, read_rm<T, Mem>(cpu, i));
    next(cpu, i);
  }
};
template <typename T, bool Mem>
struct MovEI {  // c6, c7: mov r/m, imm
  static void run(Cpu& cpu, const Insn& i) {
    write_rm<T, Mem>(cpu, i, static_cast<T>(i.imm));
    next(cpu, i);
  }
};
template <typename T, bool>
struct MovZI {  // b0-bf: mov reg, imm (imm64 with REX.W)
  static void run(Cpu& cpu, const Insn& i) {
    cpu.set<T>(i.reg, static_cast<T>(i.imm));
    next(cpu, i);
  }
};
template <typename T, bool>
struct MovAccMoffs {  // a0, a1: mov AL/eAX, [moffs]
  static void run(Cpu& cpu, const Insn& i) {
    cpu.set<T>(kRax, cpu.read<T>(i.seg, i.imm));
    next(cpu, i);
  }
};
template <typename T, bool>
struct MovMoffsAcc {  // a2, a3: mov [moffs], AL/eAX
  static void run(Cpu& cpu, const Insn& i) {
    cpu.write<T>(i.seg, i.imm, cpu.get<T>(kRax));
    next(cpu, i);
  }
};
template <typename T, bool>
struct Lea {  // 8d
  static void run(Cpu& cpu, const Insn& i) {
    cpu.set<T>(i.reg, static_cast<T>(effective_address(cpu, i)));
    next(cpu, i);
  }
};
template <typename T, bool Mem>
struct XchgEG {  // 86, 87: always atomic with memory (implicit LOCK)
  static void run(Cpu& cpu, const Insn& i) {
    T reg_value = cpu.get<T>(i.reg);
    Insn locked = i;
    locked.prefix |= kPrefixLock;
    T old = modify_rm<T, Mem>(cpu, locked, [&](T) { return reg_value; });
    cpu.set<T>(i.reg, old);
    next(cpu, i);
  }
};
template <typename T, bool>
struct XchgAccZ {  // 91-97: xchg eAX, reg
  static void run(Cpu& cpu, const Insn& i) {
    T a = cpu.get<T>(kRax);
    cpu.set<T>(kRax, cpu.get<T>(i.reg));
    cpu.set<T>(i.reg, a);
    next(cpu, i);
  }
};

void nop(Cpu& cpu, const Insn& i) { next(cpu, i); }

// 90 is NOP, except that with REX.B it is XCHG r8, rAX.
template <typename T, bool>
struct Nop90 {
  static void run(Cpu& cpu, const Insn& i) {
    if (i.reg != kRax) XchgAccZ<T, false>::run(cpu, i);
    else next(cpu, i);
  }
};

template <typename To, typename From, bool Signed>
struct Extend {
  template <typename T, bool Mem>
  struct Form {  // the destination size is the row's operand size T
    static void run(Cpu& cpu, const Insn& i) {
      From v = read_rm<From, Mem>(cpu, i);
      T r;
      if constexpr (Signed) r = static_cast<T>(static_cast<std::make_signed_t<T>>(static_cast<std::make_signed_t<From>>(v)));
      else r = static_cast<T>(v);
      cpu.set<T>(i.reg, r);
      next(cpu, i);
    }
  };
};
// The source of MOVZX/MOVSX Gv,Eb is a byte register (the decoder encoded
// rm as a byte offset); Gv,Ew a word register.
template <typename T, bool Mem> using MovzxB = typename Extend<T, uint8_t, false>::template Form<T, Mem>;
template <typename T, bool Mem> using MovzxW = typename Extend<T, uint16_t, false>::template Form<T, Mem>;
template <typename T, bool Mem> using MovsxB = typename Extend<T, uint8_t, true>::template Form<T, Mem>;
template <typename T, bool Mem> using MovsxW = typename Extend<T, uint16_t, true>::template Form<T, Mem>;
template <typename T, bool Mem> using MovsxD = typename Extend<T, uint32_t, true>::template Form<T, Mem>;

template <typename T, bool>
struct PushZ {  // 50-57
  static void run(Cpu& cpu, const Insn& i) {
    push<T>(cpu, cpu.get<T>(i.reg));
    next(cpu, i);
  }
};
template <typename T, bool>
struct PopZ {  // 58-5f
  static void run(Cpu& cpu, const Insn& i) {
    T v = pop<T>(cpu);
    cpu.set<T>(i.reg, v);
    next(cpu, i);
  }
};
// PUSHA/PUSHAD (60): AX, CX, DX, BX, the SP from before the first push,
// BP, SI, DI — register numbers 0-7 in order. rSP is committed only after
// all eight stores, so a #SS or #PF part-way leaves the registers as they
// were and the instruction restarts cleanly. Only 16- and 32-bit forms
// exist (the row is #UD in 64-bit mode).
template <typename T, bool>
struct Pusha {
  static void run(Cpu& cpu, const Insn& i) {
    if constexpr (sizeof(T) == 2 || sizeof(T) == 4) {
      const unsigned bits = stack_address_bits(cpu);
      uint64_t sp = cpu.gpr[kRsp];
      for (unsigned r = 0; r < 8; ++r) {
        sp = wrap_address(sp - sizeof(T), bits);
        cpu.write<T>(kSs, sp, static_cast<T>(cpu.gpr[r]));
      }
      set_stack_pointer(cpu, sp);
      next(cpu, i);
    } else {
      raise_ud();
    }
  }
};
// POPA/POPAD (61): the reverse, skipping the saved SP. All eight loads
// happen before any register changes, for the same restartability.
template <typename T, bool>
struct Popa {
  static void run(Cpu& cpu, const Insn& i) {
    if constexpr (sizeof(T) == 2 || sizeof(T) == 4) {
      const unsigned bits = stack_address_bits(cpu);
      uint64_t sp = wrap_address(cpu.gpr[kRsp], bits);
      T values[8];
      for (unsigned n = 0; n < 8; ++n) {
        values[7 - n] = cpu.read<T>(kSs, sp);
        sp = wrap_address(sp + sizeof(T), bits);
      }
      for (unsigned r = 0; r < 8; ++r) {
        if (r != kRsp) cpu.set<T>(r, values[r]);
      }
      set_stack_pointer(cpu, sp);
      next(cpu, i);
    } else {
      raise_ud();
    }
  }
};
// BOUND (62): the signed index in the register must lie within the pair
// of bounds at the memory operand (lower, then upper), else #BR — a fault,
// so rip stays on the instruction. The register form is #UD (decoder: "M").
template <typename T, bool>
struct Bound {
  static void run(Cpu& cpu, const Insn& i) {
    if constexpr (sizeof(T) == 2 || sizeof(T) == 4) {
      const uint64_t address = effective_address(cpu, i);
      const auto lower = static_cast<Signed<T>>(cpu.read<T>(i.seg, address));
      const auto upper = static_cast<Signed<T>>(cpu.read<T>(i.seg, wrap_address(address + sizeof(T), i.addr_bits)));
      const auto index = static_cast<Signed<T>>(cpu.get<T>(i.reg));
      if (index < lower || index > upper) raise_fault(kBoundRange);
      next(cpu, i);
    } else {
      raise_ud();
    }
  }
};
template <typename T, bool>
struct PushI {  // 68, 6a
  static void run(Cpu& cpu, const Insn& i) {
    push<T>(cpu, static_cast<T>(i.imm));
    next(cpu, i);
  }
};
template <typename T, bool Mem>
struct PushE {  // ff /6
  static void run(Cpu& cpu, const Insn& i) {
    push<T>(cpu, read_rm<T, Mem>(cpu, i));
    next(cpu, i);
  }
};
template <typename T, bool Mem>
struct PopE {  // 8f /0
  static void run(Cpu& cpu, const Insn& i) {
    // The destination address is computed with rSP already incremented
    // (SDM: "POP"), and nothing changes if the store faults.
    uint64_t old_sp = cpu.gpr[kRsp];
    T v = pop<T>(cpu);
    try {
      write_rm<T, Mem>(cpu, i, v);
    } catch (...) {
      cpu.gpr[kRsp] = old_sp;
      throw;
    }
    next(cpu, i);
  }
};

template <typename T, bool>
struct ConvertAcc {  // 98: cbw / cwde / cdqe
  static void run(Cpu& cpu, const Insn& i) {
    if constexpr (sizeof(T) == 2) cpu.set<uint16_t>(kRax, static_cast<uint16_t>(static_cast<int8_t>(cpu.gpr[kRax])));
    if constexpr (sizeof(T) == 4) cpu.set<uint32_t>(kRax, static_cast<uint32_t>(static_cast<int16_t>(cpu.gpr[kRax])));
    if constexpr (sizeof(T) == 8) cpu.gpr[kRax] = static_cast<uint64_t>(static_cast<int32_t>(cpu.gpr[kRax]));
    next(cpu, i);
  }
};
template <typename T, bool>
struct ConvertAccToDx {  // 99: cwd / cdq / cqo
  static void run(Cpu& cpu, const Insn& i) {
    T a = cpu.get<T>(kRax);
    cpu.set<T>(kRdx, static_cast<T>(static_cast<Signed<T>>(a) < 0 ? ~T{0} : T{0}));
    next(cpu, i);
  }
};

// C9: LEAVE: rSP = rBP, then pop rBP (operand size), stack-address sized.
template <typename T, bool>
struct Leave {
  static void run(Cpu& cpu, const Insn& i) {
    unsigned bits = stack_address_bits(cpu);
    uint64_t frame = wrap_address(cpu.gpr[kRbp], bits);
    T saved = cpu.read<T>(kSs, frame);  // may fault: nothing has changed yet
    set_stack_pointer(cpu, frame + sizeof(T));
    cpu.set<T>(kRbp, saved);
    next(cpu, i);
  }
};

// C8 iw ib: ENTER size, level: push rBP, copy level-1 frame pointers from
// the old frame, push the new frame pointer, then reserve `size` bytes
// (SDM vol. 2, "ENTER"). All stores are done before rSP/rBP change.
template <typename T, bool>
struct Enter {
  static void run(Cpu& cpu, const Insn& i) {
    const unsigned bits = stack_address_bits(cpu);
    const uint64_t size = i.imm & 0xffff;
    const unsigned level = i.imm2 & 0x1f;
    uint64_t sp = wrap_address(cpu.gpr[kRsp] - sizeof(T), bits);
    cpu.write<T>(kSs, sp, cpu.get<T>(kRbp));
    const uint64_t frame_temp = sp;
    uint64_t bp = cpu.gpr[kRbp];
    for (unsigned n = 1; n < level; ++n) {
      bp = wrap_address(bp - sizeof(T), bits);
      sp = wrap_address(sp - sizeof(T), bits);
      cpu.write<T>(kSs, sp, cpu.read<T>(kSs, bp));
    }
    if (level > 0) {
      sp = wrap_address(sp - sizeof(T), bits);
      cpu.write<T>(kSs, sp, static_cast<T>(frame_temp));
    }
    uint64_t new_sp = wrap_address(sp - size, bits);
    // The reserved area must be writable too (SDM: a #SS/#PF here leaves
    // everything unchanged).
    if (size > 0) (void)cpu.linear(kSs, new_sp, 1, Access::Write);
    cpu.set<T>(kRbp, static_cast<T>(frame_temp));
    set_stack_pointer(cpu, new_sp);
    next(cpu, i);
  }
};

}  // namespace

void add_data_rows(std::vector<OpcodeRow>& t) {
  t.push_back({op1(0x88), -1, kAnyPrefix, "mov", "Eb,Gb", 0, sized_handlers<MovEG>()});
  t.push_back({op1(0x89), -1, kAnyPrefix, "mov", "Ev,Gv", 0, sized_handlers<MovEG>()});
  t.push_back({op1(0x8a), -1, kAnyPrefix, "mov", "Gb,Eb", 0, sized_handlers<MovGE>()});
  t.push_back({op1(0x8b), -1, kAnyPrefix, "mov", "Gv,Ev", 0, sized_handlers<MovGE>()});
  t.push_back({op1(0xc6), 0, kAnyPrefix, "mov", "Eb,Ib", 0, sized_handlers<MovEI>()});
  t.push_back({op1(0xc7), 0, kAnyPrefix, "mov", "Ev,Iz", 0, sized_handlers<MovEI>()});
  t.push_back({op1(0xa0), -1, kAnyPrefix, "mov", "AL,Ob", 0, sized_handlers<MovAccMoffs>()});
  t.push_back({op1(0xa1), -1, kAnyPrefix, "mov", "rAX,Ov", 0, sized_handlers<MovAccMoffs>()});
  t.push_back({op1(0xa2), -1, kAnyPrefix, "mov", "Ob,AL", 0, sized_handlers<MovMoffsAcc>()});
  t.push_back({op1(0xa3), -1, kAnyPrefix, "mov", "Ov,rAX", 0, sized_handlers<MovMoffsAcc>()});
  for (uint8_t r = 0; r < 8; ++r) {
    t.push_back({op1(0xb0 + r), -1, kAnyPrefix, "mov", "Zb,Ib", 0, sized_handlers<MovZI>()});
    t.push_back({op1(0xb8 + r), -1, kAnyPrefix, "mov", "Zv,Iv", 0, sized_handlers<MovZI>()});
    t.push_back({op1(0x50 + r), -1, kAnyPrefix, "push", "Zv", kDefault64, sized_handlers<PushZ>()});
    t.push_back({op1(0x58 + r), -1, kAnyPrefix, "pop", "Zv", kDefault64, sized_handlers<PopZ>()});
    if (r == 0) {
      t.push_back({op1(0x90), -1, kAnyPrefix, "nop", "Zv", 0, sized_handlers<Nop90>()});
    } else {
      t.push_back({op1(0x90 + r), -1, kAnyPrefix, "xchg", "Zv,rAX", 0, sized_handlers<XchgAccZ>()});
    }
  }
  t.push_back({op1(0x8d), -1, kAnyPrefix, "lea", "Gv,M", 0, sized_handlers<Lea>()});
  t.push_back({op1(0x86), -1, kAnyPrefix, "xchg", "Eb,Gb", kLockable | kImplicitLock, sized_handlers<XchgEG>()});
  t.push_back({op1(0x87), -1, kAnyPrefix, "xchg", "Ev,Gv", kLockable | kImplicitLock, sized_handlers<XchgEG>()});
  t.push_back({op0f(0xb6), -1, kAnyPrefix, "movzx", "Gv,Eb", 0, sized_handlers<MovzxB>()});
  t.push_back({op0f(0xb7), -1, kAnyPrefix, "movzx", "Gv,Ew", 0, sized_handlers<MovzxW>()});
  t.push_back({op0f(0xbe), -1, kAnyPrefix, "movsx", "Gv,Eb", 0, sized_handlers<MovsxB>()});
  t.push_back({op0f(0xbf), -1, kAnyPrefix, "movsx", "Gv,Ew", 0, sized_handlers<MovsxW>()});
  t.push_back({op1(0x63), -1, kAnyPrefix, "movsxd", "Gv,Ed", kOnly64, sized_handlers<MovsxD>()});
  t.push_back({op1(0x60), -1, kAnyPrefix, "pusha", "", kInvalid64, sized_handlers<Pusha>()});
  t.push_back({op1(0x61), -1, kAnyPrefix, "popa", "", kInvalid64, sized_handlers<Popa>()});
  // In 64-bit mode 62 is the EVEX prefix; vireo has no AVX-512, so #UD.
  t.push_back({op1(0x62), -1, kAnyPrefix, "bound", "Gv,M", kInvalid64, sized_handlers<Bound>()});
  t.push_back({op1(0x68), -1, kAnyPrefix, "push", "Iz", kDefault64, sized_handlers<PushI>()});
  t.push_back({op1(0x6a), -1, kAnyPrefix, "push", "Ib", kDefault64, sized_handlers<PushI>()});
  t.push_back({op1(0xff), 6, kAnyPrefix, "push", "Ev", kDefault64, sized_handlers<PushE>()});
  t.push_back({op1(0x8f), 0, kAnyPrefix, "pop", "Ev", kDefault64, sized_handlers<PopE>()});
  t.push_back({op1(0x98), -1, kAnyPrefix, "cbw", "", 0, sized_handlers<ConvertAcc>()});
  t.push_back({op1(0x99), -1, kAnyPrefix, "cwd", "", 0, sized_handlers<ConvertAccToDx>()});
  // 0F 19-1F are the "hint NOP" space: NOP Ev (0F 1F /0) and encodings
  // that later extensions give meanings which degrade to NOP (ENDBR64 is
  // F3 0F 1E FA). 0F 0D is PREFETCH/PREFETCHW, a hint the kernel issues
  // unconditionally. QEMU treats all of them as NOPs too.
  for (uint8_t op = 0x19; op <= 0x1f; ++op) {
    t.push_back({op0f(op), -1, kAnyPrefix, "nop", "Ev", 0, one_handler(&nop)});
  }
  t.push_back({op0f(0x0d), -1, kAnyPrefix, "prefetchw", "M", 0, one_handler(&nop)});
  t.push_back({op1(0xc9), -1, kAnyPrefix, "leave", "", kDefault64, sized_handlers<Leave>()});
  t.push_back({op1(0xc8), -1, kAnyPrefix, "enter", "Iw,Ib", kDefault64, sized_handlers<Enter>()});
}

}  // namespace vireo::tcg
