// Multiplication and division: MUL, IMUL (one, two and three operands),
// DIV and IDIV (F6/F7 /4-/7, 0F AF, 69, 6B). Intel SDM vol. 2 "MUL",
// "IMUL", "DIV", "IDIV".
//
// The one-operand forms work on the accumulator pair: AX for bytes (AL
// times r/m8 into AX; AX divided into AL quotient, AH remainder), rDX:rAX
// otherwise. Division raises #DE, changing nothing, for a zero divisor or
// a quotient that does not fit.
#include "accel/tcg/exec/families.h"
#include "accel/tcg/exec/operands.h"

namespace vireo::tcg {

namespace {

// Twice T's width, unsigned and signed.
template <typename T> struct WideOf;
template <> struct WideOf<uint8_t> { using type = uint16_t; using signed_type = int16_t; };
template <> struct WideOf<uint16_t> { using type = uint32_t; using signed_type = int32_t; };
template <> struct WideOf<uint32_t> { using type = uint64_t; using signed_type = int64_t; };
template <> struct WideOf<uint64_t> { using type = unsigned __int128; using signed_type = __int128; };
template <typename T> using Wide = typename WideOf<T>::type;
template <typename T> using SignedWide = typename WideOf<T>::signed_type;

template <typename T>
constexpr unsigned kBits = sizeof(T) * 8;

// The double-width accumulator: AX, or rDX:rAX.
template <typename T>
Wide<T> accumulator_pair(const Cpu& cpu) {
  if constexpr (sizeof(T) == 1) return cpu.get<uint16_t>(kRax);
  else return static_cast<Wide<T>>(cpu.get<T>(kRax)) | (static_cast<Wide<T>>(cpu.get<T>(kRdx)) << kBits<T>);
}
template <typename T>
void set_accumulator_pair(Cpu& cpu, T low, T high) {
  if constexpr (sizeof(T) == 1) {
    cpu.set<uint16_t>(kRax, static_cast<uint16_t>(low | (high << 8)));
  } else {
    cpu.set<T>(kRax, low);
    cpu.set<T>(kRdx, high);
  }
}

// Flags of a multiplication: CF = OF = the product did not fit in T.
// SF, ZF, AF and PF are undefined (SDM); the host leaves them unchanged.
void set_multiply_flags(Cpu& cpu, bool overflow) {
  cpu.set_arithmetic_flags(kCf | kOf, overflow ? kCf | kOf : 0);
}

// All six flags are undefined after a division (SDM). The host keeps CF
// and OF, clears SF, ZF and PF and sets AF, whatever the operands.
void set_divide_flags(Cpu& cpu) { cpu.set_arithmetic_flags(kSf | kZf | kAf | kPf, kAf); }

template <typename T, bool Mem>
struct Mul {  // F6/F7 /4
  static void run(Cpu& cpu, const Insn& i) {
    Wide<T> product = static_cast<Wide<T>>(cpu.get<T>(kRax)) * read_rm<T, Mem>(cpu, i);
    T low = static_cast<T>(product), high = static_cast<T>(product >> kBits<T>);
    set_accumulator_pair<T>(cpu, low, high);
    set_multiply_flags(cpu, high != 0);
    next(cpu, i);
  }
};

// The signed product of a and b in double width; `overflow` when it does
// not fit in T (it differs from its low half sign-extended).
template <typename T>
SignedWide<T> signed_product(T a, T b, bool& overflow) {
  using S = Signed<T>;
  SignedWide<T> product = static_cast<SignedWide<T>>(static_cast<S>(a)) * static_cast<S>(b);
  overflow = product != static_cast<SignedWide<T>>(static_cast<S>(static_cast<T>(product)));
  return product;
}

template <typename T, bool Mem>
struct ImulAcc {  // F6/F7 /5
  static void run(Cpu& cpu, const Insn& i) {
    bool overflow;
    auto product = static_cast<Wide<T>>(signed_product<T>(cpu.get<T>(kRax), read_rm<T, Mem>(cpu, i), overflow));
    T low = static_cast<T>(product), high = static_cast<T>(product >> kBits<T>);
    set_accumulator_pair<T>(cpu, low, high);
    set_multiply_flags(cpu, overflow);
    next(cpu, i);
  }
};

template <typename T, bool Mem>
struct ImulGE {  // 0F AF: reg = reg * r/m
  static void run(Cpu& cpu, const Insn& i) {
    bool overflow;
    T low = static_cast<T>(signed_product<T>(cpu.get<T>(i.reg), read_rm<T, Mem>(cpu, i), overflow));
    cpu.set<T>(i.reg, low);
    set_multiply_flags(cpu, overflow);
    next(cpu, i);
  }
};

template <typename T, bool Mem>
struct ImulGEI {  // 69, 6B: reg = r/m * imm (the decoder sign-extended imm8)
  static void run(Cpu& cpu, const Insn& i) {
    bool overflow;
    T low = static_cast<T>(signed_product<T>(read_rm<T, Mem>(cpu, i), static_cast<T>(i.imm), overflow));
    cpu.set<T>(i.reg, low);
    set_multiply_flags(cpu, overflow);
    next(cpu, i);
  }
};

template <typename T, bool Mem>
struct Div {  // F6/F7 /6
  static void run(Cpu& cpu, const Insn& i) {
    T divisor = read_rm<T, Mem>(cpu, i);
    if (divisor == 0) raise_fault(kDivideError);
    Wide<T> dividend = accumulator_pair<T>(cpu);
    Wide<T> quotient = dividend / divisor;
    if (quotient > static_cast<T>(~T{0})) raise_fault(kDivideError);
    set_accumulator_pair<T>(cpu, static_cast<T>(quotient), static_cast<T>(dividend % divisor));
    set_divide_flags(cpu);
    next(cpu, i);
  }
};

template <typename T, bool Mem>
struct Idiv {  // F6/F7 /7
  static void run(Cpu& cpu, const Insn& i) {
    using S = Signed<T>;
    S divisor = static_cast<S>(read_rm<T, Mem>(cpu, i));
    if (divisor == 0) raise_fault(kDivideError);
    auto dividend = static_cast<SignedWide<T>>(accumulator_pair<T>(cpu));
    // The most negative dividend over -1 overflows the host's division too.
    if (divisor == -1 && dividend == static_cast<SignedWide<T>>(static_cast<Wide<T>>(1) << (2 * kBits<T> - 1))) {
      raise_fault(kDivideError);
    }
    SignedWide<T> quotient = dividend / divisor;  // truncates toward zero, as IDIV does
    if (quotient != static_cast<S>(quotient)) raise_fault(kDivideError);
    set_accumulator_pair<T>(cpu, static_cast<T>(quotient), static_cast<T>(dividend % divisor));
    set_divide_flags(cpu);
    next(cpu, i);
  }
};

}  // namespace

void add_muldiv_rows(std::vector<OpcodeRow>& t) {
  t.push_back({op1(0xf6), 4, kAnyPrefix, "mul", "Eb", 0, sized_handlers<Mul>()});
  t.push_back({op1(0xf7), 4, kAnyPrefix, "mul", "Ev", 0, sized_handlers<Mul>()});
  t.push_back({op1(0xf6), 5, kAnyPrefix, "imul", "Eb", 0, sized_handlers<ImulAcc>()});
  t.push_back({op1(0xf7), 5, kAnyPrefix, "imul", "Ev", 0, sized_handlers<ImulAcc>()});
  t.push_back({op1(0xf6), 6, kAnyPrefix, "div", "Eb", 0, sized_handlers<Div>()});
  t.push_back({op1(0xf7), 6, kAnyPrefix, "div", "Ev", 0, sized_handlers<Div>()});
  t.push_back({op1(0xf6), 7, kAnyPrefix, "idiv", "Eb", 0, sized_handlers<Idiv>()});
  t.push_back({op1(0xf7), 7, kAnyPrefix, "idiv", "Ev", 0, sized_handlers<Idiv>()});
  t.push_back({op0f(0xaf), -1, kAnyPrefix, "imul", "Gv,Ev", 0, sized_handlers<ImulGE>()});
  t.push_back({op1(0x69), -1, kAnyPrefix, "imul", "Gv,Ev,Iz", 0, sized_handlers<ImulGEI>()});
  t.push_back({op1(0x6b), -1, kAnyPrefix, "imul", "Gv,Ev,Ib", 0, sized_handlers<ImulGEI>()});
}

}  // namespace vireo::tcg
