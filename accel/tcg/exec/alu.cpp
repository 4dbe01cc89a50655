// The two-operand arithmetic and logic family (ADD OR ADC SBB AND SUB XOR
// CMP), TEST, INC/DEC, NEG and NOT, in every form: Intel SDM vol. 2,
// "ADD" through "XOR", and opcode map table A-2 rows 0x00-0x3f, 0x80-0x85.
#include "accel/tcg/exec/families.h"
#include "accel/tcg/exec/operands.h"

namespace vireo::tcg {

namespace {

// Each operation computes its result and records how flags follow from it.
struct Add {
  template <typename T> static T apply(Cpu& cpu, T a, T b) {
    T r = static_cast<T>(a + b);
    record_flags<T>(cpu, FlagOp::Add, a, b, r);
    return r;
  }
  static constexpr bool kWrites = true;
};
struct Or {
  template <typename T> static T apply(Cpu& cpu, T a, T b) {
    T r = a | b;
    record_flags<T>(cpu, FlagOp::Logic, a, b, r);
    return r;
  }
  static constexpr bool kWrites = true;
};
struct Adc {
  template <typename T> static T apply(Cpu& cpu, T a, T b) {
    uint8_t carry = cpu.cf();
    T r = static_cast<T>(a + b + carry);
    record_flags<T>(cpu, FlagOp::Adc, a, b, r, carry);
    return r;
  }
  static constexpr bool kWrites = true;
};
struct Sbb {
  template <typename T> static T apply(Cpu& cpu, T a, T b) {
    uint8_t carry = cpu.cf();
    T r = static_cast<T>(a - b - carry);
    record_flags<T>(cpu, FlagOp::Sbb, a, b, r, carry);
    return r;
  }
  static constexpr bool kWrites = true;
};
struct And {
  template <typename T> static T apply(Cpu& cpu, T a, T b) {
    T r = a & b;
    record_flags<T>(cpu, FlagOp::Logic, a, b, r);
    return r;
  }
  static constexpr bool kWrites = true;
};
struct Sub {
  template <typename T> static T apply(Cpu& cpu, T a, T b) {
    T r = static_cast<T>(a - b);
    record_flags<T>(cpu, FlagOp::Sub, a, b, r);
    return r;
  }
  static constexpr bool kWrites = true;
};
struct Xor {
  template <typename T> static T apply(Cpu& cpu, T a, T b) {
    T r = a ^ b;
    record_flags<T>(cpu, FlagOp::Logic, a, b, r);
    return r;
  }
  static constexpr bool kWrites = true;
};
struct Cmp : Sub {
  static constexpr bool kWrites = false;
};
struct Test : And {
  static constexpr bool kWrites = false;
};

// Where the second operand of a two-operand form comes from.
struct FromReg {  // Gv / Gb
  template <typename T, bool> static T get(Cpu& cpu, const Insn& i) { return cpu.get<T>(i.reg); }
};
struct FromRm {  // Ev / Eb
  template <typename T, bool Mem> static T get(Cpu& cpu, const Insn& i) { return read_rm<T, Mem>(cpu, i); }
};
struct FromImm {  // Ib / Iz, already sign-extended by the decoder
  template <typename T, bool> static T get(Cpu&, const Insn& i) { return static_cast<T>(i.imm); }
};

// op r/m, src (Ev,Gv / Eb,Gb / group 1 Ev,Iz / Ev,Ib / Eb,Ib): the
// destination is the r/m operand, updated in place (atomically under LOCK).
template <typename Op, typename Source>
struct AluToRm {
  template <typename T, bool Mem>
  struct Form {
    static void run(Cpu& cpu, const Insn& i) {
      T src = Source::template get<T, Mem>(cpu, i);
      if constexpr (Op::kWrites) {
        modify_rm<T, Mem>(cpu, i, [&](T dst) { return Op::template apply<T>(cpu, dst, src); });
      } else {
        Op::template apply<T>(cpu, read_rm<T, Mem>(cpu, i), src);
      }
      next(cpu, i);
    }
  };
};

// op reg, src (Gv,Ev / Gb,Eb with the ModRM register; AL/rAX,imm with the
// accumulator): the destination is a register.
struct ToModrmReg {
  static unsigned reg(const Insn& i) { return i.reg; }
};
struct ToAccumulator {
  static unsigned reg(const Insn&) { return kRax; }
};
template <typename Op, typename Dest, typename Source>
struct AluToReg {
  template <typename T, bool Mem>
  struct Form {
    static void run(Cpu& cpu, const Insn& i) {
      unsigned dst = Dest::reg(i);
      T r = Op::template apply<T>(cpu, cpu.get<T>(dst), Source::template get<T, Mem>(cpu, i));
      if constexpr (Op::kWrites) cpu.set<T>(dst, r);
      next(cpu, i);
    }
  };
};
template <typename Op> using AluEG = AluToRm<Op, FromReg>;
template <typename Op> using AluEI = AluToRm<Op, FromImm>;
template <typename Op> using AluGE = AluToReg<Op, ToModrmReg, FromRm>;
template <typename Op> using AluAccI = AluToReg<Op, ToAccumulator, FromImm>;

// INC/DEC keep CF, which the lazy record carries in carry_in.
template <int Delta>
struct Step {
  static constexpr FlagOp kOp = Delta > 0 ? FlagOp::Inc : FlagOp::Dec;
  template <typename T>
  static T apply(Cpu& cpu, T v, uint8_t carry) {
    T r = static_cast<T>(v + static_cast<T>(Delta));
    record_flags<T>(cpu, kOp, v, 1, r, carry);
    return r;
  }
  template <typename T, bool Mem>
  struct Form {  // FE/FF /0 /1: r/m
    static void run(Cpu& cpu, const Insn& i) {
      uint8_t carry = cpu.cf();
      modify_rm<T, Mem>(cpu, i, [&](T v) { return apply<T>(cpu, v, carry); });
      next(cpu, i);
    }
  };
  template <typename T, bool>
  struct RegForm {  // 40-4F outside 64-bit mode: the register in the opcode
    static void run(Cpu& cpu, const Insn& i) {
      cpu.set<T>(i.reg, apply<T>(cpu, cpu.get<T>(i.reg), cpu.cf()));
      next(cpu, i);
    }
  };
};
template <typename T, bool Mem> using IncForm = Step<1>::Form<T, Mem>;
template <typename T, bool Mem> using DecForm = Step<-1>::Form<T, Mem>;
template <typename T, bool Mem> using IncRegForm = Step<1>::RegForm<T, Mem>;
template <typename T, bool Mem> using DecRegForm = Step<-1>::RegForm<T, Mem>;
template <typename T, bool Mem>
struct NotForm {
  static void run(Cpu& cpu, const Insn& i) {
    modify_rm<T, Mem>(cpu, i, [](T v) { return static_cast<T>(~v); });  // flags unaffected
    next(cpu, i);
  }
};
template <typename T, bool Mem>
struct NegForm {
  static void run(Cpu& cpu, const Insn& i) {
    modify_rm<T, Mem>(cpu, i, [&](T v) {
      T r = static_cast<T>(T{0} - v);
      record_flags<T>(cpu, FlagOp::Sub, T{0}, v, r);  // CF = (v != 0)
      return r;
    });
    next(cpu, i);
  }
};

// The eight classic operations share one encoding pattern: opcode 8*n+0..5
// and group-1 extension n.
template <typename Op>
void add_operation(std::vector<OpcodeRow>& t, uint8_t n, const char* name) {
  uint8_t base = static_cast<uint8_t>(n * 8);
  uint32_t lock = Op::kWrites ? kLockable : 0;
  t.push_back({op1(base + 0), -1, kAnyPrefix, name, "Eb,Gb", lock, sized_handlers<AluEG<Op>::template Form>()});
  t.push_back({op1(base + 1), -1, kAnyPrefix, name, "Ev,Gv", lock, sized_handlers<AluEG<Op>::template Form>()});
  t.push_back({op1(base + 2), -1, kAnyPrefix, name, "Gb,Eb", 0, sized_handlers<AluGE<Op>::template Form>()});
  t.push_back({op1(base + 3), -1, kAnyPrefix, name, "Gv,Ev", 0, sized_handlers<AluGE<Op>::template Form>()});
  t.push_back({op1(base + 4), -1, kAnyPrefix, name, "AL,Ib", 0, sized_handlers<AluAccI<Op>::template Form>()});
  t.push_back({op1(base + 5), -1, kAnyPrefix, name, "rAX,Iz", 0, sized_handlers<AluAccI<Op>::template Form>()});
  t.push_back({op1(0x80), static_cast<int8_t>(n), kAnyPrefix, name, "Eb,Ib", lock, sized_handlers<AluEI<Op>::template Form>()});
  t.push_back({op1(0x81), static_cast<int8_t>(n), kAnyPrefix, name, "Ev,Iz", lock, sized_handlers<AluEI<Op>::template Form>()});
  // 0x82 is an alias of 0x80 outside 64-bit mode.
  t.push_back({op1(0x82), static_cast<int8_t>(n), kAnyPrefix, name, "Eb,Ib", lock | kInvalid64, sized_handlers<AluEI<Op>::template Form>()});
  t.push_back({op1(0x83), static_cast<int8_t>(n), kAnyPrefix, name, "Ev,Ib", lock, sized_handlers<AluEI<Op>::template Form>()});
}

}  // namespace

void add_alu_rows(std::vector<OpcodeRow>& t) {
  add_operation<Add>(t, 0, "add");
  add_operation<Or>(t, 1, "or");
  add_operation<Adc>(t, 2, "adc");
  add_operation<Sbb>(t, 3, "sbb");
  add_operation<And>(t, 4, "and");
  add_operation<Sub>(t, 5, "sub");
  add_operation<Xor>(t, 6, "xor");
  add_operation<Cmp>(t, 7, "cmp");

  t.push_back({op1(0x84), -1, kAnyPrefix, "test", "Eb,Gb", 0, sized_handlers<AluEG<Test>::template Form>()});
  t.push_back({op1(0x85), -1, kAnyPrefix, "test", "Ev,Gv", 0, sized_handlers<AluEG<Test>::template Form>()});
  t.push_back({op1(0xa8), -1, kAnyPrefix, "test", "AL,Ib", 0, sized_handlers<AluAccI<Test>::template Form>()});
  t.push_back({op1(0xa9), -1, kAnyPrefix, "test", "rAX,Iz", 0, sized_handlers<AluAccI<Test>::template Form>()});
  t.push_back({op1(0xf6), 0, kAnyPrefix, "test", "Eb,Ib", 0, sized_handlers<AluEI<Test>::template Form>()});
  t.push_back({op1(0xf6), 1, kAnyPrefix, "test", "Eb,Ib", 0, sized_handlers<AluEI<Test>::template Form>()});  // undocumented alias
  t.push_back({op1(0xf7), 0, kAnyPrefix, "test", "Ev,Iz", 0, sized_handlers<AluEI<Test>::template Form>()});
  t.push_back({op1(0xf7), 1, kAnyPrefix, "test", "Ev,Iz", 0, sized_handlers<AluEI<Test>::template Form>()});
  t.push_back({op1(0xf6), 2, kAnyPrefix, "not", "Eb", kLockable, sized_handlers<NotForm>()});
  t.push_back({op1(0xf7), 2, kAnyPrefix, "not", "Ev", kLockable, sized_handlers<NotForm>()});
  t.push_back({op1(0xf6), 3, kAnyPrefix, "neg", "Eb", kLockable, sized_handlers<NegForm>()});
  t.push_back({op1(0xf7), 3, kAnyPrefix, "neg", "Ev", kLockable, sized_handlers<NegForm>()});

  t.push_back({op1(0xfe), 0, kAnyPrefix, "inc", "Eb", kLockable, sized_handlers<IncForm>()});
  t.push_back({op1(0xfe), 1, kAnyPrefix, "dec", "Eb", kLockable, sized_handlers<DecForm>()});
  t.push_back({op1(0xff), 0, kAnyPrefix, "inc", "Ev", kLockable, sized_handlers<IncForm>()});
  t.push_back({op1(0xff), 1, kAnyPrefix, "dec", "Ev", kLockable, sized_handlers<DecForm>()});
  for (uint8_t r = 0; r < 8; ++r) {
    // In 64-bit mode these bytes are REX prefixes, consumed before lookup.
    t.push_back({op1(0x40 + r), -1, kAnyPrefix, "inc", "Zv", kInvalid64, sized_handlers<IncRegForm>()});
    t.push_back({op1(0x48 + r), -1, kAnyPrefix, "dec", "Zv", kInvalid64, sized_handlers<DecRegForm>()});
  }
}

}  // namespace vireo::tcg
