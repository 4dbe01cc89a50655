// Single-bit and bit-scan instructions: BT/BTS/BTR/BTC (0F A3/AB/B3/BB and
// group 8, 0F BA /4-/7), BSF/BSR (0F BC/BD), POPCNT, TZCNT, LZCNT (F3 0F
// B8/BC/BD), BSWAP (0F C8+r) and MOVBE (0F 38 F0/F1). Intel SDM vol. 2.
#include <bit>

#include "accel/tcg/exec/families.h"
#include "accel/tcg/exec/int_flags.h"
#include "accel/tcg/exec/operands.h"

namespace vireo::tcg {

namespace {

template <typename T>
constexpr unsigned kBits = sizeof(T) * 8;

// The flags of BT/BTS/BTR/BTC: CF is the selected bit; ZF is unaffected;
// OF, SF, AF and PF are undefined (SDM), and the host leaves them alone too.
void set_bit_test_flags(Cpu& cpu, bool bit) { cpu.set_arithmetic_flags(kCf, bit ? kCf : 0); }

struct Test {
  template <typename T> static T apply(T v, T) { return v; }
  static constexpr bool kWrites = false;
};
struct Set {
  template <typename T> static T apply(T v, T mask) { return v | mask; }
  static constexpr bool kWrites = true;
};
struct Reset {
  template <typename T> static T apply(T v, T mask) { return static_cast<T>(v & ~mask); }
  static constexpr bool kWrites = true;
};
struct Complement {
  template <typename T> static T apply(T v, T mask) { return v ^ mask; }
  static constexpr bool kWrites = true;
};

// BTx r/m, imm8: the offset is taken modulo the operand width, register
// or memory alike.
template <typename Op>
struct BitImm {
  template <typename T, bool Mem>
  struct Form {
    static void run(Cpu& cpu, const Insn& i) {
      const T mask = static_cast<T>(T{1} << (i.imm & (kBits<T> - 1)));
      T old;
      if constexpr (Op::kWrites) {
        old = modify_rm<T, Mem>(cpu, i, [&](T v) { return Op::apply(v, mask); });
      } else {
        old = read_rm<T, Mem>(cpu, i);
      }
      set_bit_test_flags(cpu, old & mask);
      next(cpu, i);
    }
  };
};

// BTx r/m, reg. With a register operand the offset is taken modulo the
// width. With memory it is a signed number of bits from the operand's
// address, reaching outside it (SDM "Bit(BitBase, BitOffset)"): the
// operand-sized word at EA + (offset >> log2(width)) * width/8.
template <typename Op>
struct BitReg {
  template <typename T, bool Mem>
  struct Form {
    static void run(Cpu& cpu, const Insn& i) {
      const T offset = cpu.get<T>(i.reg);
      const T mask = static_cast<T>(T{1} << (offset & (kBits<T> - 1)));
      T old;
      if constexpr (!Mem) {
        old = cpu.get<T>(i.rm);
        if constexpr (Op::kWrites) cpu.set<T>(i.rm, Op::apply(old, mask));
      } else {
        const int64_t words = static_cast<Signed<T>>(offset) >> std::countr_zero(kBits<T>);
        const uint64_t address =
            wrap_address(effective_address(cpu, i) + static_cast<uint64_t>(words) * sizeof(T), i.addr_bits);
        if constexpr (Op::kWrites) {
          old = modify_memory<T>(cpu, i.seg, address, i.prefix & kPrefixLock,
                                 [&](T v) { return Op::apply(v, mask); });
        } else {
          old = cpu.read<T>(i.seg, address);
        }
      }
      set_bit_test_flags(cpu, old & mask);
      next(cpu, i);
    }
  };
};

// BSF/BSR: ZF says the source was 0, and then the destination keeps its
// value (AMD documents that; Intel calls it undefined). CF, OF, SF, AF and
// PF are undefined (SDM); the host clears them except PF, the parity of
// the bit index found (of 0 for a zero source).
template <bool Reverse>
struct BitScan {
  template <typename T, bool Mem>
  struct Form {
    static void run(Cpu& cpu, const Insn& i) {
      T src = read_rm<T, Mem>(cpu, i);
      T index = 0;
      if (src != 0) {
        index = static_cast<T>(Reverse ? kBits<T> - 1 - std::countl_zero(src) : std::countr_zero(src));
        cpu.set<T>(i.reg, index);
      }
      set_all_arithmetic_flags(cpu, (src == 0 ? kZf : 0) | (result_flags(index) & kPf));
      next(cpu, i);
    }
  };
};

// TZCNT/LZCNT: the count of trailing/leading zeros, the width for 0.
// CF = (source == 0), ZF = (result == 0); OF, SF, AF and PF are undefined
// (SDM): the host keeps OF and clears the other three.
template <bool Leading>
struct CountZeros {
  template <typename T, bool Mem>
  struct Form {
    static void run(Cpu& cpu, const Insn& i) {
      T src = read_rm<T, Mem>(cpu, i);
      T count = static_cast<T>(Leading ? std::countl_zero(src) : std::countr_zero(src));
      cpu.set<T>(i.reg, count);
      cpu.set_arithmetic_flags(kCf | kZf | kSf | kAf | kPf, (src == 0 ? kCf : 0) | (count == 0 ? kZf : 0));
      next(cpu, i);
    }
  };
};

// POPCNT: ZF = (source == 0), OF SF AF CF PF cleared.
template <typename T, bool Mem>
struct Popcnt {
  static void run(Cpu& cpu, const Insn& i) {
    T src = read_rm<T, Mem>(cpu, i);
    cpu.set<T>(i.reg, static_cast<T>(std::popcount(src)));
    set_all_arithmetic_flags(cpu, src == 0 ? kZf : 0);
    next(cpu, i);
  }
};

template <typename T>
T byte_swap(T v) {
  if constexpr (sizeof(T) == 2) return __builtin_bswap16(v);
  else if constexpr (sizeof(T) == 4) return __builtin_bswap32(v);
  else return __builtin_bswap64(v);
}

template <typename T, bool>
struct Bswap {  // 0F C8+r
  static void run(Cpu& cpu, const Insn& i) {
    if constexpr (sizeof(T) == 2) {
      // Undefined in the SDM; the host clears the low word.
      cpu.set<uint16_t>(i.reg, 0);
    } else {
      cpu.set<T>(i.reg, byte_swap(cpu.get<T>(i.reg)));
    }
    next(cpu, i);
  }
};

template <typename T, bool Mem>
struct MovbeLoad {  // 0F 38 F0: reg = swapped m
  static void run(Cpu& cpu, const Insn& i) {
    // F2 selects CRC32 (its own rows); F3 is reserved: #UD (SDM vol. 2B
    // "MOVBE", exceptions).
    if (i.prefix & kPrefixRep) raise_ud();
    cpu.set<T>(i.reg, byte_swap(read_rm<T, Mem>(cpu, i)));
    next(cpu, i);
  }
};
template <typename T, bool Mem>
struct MovbeStore {  // 0F 38 F1: m = swapped reg
  static void run(Cpu& cpu, const Insn& i) {
    if (i.prefix & kPrefixRep) raise_ud();  // as MovbeLoad
    write_rm<T, Mem>(cpu, i, byte_swap(cpu.get<T>(i.reg)));
    next(cpu, i);
  }
};

// The word forms exist only from 16 bits up: no byte handlers.
template <template <typename, bool> class F>
constexpr HandlerSet word_handlers() {
  HandlerSet h = sized_handlers<F>();
  h.reg[kSize8] = h.mem[kSize8] = nullptr;
  return h;
}

template <typename Op>
void add_bit_test(std::vector<OpcodeRow>& t, uint8_t opcode, int8_t group8, const char* name) {
  const uint32_t lock = Op::kWrites ? kLockable : 0;
  t.push_back({op0f(opcode), -1, kAnyPrefix, name, "Ev,Gv", lock, word_handlers<BitReg<Op>::template Form>()});
  t.push_back({op0f(0xba), group8, kAnyPrefix, name, "Ev,Ib", lock, word_handlers<BitImm<Op>::template Form>()});
}

}  // namespace

void add_bitops_rows(std::vector<OpcodeRow>& t) {
  add_bit_test<Test>(t, 0xa3, 4, "bt");
  add_bit_test<Set>(t, 0xab, 5, "bts");
  add_bit_test<Reset>(t, 0xb3, 6, "btr");
  add_bit_test<Complement>(t, 0xbb, 7, "btc");
  t.push_back({op0f(0xbc), -1, kAnyPrefix, "bsf", "Gv,Ev", 0, word_handlers<BitScan<false>::template Form>()});
  t.push_back({op0f(0xbd), -1, kAnyPrefix, "bsr", "Gv,Ev", 0, word_handlers<BitScan<true>::template Form>()});
  // F3 selects the newer instruction (mandatory-prefix rows come first).
  // TZCNT is part of BMI1, which CPUID does not advertise (its VEX-encoded
  // instructions are not implemented). A CPU without BMI1 runs F3 0F BC as
  // BSF; for a non-zero source both give the same index, which is all that
  // code compiled for such CPUs (GCC's "rep bsf") relies on.
  t.push_back({op0f(0xb8), -1, kPrefixF3, "popcnt", "Gv,Ev", 0, word_handlers<Popcnt>()});
  t.push_back({op0f(0xbc), -1, kPrefixF3, "tzcnt", "Gv,Ev", 0, word_handlers<CountZeros<false>::template Form>()});
  t.push_back({op0f(0xbd), -1, kPrefixF3, "lzcnt", "Gv,Ev", 0, word_handlers<CountZeros<true>::template Form>()});
  for (uint8_t r = 0; r < 8; ++r) {
    t.push_back({op0f(0xc8 + r), -1, kAnyPrefix, "bswap", "Zv", 0, word_handlers<Bswap>()});
  }
  // MOVBE takes no F2 (that is CRC32, whose rows come first) and no F3.
  t.push_back({op0f38(0xf0), -1, kAnyPrefix, "movbe", "Gv,Mv", 0, word_handlers<MovbeLoad>()});
  t.push_back({op0f38(0xf1), -1, kAnyPrefix, "movbe", "Mv,Gv", 0, word_handlers<MovbeStore>()});
}

}  // namespace vireo::tcg
