// Integer SIMD on MMX and XMM registers (MMX, the SSE additions to MMX and
// SSE2): PADD* PSUB* (wrapping and saturating), PMULLW PMULHW PMULHUW
// PMULUDQ PMADDWD PAVGB PAVGW PMIN/PMAX (UB, SW) PSADBW PCMPEQ* PCMPGT*
// PAND PANDN POR PXOR, shifts by register and immediate (PSLL* PSRL* PSRA*
// PSLLDQ PSRLDQ), PACKSS*/PACKUS*, PUNPCK*, PSHUFW/PSHUFD/PSHUFLW/PSHUFHW,
// PINSRW PEXTRW PMOVMSKB; and the float-typed bit operations with no
// arithmetic: ANDPS ANDNPS ORPS XORPS (and PD), SHUFPS SHUFPD, UNPCKLPS
// UNPCKHPS UNPCKLPD UNPCKHPD. Intel SDM vol. 2 under each mnemonic.
//
// Each operation is a template over the vector width N (8 bytes for MMX,
// 16 for SSE), usually built from a per-element functor; the same type
// serves the no-prefix MMX row and the 66 SSE2 row (simd.h: OpPacked).
#include <algorithm>
#include <limits>
#include <type_traits>

#include "accel/tcg/exec/families.h"
#include "accel/tcg/exec/simd.h"

namespace vireo::tcg {

namespace {

using namespace simd;

// Element operations -----------------------------------------------------------

template <typename T>
T saturate(int64_t v) {
  return static_cast<T>(std::clamp<int64_t>(v, std::numeric_limits<T>::min(), std::numeric_limits<T>::max()));
}

struct Add { template <typename T> static T op(T a, T b) { return static_cast<T>(a + b); } };
struct Sub { template <typename T> static T op(T a, T b) { return static_cast<T>(a - b); } };
// Signedness of T picks signed or unsigned saturation (PADDSB vs PADDUSB).
struct AddSaturate { template <typename T> static T op(T a, T b) { return saturate<T>(int64_t{a} + int64_t{b}); } };
struct SubSaturate { template <typename T> static T op(T a, T b) { return saturate<T>(int64_t{a} - int64_t{b}); } };
// Word products are formed in 32 bits of T's signedness. (Widening to
// int64_t instead is correct C++, but GCC 12.2 -O2 vectorizes the signed
// high half of that into PMULHUW: unsigned. Caught by the host tests.)
template <typename T>
using Product = std::conditional_t<std::is_signed_v<T>, int32_t, uint32_t>;
struct MulLow { template <typename T> static T op(T a, T b) { return static_cast<T>(Product<T>{a} * Product<T>{b}); } };
// High 16 bits of the 32-bit product; T's signedness picks PMULHW/PMULHUW.
struct MulHigh { template <typename T> static T op(T a, T b) { return static_cast<T>((Product<T>{a} * Product<T>{b}) >> 16); } };
struct Average { template <typename T> static T op(T a, T b) { return static_cast<T>((uint32_t{a} + uint32_t{b} + 1) >> 1); } };
struct Min { template <typename T> static T op(T a, T b) { return std::min(a, b); } };
struct Max { template <typename T> static T op(T a, T b) { return std::max(a, b); } };
struct CompareEq { template <typename T> static T op(T a, T b) { return a == b ? static_cast<T>(~T{0}) : T{0}; } };
struct CompareGt { template <typename T> static T op(T a, T b) { return a > b ? static_cast<T>(~T{0}) : T{0}; } };
struct And { template <typename T> static T op(T a, T b) { return a & b; } };
struct AndNot { template <typename T> static T op(T a, T b) { return static_cast<T>(~a & b); } };
struct Or { template <typename T> static T op(T a, T b) { return a | b; } };
struct Xor { template <typename T> static T op(T a, T b) { return a ^ b; } };

// dst[n] = F(dst[n], src[n]) for every element of type T.
template <typename T, typename F>
struct Lanewise {
  template <unsigned N>
  static Vec<N> apply(const Vec<N>& a, const Vec<N>& b, uint8_t) {
    Vec<N> r;
    for (unsigned n = 0; n < Vec<N>::template lanes<T>(); ++n) {
      r.template set<T>(n, F::template op<T>(a.template get<T>(n), b.template get<T>(n)));
    }
    return r;
  }
};

// Whole-vector operations ---------------------------------------------------------

// PMULUDQ: the low dword of each quadword, multiplied into a quadword.
struct MulUnsignedDq {
  template <unsigned N>
  static Vec<N> apply(const Vec<N>& a, const Vec<N>& b, uint8_t) {
    Vec<N> r;
    for (unsigned n = 0; n < Vec<N>::template lanes<uint64_t>(); ++n) {
      r.template set<uint64_t>(n, uint64_t{a.template get<uint32_t>(2 * n)} * b.template get<uint32_t>(2 * n));
    }
    return r;
  }
};
// PMADDWD: adjacent signed word products summed into dwords. Only
// 0x8000 * 0x8000 twice overflows, and wraps to 0x80000000 as on hardware.
struct MulAddWd {
  template <unsigned N>
  static Vec<N> apply(const Vec<N>& a, const Vec<N>& b, uint8_t) {
    Vec<N> r;
    for (unsigned n = 0; n < Vec<N>::template lanes<int32_t>(); ++n) {
      int64_t sum = int64_t{a.template get<int16_t>(2 * n)} * b.template get<int16_t>(2 * n) +
                    int64_t{a.template get<int16_t>(2 * n + 1)} * b.template get<int16_t>(2 * n + 1);
      r.template set<uint32_t>(n, static_cast<uint32_t>(sum));
    }
    return r;
  }
};
// PSADBW: per quadword, the sum of absolute byte differences in its low word.
struct SumAbsDiff {
  template <unsigned N>
  static Vec<N> apply(const Vec<N>& a, const Vec<N>& b, uint8_t) {
    Vec<N> r = Vec<N>::zero();
    for (unsigned q = 0; q < N / 8; ++q) {
      unsigned sum = 0;
      for (unsigned n = q * 8; n < q * 8 + 8; ++n) sum += a.bytes[n] > b.bytes[n] ? a.bytes[n] - b.bytes[n] : b.bytes[n] - a.bytes[n];
      r.template set<uint16_t>(q * 4, static_cast<uint16_t>(sum));
    }
    return r;
  }
};
// PACKSSWB/PACKSSDW/PACKUSWB: dst's elements then src's, each saturated
// from From to To.
template <typename From, typename To>
struct Pack {
  template <unsigned N>
  static Vec<N> apply(const Vec<N>& a, const Vec<N>& b, uint8_t) {
    constexpr unsigned half = Vec<N>::template lanes<From>();
    Vec<N> r;
    for (unsigned n = 0; n < half; ++n) {
      r.template set<To>(n, saturate<To>(a.template get<From>(n)));
      r.template set<To>(half + n, saturate<To>(b.template get<From>(n)));
    }
    return r;
  }
};
// PUNPCKL*/PUNPCKH* (and UNPCKLPS/UNPCKHPS/UNPCKLPD/UNPCKHPD): interleave
// the low (High = false) or high halves of dst and src.
template <typename T, bool High>
struct Unpack {
  template <unsigned N>
  static Vec<N> apply(const Vec<N>& a, const Vec<N>& b, uint8_t) {
    constexpr unsigned half = Vec<N>::template lanes<T>() / 2;
    constexpr unsigned base = High ? half : 0;
    Vec<N> r;
    for (unsigned n = 0; n < half; ++n) {
      r.template set<T>(2 * n, a.template get<T>(base + n));
      r.template set<T>(2 * n + 1, b.template get<T>(base + n));
    }
    return r;
  }
};

// Shifts: PSLL/PSRL give 0 and PSRA the sign once the count reaches the
// element width; the count is the source's whole low quadword.
enum class ShiftKind : uint8_t { Left, Right, RightArithmetic };
template <typename T, ShiftKind S>
struct Shift {
  template <unsigned N>
  static Vec<N> by(const Vec<N>& a, uint64_t count) {
    constexpr unsigned bits = bits_of<T>();
    Vec<N> r;
    for (unsigned n = 0; n < Vec<N>::template lanes<T>(); ++n) {
      T v = a.template get<T>(n);
      if constexpr (S == ShiftKind::RightArithmetic) {
        using I = std::make_signed_t<T>;
        unsigned c = count >= bits ? bits - 1 : static_cast<unsigned>(count);
        v = static_cast<T>(static_cast<I>(v) >> c);
      } else if (count >= bits) {
        v = 0;
      } else {
        v = S == ShiftKind::Left ? static_cast<T>(v << count) : static_cast<T>(v >> count);
      }
      r.template set<T>(n, v);
    }
    return r;
  }
  template <unsigned N>
  static Vec<N> apply(const Vec<N>& a, const Vec<N>& b, uint8_t) {
    return by(a, b.template get<uint64_t>(0));
  }
};
// PSLLDQ/PSRLDQ: the whole register shifted by bytes.
template <bool Left>
struct ShiftBytes {
  template <unsigned N>
  static Vec<N> by(const Vec<N>& a, uint64_t count) {
    Vec<N> r = Vec<N>::zero();
    for (unsigned n = 0; n < N; ++n) {
      uint64_t from = Left ? n - count : n + count;  // wraps past N when out of range
      if (from < N) r.bytes[n] = a.bytes[from];
    }
    return r;
  }
};

// op Nq,Ib / Ux,Ib (0F 71-73): shifts the ModRM.rm register by imm8.
template <typename Regs, typename Op>
void shift_immediate(Cpu& cpu, const Insn& i) {
  Regs::check(cpu);
  typename Regs::V r = Op::by(Regs::reg(cpu, i.rm), i.imm & 0xff);
  Regs::commit(cpu);
  Regs::set_reg(cpu, i.rm, r);
  next(cpu, i);
}

// PSHUFW/PSHUFD: element n of the result is src element imm8[2n+1:2n].
// PSHUFLW/PSHUFHW do that to the low or high four words, copying the rest.
template <typename T, unsigned FirstLane>
struct Shuffle4 {
  template <unsigned N>
  static Vec<N> apply(const Vec<N>&, const Vec<N>& s, uint8_t imm) {
    Vec<N> r = s;
    for (unsigned n = 0; n < 4; ++n) r.template set<T>(FirstLane + n, s.template get<T>(FirstLane + ((imm >> (2 * n)) & 3)));
    return r;
  }
};
// SHUFPS: two dwords from dst, two from src, chosen by imm8.
struct ShufPs {
  template <unsigned N>
  static Vec<N> apply(const Vec<N>& a, const Vec<N>& b, uint8_t imm) {
    Vec<N> r;
    r.template set<uint32_t>(0, a.template get<uint32_t>(imm & 3));
    r.template set<uint32_t>(1, a.template get<uint32_t>((imm >> 2) & 3));
    r.template set<uint32_t>(2, b.template get<uint32_t>((imm >> 4) & 3));
    r.template set<uint32_t>(3, b.template get<uint32_t>((imm >> 6) & 3));
    return r;
  }
};
// SHUFPD: one quadword from dst, one from src.
struct ShufPd {
  template <unsigned N>
  static Vec<N> apply(const Vec<N>& a, const Vec<N>& b, uint8_t imm) {
    Vec<N> r;
    r.template set<uint64_t>(0, a.template get<uint64_t>(imm & 1));
    r.template set<uint64_t>(1, b.template get<uint64_t>((imm >> 1) & 1));
    return r;
  }
};

// MMX PUNPCKLBW/WD/DQ read only 32 bits from memory ("mm/m32").
struct MmxRegsLowHalf : MmxRegs {
  template <bool Mem>
  static V rm(Cpu& cpu, const Insn& i) {
    if constexpr (!Mem) return get_mmx(cpu, i.rm);
    Mmx v = Mmx::zero();
    v.set<uint32_t>(0, cpu.read<uint32_t>(i.seg, effective_address(cpu, i)));
    return v;
  }
};

// PINSRW Pq,Ew,Ib / Vdq,Ew,Ib: a word from a general register or m16.
template <typename Regs>
struct Pinsrw {
  template <bool Mem>
  static void run(Cpu& cpu, const Insn& i) {
    Regs::check(cpu);
    uint16_t w;
    if constexpr (Mem) w = cpu.read<uint16_t>(i.seg, effective_address(cpu, i));
    else w = cpu.get<uint16_t>(i.rm);
    typename Regs::V v = Regs::reg(cpu, i.reg);
    v.template set<uint16_t>(i.imm & (Regs::V::template lanes<uint16_t>() - 1), w);
    Regs::commit(cpu);
    Regs::set_reg(cpu, i.reg, v);
    next(cpu, i);
  }
};
// PEXTRW Gd,Nq,Ib / Gd,Udq,Ib: a word, zero-extended into the register.
template <typename Regs>
void pextrw(Cpu& cpu, const Insn& i) {
  Regs::check(cpu);
  typename Regs::V v = Regs::reg(cpu, i.rm);
  Regs::commit(cpu);
  cpu.set<uint32_t>(i.reg, v.template get<uint16_t>(i.imm & (Regs::V::template lanes<uint16_t>() - 1)));
  next(cpu, i);
}
// PMOVMSKB Gd,Nq / Gd,Ux: the top bit of every byte.
template <typename Regs>
void pmovmskb(Cpu& cpu, const Insn& i) {
  Regs::check(cpu);
  typename Regs::V v = Regs::reg(cpu, i.rm);
  uint32_t mask = 0;
  for (unsigned n = 0; n < Regs::V::kBytes; ++n) mask |= static_cast<uint32_t>(v.bytes[n] >> 7) << n;
  Regs::commit(cpu);
  cpu.set<uint32_t>(i.reg, mask);
  next(cpu, i);
}

template <typename Op>
void add_packed_shift_rows(std::vector<OpcodeRow>& t, uint8_t group, int8_t ext, uint8_t by_register, const char* name) {
  add_packed_rows<Op>(t, op0f(by_register), name);
  t.push_back({op0f(group), ext, kNoPrefix, name, "Nq,Ib", 0, one_handler(&shift_immediate<MmxRegs, Op>)});
  t.push_back({op0f(group), ext, kPrefix66, name, "Ux,Ib", 0, one_handler(&shift_immediate<XmmRegs, Op>)});
}

// SSE-only rows (66 prefix, or no prefix for the ps forms).
template <typename Op>
void add_xmm_row(std::vector<OpcodeRow>& t, uint8_t opcode, uint8_t prefix, const char* name,
                 const char* operands) {
  t.push_back({op0f(opcode), -1, prefix, name, operands, 0, vector_handlers<OpPacked<XmmRegs, Op>>()});
}

}  // namespace

void add_sse_int_rows(std::vector<OpcodeRow>& t) {
  using L = ShiftKind;
  // Unpacks and packs (0F 60-6D).
  t.push_back({op0f(0x60), -1, kNoPrefix, "punpcklbw", "Pq,Qd", 0, vector_handlers<OpPacked<MmxRegsLowHalf, Unpack<uint8_t, false>>>()});
  t.push_back({op0f(0x61), -1, kNoPrefix, "punpcklwd", "Pq,Qd", 0, vector_handlers<OpPacked<MmxRegsLowHalf, Unpack<uint16_t, false>>>()});
  t.push_back({op0f(0x62), -1, kNoPrefix, "punpckldq", "Pq,Qd", 0, vector_handlers<OpPacked<MmxRegsLowHalf, Unpack<uint32_t, false>>>()});
  add_xmm_row<Unpack<uint8_t, false>>(t, 0x60, kPrefix66, "punpcklbw", "Vx,Wx");
  add_xmm_row<Unpack<uint16_t, false>>(t, 0x61, kPrefix66, "punpcklwd", "Vx,Wx");
  add_xmm_row<Unpack<uint32_t, false>>(t, 0x62, kPrefix66, "punpckldq", "Vx,Wx");
  add_packed_rows<Pack<int16_t, int8_t>>(t, op0f(0x63), "packsswb");
  add_packed_rows<Lanewise<int8_t, CompareGt>>(t, op0f(0x64), "pcmpgtb");
  add_packed_rows<Lanewise<int16_t, CompareGt>>(t, op0f(0x65), "pcmpgtw");
  add_packed_rows<Lanewise<int32_t, CompareGt>>(t, op0f(0x66), "pcmpgtd");
  add_packed_rows<Pack<int16_t, uint8_t>>(t, op0f(0x67), "packuswb");
  add_packed_rows<Unpack<uint8_t, true>>(t, op0f(0x68), "punpckhbw");
  add_packed_rows<Unpack<uint16_t, true>>(t, op0f(0x69), "punpckhwd");
  add_packed_rows<Unpack<uint32_t, true>>(t, op0f(0x6a), "punpckhdq");
  add_packed_rows<Pack<int32_t, int16_t>>(t, op0f(0x6b), "packssdw");
  add_xmm_row<Unpack<uint64_t, false>>(t, 0x6c, kPrefix66, "punpcklqdq", "Vx,Wx");
  add_xmm_row<Unpack<uint64_t, true>>(t, 0x6d, kPrefix66, "punpckhqdq", "Vx,Wx");

  // Shuffles (0F 70).
  t.push_back({op0f(0x70), -1, kNoPrefix, "pshufw", "Pq,Qq,Ib", 0, vector_handlers<OpPacked<MmxRegs, Shuffle4<uint16_t, 0>>>()});
  add_xmm_row<Shuffle4<uint32_t, 0>>(t, 0x70, kPrefix66, "pshufd", "Vx,Wx,Ib");
  add_xmm_row<Shuffle4<uint16_t, 4>>(t, 0x70, kPrefixF3, "pshufhw", "Vx,Wx,Ib");
  add_xmm_row<Shuffle4<uint16_t, 0>>(t, 0x70, kPrefixF2, "pshuflw", "Vx,Wx,Ib");

  // Compares for equality (0F 74-76).
  add_packed_rows<Lanewise<uint8_t, CompareEq>>(t, op0f(0x74), "pcmpeqb");
  add_packed_rows<Lanewise<uint16_t, CompareEq>>(t, op0f(0x75), "pcmpeqw");
  add_packed_rows<Lanewise<uint32_t, CompareEq>>(t, op0f(0x76), "pcmpeqd");

  // Shifts: by register (0F D1-D3, E1-E2, F1-F3) and by imm8 (0F 71-73).
  add_packed_shift_rows<Shift<uint16_t, L::Right>>(t, 0x71, 2, 0xd1, "psrlw");
  add_packed_shift_rows<Shift<uint32_t, L::Right>>(t, 0x72, 2, 0xd2, "psrld");
  add_packed_shift_rows<Shift<uint64_t, L::Right>>(t, 0x73, 2, 0xd3, "psrlq");
  add_packed_shift_rows<Shift<uint16_t, L::RightArithmetic>>(t, 0x71, 4, 0xe1, "psraw");
  add_packed_shift_rows<Shift<uint32_t, L::RightArithmetic>>(t, 0x72, 4, 0xe2, "psrad");
  add_packed_shift_rows<Shift<uint16_t, L::Left>>(t, 0x71, 6, 0xf1, "psllw");
  add_packed_shift_rows<Shift<uint32_t, L::Left>>(t, 0x72, 6, 0xf2, "pslld");
  add_packed_shift_rows<Shift<uint64_t, L::Left>>(t, 0x73, 6, 0xf3, "psllq");
  t.push_back({op0f(0x73), 3, kPrefix66, "psrldq", "Ux,Ib", 0, one_handler(&shift_immediate<XmmRegs, ShiftBytes<false>>)});
  t.push_back({op0f(0x73), 7, kPrefix66, "pslldq", "Ux,Ib", 0, one_handler(&shift_immediate<XmmRegs, ShiftBytes<true>>)});

  // Words in and out, byte masks.
  t.push_back({op0f(0xc4), -1, kNoPrefix, "pinsrw", "Pq,Ew,Ib", 0, vector_handlers<Pinsrw<MmxRegs>>()});
  t.push_back({op0f(0xc4), -1, kPrefix66, "pinsrw", "Vdq,Ew,Ib", 0, vector_handlers<Pinsrw<XmmRegs>>()});
  t.push_back({op0f(0xc5), -1, kNoPrefix, "pextrw", "Gd,Nq,Ib", 0, one_handler(&pextrw<MmxRegs>)});
  t.push_back({op0f(0xc5), -1, kPrefix66, "pextrw", "Gd,Udq,Ib", 0, one_handler(&pextrw<XmmRegs>)});
  t.push_back({op0f(0xd7), -1, kNoPrefix, "pmovmskb", "Gd,Nq", 0, one_handler(&pmovmskb<MmxRegs>)});
  t.push_back({op0f(0xd7), -1, kPrefix66, "pmovmskb", "Gd,Ux", 0, one_handler(&pmovmskb<XmmRegs>)});

  // Arithmetic and logic (0F D4-FE).
  add_packed_rows<Lanewise<uint64_t, Add>>(t, op0f(0xd4), "paddq");
  add_packed_rows<Lanewise<uint16_t, MulLow>>(t, op0f(0xd5), "pmullw");
  add_packed_rows<Lanewise<uint8_t, SubSaturate>>(t, op0f(0xd8), "psubusb");
  add_packed_rows<Lanewise<uint16_t, SubSaturate>>(t, op0f(0xd9), "psubusw");
  add_packed_rows<Lanewise<uint8_t, Min>>(t, op0f(0xda), "pminub");
  add_packed_rows<Lanewise<uint64_t, And>>(t, op0f(0xdb), "pand");
  add_packed_rows<Lanewise<uint8_t, AddSaturate>>(t, op0f(0xdc), "paddusb");
  add_packed_rows<Lanewise<uint16_t, AddSaturate>>(t, op0f(0xdd), "paddusw");
  add_packed_rows<Lanewise<uint8_t, Max>>(t, op0f(0xde), "pmaxub");
  add_packed_rows<Lanewise<uint64_t, AndNot>>(t, op0f(0xdf), "pandn");
  add_packed_rows<Lanewise<uint8_t, Average>>(t, op0f(0xe0), "pavgb");
  add_packed_rows<Lanewise<uint16_t, Average>>(t, op0f(0xe3), "pavgw");
  add_packed_rows<Lanewise<uint16_t, MulHigh>>(t, op0f(0xe4), "pmulhuw");
  add_packed_rows<Lanewise<int16_t, MulHigh>>(t, op0f(0xe5), "pmulhw");
  add_packed_rows<Lanewise<int8_t, SubSaturate>>(t, op0f(0xe8), "psubsb");
  add_packed_rows<Lanewise<int16_t, SubSaturate>>(t, op0f(0xe9), "psubsw");
  add_packed_rows<Lanewise<int16_t, Min>>(t, op0f(0xea), "pminsw");
  add_packed_rows<Lanewise<uint64_t, Or>>(t, op0f(0xeb), "por");
  add_packed_rows<Lanewise<int8_t, AddSaturate>>(t, op0f(0xec), "paddsb");
  add_packed_rows<Lanewise<int16_t, AddSaturate>>(t, op0f(0xed), "paddsw");
  add_packed_rows<Lanewise<int16_t, Max>>(t, op0f(0xee), "pmaxsw");
  add_packed_rows<Lanewise<uint64_t, Xor>>(t, op0f(0xef), "pxor");
  add_packed_rows<MulUnsignedDq>(t, op0f(0xf4), "pmuludq");
  add_packed_rows<MulAddWd>(t, op0f(0xf5), "pmaddwd");
  add_packed_rows<SumAbsDiff>(t, op0f(0xf6), "psadbw");
  add_packed_rows<Lanewise<uint8_t, Sub>>(t, op0f(0xf8), "psubb");
  add_packed_rows<Lanewise<uint16_t, Sub>>(t, op0f(0xf9), "psubw");
  add_packed_rows<Lanewise<uint32_t, Sub>>(t, op0f(0xfa), "psubd");
  add_packed_rows<Lanewise<uint64_t, Sub>>(t, op0f(0xfb), "psubq");
  add_packed_rows<Lanewise<uint8_t, Add>>(t, op0f(0xfc), "paddb");
  add_packed_rows<Lanewise<uint16_t, Add>>(t, op0f(0xfd), "paddw");
  add_packed_rows<Lanewise<uint32_t, Add>>(t, op0f(0xfe), "paddd");

  // The float-typed operations that are pure bit moves (0F 14/15, 54-57, C6).
  add_xmm_row<Unpack<uint32_t, false>>(t, 0x14, kNoPrefix, "unpcklps", "Vps,Wps");
  add_xmm_row<Unpack<uint64_t, false>>(t, 0x14, kPrefix66, "unpcklpd", "Vpd,Wpd");
  add_xmm_row<Unpack<uint32_t, true>>(t, 0x15, kNoPrefix, "unpckhps", "Vps,Wps");
  add_xmm_row<Unpack<uint64_t, true>>(t, 0x15, kPrefix66, "unpckhpd", "Vpd,Wpd");
  add_xmm_row<Lanewise<uint64_t, And>>(t, 0x54, kNoPrefix, "andps", "Vps,Wps");
  add_xmm_row<Lanewise<uint64_t, And>>(t, 0x54, kPrefix66, "andpd", "Vpd,Wpd");
  add_xmm_row<Lanewise<uint64_t, AndNot>>(t, 0x55, kNoPrefix, "andnps", "Vps,Wps");
  add_xmm_row<Lanewise<uint64_t, AndNot>>(t, 0x55, kPrefix66, "andnpd", "Vpd,Wpd");
  add_xmm_row<Lanewise<uint64_t, Or>>(t, 0x56, kNoPrefix, "orps", "Vps,Wps");
  add_xmm_row<Lanewise<uint64_t, Or>>(t, 0x56, kPrefix66, "orpd", "Vpd,Wpd");
  add_xmm_row<Lanewise<uint64_t, Xor>>(t, 0x57, kNoPrefix, "xorps", "Vps,Wps");
  add_xmm_row<Lanewise<uint64_t, Xor>>(t, 0x57, kPrefix66, "xorpd", "Vpd,Wpd");
  add_xmm_row<ShufPs>(t, 0xc6, kNoPrefix, "shufps", "Vps,Wps,Ib");
  add_xmm_row<ShufPd>(t, 0xc6, kPrefix66, "shufpd", "Vpd,Wpd,Ib");
}

}  // namespace vireo::tcg
