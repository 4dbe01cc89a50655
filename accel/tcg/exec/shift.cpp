// Shifts and rotates: ROL ROR RCL RCR SHL/SAL SHR SAR by 1, CL or an
// immediate (C0 C1 D0-D3, group 2), and the double shifts SHLD/SHRD
// (0F A4/A5/AC/AD). Intel SDM vol. 2 "RCL/RCR/ROL/ROR", "SAL/SAR/SHL/SHR",
// "SHLD", "SHRD".
//
// The count is masked to 5 bits (6 with 64-bit operands); a masked count
// of 0 changes no flags (see no_shift for the rest). Where the SDM leaves a flag or
// result undefined, these follow what the host CPU the differential tests
// run on does (an AMD Zen 4; see each operation). Flags are computed here
// rather than lazily: every shift defines them differently.
#include "accel/tcg/exec/families.h"
#include "accel/tcg/exec/int_flags.h"
#include "accel/tcg/exec/operands.h"

namespace vireo::tcg {

namespace {

template <typename T>
constexpr unsigned kBits = sizeof(T) * 8;

// Each operation: the result of shifting `v` by a masked count 1..31 (or
// 1..63 for 64-bit operands), setting the flags it defines. The rotates'
// OF is defined for a count of 1 only; the host applies the same formula
// to every count, and so do these.
struct Rol {
  template <typename T>
  static T apply(Cpu& cpu, T v, unsigned count) {
    unsigned n = count % kBits<T>;
    T r = n == 0 ? v : static_cast<T>((v << n) | (v >> (kBits<T> - n)));
    bool cf = r & 1;
    bool of = sign_of(r) != cf;
    cpu.set_arithmetic_flags(kCf | kOf, (cf ? kCf : 0) | (of ? kOf : 0));
    return r;
  }
};
struct Ror {
  template <typename T>
  static T apply(Cpu& cpu, T v, unsigned count) {
    unsigned n = count % kBits<T>;
    T r = n == 0 ? v : static_cast<T>((v >> n) | (v << (kBits<T> - n)));
    bool cf = sign_of(r);
    bool of = cf != static_cast<bool>((r >> (kBits<T> - 2)) & 1);
    cpu.set_arithmetic_flags(kCf | kOf, (cf ? kCf : 0) | (of ? kOf : 0));
    return r;
  }
};

// RCL/RCR rotate the N+1 bits CF:value; the count is taken modulo N+1
// (only matters for 8- and 16-bit operands).
template <typename T>
unsigned __int128 with_carry(Cpu& cpu, T v) {
  return static_cast<unsigned __int128>(v) | (static_cast<unsigned __int128>(cpu.cf()) << kBits<T>);
}
template <typename T>
T rotate_with_carry_left(Cpu& cpu, T v, unsigned n, bool& cf) {
  constexpr unsigned width = kBits<T> + 1;
  const unsigned __int128 mask = (static_cast<unsigned __int128>(1) << width) - 1;
  unsigned __int128 x = with_carry(cpu, v);
  if (n != 0) x = ((x << n) | (x >> (width - n))) & mask;
  cf = (x >> kBits<T>) & 1;
  return static_cast<T>(x);
}
struct Rcl {
  template <typename T>
  static T apply(Cpu& cpu, T v, unsigned count) {
    bool cf;
    T r = rotate_with_carry_left(cpu, v, count % (kBits<T> + 1), cf);
    bool of = sign_of(r) != cf;
    cpu.set_arithmetic_flags(kCf | kOf, (cf ? kCf : 0) | (of ? kOf : 0));
    return r;
  }
};
struct Rcr {
  template <typename T>
  static T apply(Cpu& cpu, T v, unsigned count) {
    unsigned n = count % (kBits<T> + 1);
    bool cf;
    T r = rotate_with_carry_left(cpu, v, n == 0 ? 0 : kBits<T> + 1 - n, cf);
    // The SDM defines OF for a count of 1 as MSB(DEST) XOR CF before the
    // rotation; that is the XOR of the result's two top bits, which is
    // what the host sets for every count.
    bool of = sign_of(r) != static_cast<bool>((r >> (kBits<T> - 2)) & 1);
    cpu.set_arithmetic_flags(kCf | kOf, (cf ? kCf : 0) | (of ? kOf : 0));
    return r;
  }
};

// SHL, SHR and SAR leave AF undefined (SDM); the host sets it whenever the
// count is not 0.
constexpr uint64_t kShiftAf = kAf;

struct Shl {
  template <typename T>
  static T apply(Cpu& cpu, T v, unsigned count) {
    T r = count < kBits<T> ? static_cast<T>(v << count) : T{0};
    bool cf = count <= kBits<T> ? (v >> (kBits<T> - count)) & 1 : false;
    bool of = sign_of(r) != cf;
    set_all_arithmetic_flags(cpu, result_flags(r) | kShiftAf | (cf ? kCf : 0) | (of ? kOf : 0));
    return r;
  }
};
struct Shr {
  template <typename T>
  static T apply(Cpu& cpu, T v, unsigned count) {
    T r = count < kBits<T> ? static_cast<T>(v >> count) : T{0};
    bool cf = count <= kBits<T> ? (v >> (count - 1)) & 1 : false;
    // OF is the original sign for a count of 1 (SDM); 0 for longer
    // counts on the host.
    bool of = count == 1 && sign_of(v);
    set_all_arithmetic_flags(cpu, result_flags(r) | kShiftAf | (cf ? kCf : 0) | (of ? kOf : 0));
    return r;
  }
};
struct Sar {
  template <typename T>
  static T apply(Cpu& cpu, T v, unsigned count) {
    using S = Signed<T>;
    unsigned n = count < kBits<T> ? count : kBits<T> - 1;
    T r = static_cast<T>(static_cast<S>(v) >> n);
    bool cf = count <= kBits<T> ? (static_cast<S>(v) >> (count - 1)) & 1 : sign_of(v);
    set_all_arithmetic_flags(cpu, result_flags(r) | kShiftAf | (cf ? kCf : 0));
    return r;
  }
};

enum class Count { One, Cl, Imm };

template <Count C>
unsigned raw_count(const Cpu& cpu, const Insn& i) {
  if constexpr (C == Count::One) return 1;
  else if constexpr (C == Count::Cl) return static_cast<uint8_t>(cpu.gpr[kRcx]);
  else return static_cast<uint8_t>(i.imm);
}

template <typename T>
unsigned masked(unsigned count) {
  return count & (sizeof(T) == 8 ? 0x3f : 0x1f);
}

// A masked count of 0 leaves flags and value alone, but the operand is
// still read (and may fault), and a 32-bit register is still written,
// which clears its upper half as any 32-bit write does (the host does so).
template <typename T, bool Mem>
void no_shift(Cpu& cpu, const Insn& i) {
  T v = read_rm<T, Mem>(cpu, i);
  if constexpr (!Mem) cpu.set<T>(i.rm, v);
}

template <typename Op, Count C>
struct Shift {
  template <typename T, bool Mem>
  struct Form {
    static void run(Cpu& cpu, const Insn& i) {
      unsigned count = masked<T>(raw_count<C>(cpu, i));
      if (count == 0) {
        no_shift<T, Mem>(cpu, i);
      } else {
        modify_rm<T, Mem>(cpu, i, [&](T v) { return Op::template apply<T>(cpu, v, count); });
      }
      next(cpu, i);
    }
  };
};

// SHLD: the destination shifted left, filled from the top of the source.
// SHRD: shifted right, filled from the bottom of the source. Both set AF
// (undefined in the SDM) like the single shifts do on the host, and OF
// (defined for a count of 1) by the formula the host uses for any count.
//
// A 16-bit operand with a count of 17..31 has an undefined result (SDM).
// The host shifts through the source twice over: dest:src:src for SHLD,
// src:src:dest for SHRD. (Intel CPUs are documented by others to repeat
// the destination instead; this follows the host the tests compare with.)
struct Shld {
  template <typename T>
  static T apply(Cpu& cpu, T dest, T src, unsigned count) {
    T r;
    bool cf;
    bool top;  // the top bit of the destination alone shifted, for OF
    if constexpr (sizeof(T) == 2) {
      uint64_t x = uint64_t{dest} << 32 | uint64_t{src} << 16 | src;
      r = static_cast<T>((x << count) >> 32);
      // The host takes CF and OF from the destination alone, as if zeros
      // followed it: both are 0 past a count of 16.
      cf = count <= 16 && ((dest >> (16 - count)) & 1);
      top = count < 16 && ((dest >> (15 - count)) & 1);
    } else {
      r = static_cast<T>((dest << count) | (src >> (kBits<T> - count)));
      cf = (dest >> (kBits<T> - count)) & 1;
      top = sign_of(r);
    }
    bool of = top != cf;
    set_all_arithmetic_flags(cpu, result_flags(r) | kShiftAf | (cf ? kCf : 0) | (of ? kOf : 0));
    return r;
  }
};
struct Shrd {
  template <typename T>
  static T apply(Cpu& cpu, T dest, T src, unsigned count) {
    T r;
    bool cf;
    if constexpr (sizeof(T) == 2) {
      uint64_t x = uint64_t{src} << 32 | uint64_t{src} << 16 | dest;
      r = static_cast<T>(x >> count);
      cf = count <= 16 && ((dest >> (count - 1)) & 1);  // as for SHLD: 0 past 16
    } else {
      r = static_cast<T>((dest >> count) | (src << (kBits<T> - count)));
      cf = (dest >> (count - 1)) & 1;
    }
    bool of = sign_of(r) != static_cast<bool>((r >> (kBits<T> - 2)) & 1);
    set_all_arithmetic_flags(cpu, result_flags(r) | kShiftAf | (cf ? kCf : 0) | (of ? kOf : 0));
    return r;
  }
};

template <typename Op, Count C>
struct DoubleShift {
  template <typename T, bool Mem>
  struct Form {
    static void run(Cpu& cpu, const Insn& i) {
      unsigned count = masked<T>(raw_count<C>(cpu, i));
      if (count == 0) {
        no_shift<T, Mem>(cpu, i);
      } else {
        T src = cpu.get<T>(i.reg);
        modify_rm<T, Mem>(cpu, i, [&](T v) { return Op::template apply<T>(cpu, v, src, count); });
      }
      next(cpu, i);
    }
  };
};

template <typename Op>
void add_group2(std::vector<OpcodeRow>& t, int8_t ext, const char* name) {
  t.push_back({op1(0xc0), ext, kAnyPrefix, name, "Eb,Ib", 0, sized_handlers<Shift<Op, Count::Imm>::template Form>()});
  t.push_back({op1(0xc1), ext, kAnyPrefix, name, "Ev,Ib", 0, sized_handlers<Shift<Op, Count::Imm>::template Form>()});
  t.push_back({op1(0xd0), ext, kAnyPrefix, name, "Eb,1", 0, sized_handlers<Shift<Op, Count::One>::template Form>()});
  t.push_back({op1(0xd1), ext, kAnyPrefix, name, "Ev,1", 0, sized_handlers<Shift<Op, Count::One>::template Form>()});
  t.push_back({op1(0xd2), ext, kAnyPrefix, name, "Eb,CL", 0, sized_handlers<Shift<Op, Count::Cl>::template Form>()});
  t.push_back({op1(0xd3), ext, kAnyPrefix, name, "Ev,CL", 0, sized_handlers<Shift<Op, Count::Cl>::template Form>()});
}

}  // namespace

void add_shift_rows(std::vector<OpcodeRow>& t) {
  add_group2<Rol>(t, 0, "rol");
  add_group2<Ror>(t, 1, "ror");
  add_group2<Rcl>(t, 2, "rcl");
  add_group2<Rcr>(t, 3, "rcr");
  add_group2<Shl>(t, 4, "shl");
  add_group2<Shr>(t, 5, "shr");
  add_group2<Shl>(t, 6, "sal");  // /6: undocumented alias of SHL, on Intel and AMD alike
  add_group2<Sar>(t, 7, "sar");
  t.push_back({op0f(0xa4), -1, kAnyPrefix, "shld", "Ev,Gv,Ib", 0, sized_handlers<DoubleShift<Shld, Count::Imm>::template Form>()});
  t.push_back({op0f(0xa5), -1, kAnyPrefix, "shld", "Ev,Gv,CL", 0, sized_handlers<DoubleShift<Shld, Count::Cl>::template Form>()});
  t.push_back({op0f(0xac), -1, kAnyPrefix, "shrd", "Ev,Gv,Ib", 0, sized_handlers<DoubleShift<Shrd, Count::Imm>::template Form>()});
  t.push_back({op0f(0xad), -1, kAnyPrefix, "shrd", "Ev,Gv,CL", 0, sized_handlers<DoubleShift<Shrd, Count::Cl>::template Form>()});
}

}  // namespace vireo::tcg
