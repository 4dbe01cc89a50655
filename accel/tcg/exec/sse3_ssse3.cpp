// SSE3 and SSSE3: Intel SDM vol. 2 instruction pages, opcode map table A-3
// (0F D0, 0F 7C/7D, 0F 12/16, 0F F0) and A-4/A-5 (0F 38 00-1E, 0F 3A 0F).
//
// SSE3's arithmetic (ADDSUB, HADD, HSUB) runs the host's instruction under
// the guest's MXCSR (simd.h), so results and exception flags are the
// hardware's. Its moves and all of SSSE3 are integer or data movement and
// are done here, once for both register files (MMX, no prefix; XMM, 66).
// FISTTP (SSE3) belongs to the x87 family; MONITOR/MWAIT are not offered.
#include <algorithm>
#include <limits>

#include "accel/tcg/exec/families.h"
#include "accel/tcg/exec/simd.h"

namespace vireo::tcg {

namespace {

using namespace simd;

// SSE3 floating point ---------------------------------------------------------

// op xmm, xmm on the host (simd.h's run_simd_op: the guest's MXCSR, and
// the hardware's own flags when an exception is unmasked).
template <typename HostOp>
struct HostBinary {
  static Xmm apply(Cpu& cpu, const Xmm& dst, const Xmm& src, uint8_t) {
    const HostXmm a = to_host(dst), b = to_host(src);
    HostXmm r;
    run_simd_op(cpu, [&] {
      r = a;
      HostOp::run(r, b);
    });
    return from_host(r);
  }
};
struct AddSubPs {
  static void run(HostXmm& a, const HostXmm& b) { asm volatile("addsubps %1, %0" : "+x"(a) : "x"(b)); }
};
struct AddSubPd {
  static void run(HostXmm& a, const HostXmm& b) { asm volatile("addsubpd %1, %0" : "+x"(a) : "x"(b)); }
};
struct HaddPs {
  static void run(HostXmm& a, const HostXmm& b) { asm volatile("haddps %1, %0" : "+x"(a) : "x"(b)); }
};
struct HaddPd {
  static void run(HostXmm& a, const HostXmm& b) { asm volatile("haddpd %1, %0" : "+x"(a) : "x"(b)); }
};
struct HsubPs {
  static void run(HostXmm& a, const HostXmm& b) { asm volatile("hsubps %1, %0" : "+x"(a) : "x"(b)); }
};
struct HsubPd {
  static void run(HostXmm& a, const HostXmm& b) { asm volatile("hsubpd %1, %0" : "+x"(a) : "x"(b)); }
};

// SSE3 moves ------------------------------------------------------------------

// MOVSLDUP / MOVSHDUP: duplicate the even (odd) dwords.
template <unsigned Odd>
struct MoveDup32 {
  static Xmm apply(Cpu&, const Xmm&, const Xmm& src, uint8_t) {
    Xmm r;
    for (unsigned k = 0; k < 4; k += 2) {
      uint32_t v = src.get<uint32_t>(k + Odd);
      r.set<uint32_t>(k, v);
      r.set<uint32_t>(k + 1, v);
    }
    return r;
  }
};
// MOVDDUP: the low qword twice (an m64 operand, no alignment rule).
struct MoveDup64 {
  static Xmm apply(Cpu&, const Xmm&, const Xmm& src, uint8_t) {
    Xmm r;
    r.set<uint64_t>(0, src.get<uint64_t>(0));
    r.set<uint64_t>(1, src.get<uint64_t>(0));
    return r;
  }
};
// LDDQU: an unaligned 16-byte load (memory only).
struct LoadUnaligned {
  static Xmm apply(Cpu&, const Xmm&, const Xmm& src, uint8_t) { return src; }
};

// SSSE3, both register files ------------------------------------------------------

template <typename T>
T saturate(int64_t v) {
  return static_cast<T>(std::clamp<int64_t>(v, std::numeric_limits<T>::min(), std::numeric_limits<T>::max()));
}

// PABSB/W/D: |x|, with the most negative value staying as it is (its
// unsigned reading is the right magnitude).
template <typename T>
struct Abs {
  template <unsigned N>
  static Vec<N> apply(const Vec<N>&, const Vec<N>& src, uint8_t) {
    Vec<N> r;
    for (unsigned k = 0; k < Vec<N>::template lanes<T>(); ++k) {
      T v = src.template get<T>(k);
      r.template set<T>(k, static_cast<T>(v < 0 ? T(0) - v : v));
    }
    return r;
  }
};

// PSIGNB/W/D: negate, keep or zero by the sign of the source lane.
template <typename T>
struct Sign {
  template <unsigned N>
  static Vec<N> apply(const Vec<N>& dst, const Vec<N>& src, uint8_t) {
    Vec<N> r;
    for (unsigned k = 0; k < Vec<N>::template lanes<T>(); ++k) {
      T d = dst.template get<T>(k), s = src.template get<T>(k);
      using U = std::make_unsigned_t<T>;
      T v = s < 0 ? static_cast<T>(U(0) - static_cast<U>(d)) : s == 0 ? T(0) : d;
      r.template set<T>(k, v);
    }
    return r;
  }
};

// PHADD/PHSUB (W, D, SW): pairs of adjacent lanes, the destination's
// pairs in the low half of the result and the source's in the high half.
enum class Horizontal { Add, Sub, AddSaturate, SubSaturate };
template <typename T, Horizontal H>
struct HorizontalOp {
  template <unsigned N>
  static Vec<N> apply(const Vec<N>& dst, const Vec<N>& src, uint8_t) {
    constexpr unsigned lanes = Vec<N>::template lanes<T>();
    Vec<N> r;
    for (unsigned k = 0; k < lanes; ++k) {
      const Vec<N>& from = k < lanes / 2 ? dst : src;
      unsigned pair = (k % (lanes / 2)) * 2;
      int64_t a = from.template get<T>(pair), b = from.template get<T>(pair + 1);
      using U = std::make_unsigned_t<T>;
      T v;
      switch (H) {
        case Horizontal::Add: v = static_cast<T>(static_cast<U>(a + b)); break;
        case Horizontal::Sub: v = static_cast<T>(static_cast<U>(a - b)); break;
        case Horizontal::AddSaturate: v = saturate<T>(a + b); break;
        case Horizontal::SubSaturate: v = saturate<T>(a - b); break;
      }
      r.template set<T>(k, v);
    }
    return r;
  }
};

// PMADDUBSW: unsigned bytes of the destination times signed bytes of the
// source, adjacent products added with signed saturation to words.
struct MultiplyAddUnsignedSigned {
  template <unsigned N>
  static Vec<N> apply(const Vec<N>& dst, const Vec<N>& src, uint8_t) {
    Vec<N> r;
    for (unsigned k = 0; k < N / 2; ++k) {
      int32_t lo = dst.template get<uint8_t>(2 * k) * src.template get<int8_t>(2 * k);
      int32_t hi = dst.template get<uint8_t>(2 * k + 1) * src.template get<int8_t>(2 * k + 1);
      r.template set<int16_t>(k, saturate<int16_t>(lo + hi));
    }
    return r;
  }
};

// PMULHRSW: (a * b >> 14) + 1 >> 1, the high word of a rounded Q15 product.
struct MultiplyHighRoundScale {
  template <unsigned N>
  static Vec<N> apply(const Vec<N>& dst, const Vec<N>& src, uint8_t) {
    Vec<N> r;
    for (unsigned k = 0; k < N / 2; ++k) {
      int32_t product = dst.template get<int16_t>(k) * src.template get<int16_t>(k);
      r.template set<int16_t>(k, static_cast<int16_t>(((product >> 14) + 1) >> 1));
    }
    return r;
  }
};

// PSHUFB: each result byte is the destination byte the source byte
// indexes (low 3 or 4 bits), or 0 when the index's bit 7 is set.
struct ShuffleBytes {
  template <unsigned N>
  static Vec<N> apply(const Vec<N>& dst, const Vec<N>& src, uint8_t) {
    Vec<N> r;
    for (unsigned k = 0; k < N; ++k) {
      uint8_t index = src.bytes[k];
      r.bytes[k] = (index & 0x80) ? 0 : dst.bytes[index & (N - 1)];
    }
    return r;
  }
};

// PALIGNR: the destination:source concatenation (destination high)
// shifted right by imm8 bytes; the low N bytes. Shifts past 2N give 0.
struct AlignRight {
  template <unsigned N>
  static Vec<N> apply(const Vec<N>& dst, const Vec<N>& src, uint8_t imm) {
    Vec<N> r;
    for (unsigned k = 0; k < N; ++k) {
      unsigned from = k + imm;
      r.bytes[k] = from < N ? src.bytes[from] : from < 2 * N ? dst.bytes[from - N] : 0;
    }
    return r;
  }
};

template <typename Op, Wkind K = Wkind::M128>
constexpr HandlerSet vw() {
  return vector_handlers<OpVW<Op, K>>();
}

}  // namespace

void add_sse3_ssse3_rows(std::vector<OpcodeRow>& t) {
  // SSE3.
  t.push_back({op0f(0xd0), -1, kPrefix66, "addsubpd", "Vpd,Wpd", 0, vw<HostBinary<AddSubPd>>()});
  t.push_back({op0f(0xd0), -1, kPrefixF2, "addsubps", "Vps,Wps", 0, vw<HostBinary<AddSubPs>>()});
  t.push_back({op0f(0x7c), -1, kPrefix66, "haddpd", "Vpd,Wpd", 0, vw<HostBinary<HaddPd>>()});
  t.push_back({op0f(0x7c), -1, kPrefixF2, "haddps", "Vps,Wps", 0, vw<HostBinary<HaddPs>>()});
  t.push_back({op0f(0x7d), -1, kPrefix66, "hsubpd", "Vpd,Wpd", 0, vw<HostBinary<HsubPd>>()});
  t.push_back({op0f(0x7d), -1, kPrefixF2, "hsubps", "Vps,Wps", 0, vw<HostBinary<HsubPs>>()});
  t.push_back({op0f(0x12), -1, kPrefixF3, "movsldup", "Vps,Wps", 0, vw<MoveDup32<0>>()});
  t.push_back({op0f(0x16), -1, kPrefixF3, "movshdup", "Vps,Wps", 0, vw<MoveDup32<1>>()});
  t.push_back({op0f(0x12), -1, kPrefixF2, "movddup", "Vpd,Wsd", 0, vw<MoveDup64, Wkind::M64>()});
  t.push_back({op0f(0xf0), -1, kPrefixF2, "lddqu", "Vx,Mx", 0, vw<LoadUnaligned, Wkind::M128U>()});

  // SSSE3: MMX (no prefix) and XMM (66) forms.
  add_packed_rows<ShuffleBytes>(t, op0f38(0x00), "pshufb");
  add_packed_rows<HorizontalOp<int16_t, Horizontal::Add>>(t, op0f38(0x01), "phaddw");
  add_packed_rows<HorizontalOp<int32_t, Horizontal::Add>>(t, op0f38(0x02), "phaddd");
  add_packed_rows<HorizontalOp<int16_t, Horizontal::AddSaturate>>(t, op0f38(0x03), "phaddsw");
  add_packed_rows<MultiplyAddUnsignedSigned>(t, op0f38(0x04), "pmaddubsw");
  add_packed_rows<HorizontalOp<int16_t, Horizontal::Sub>>(t, op0f38(0x05), "phsubw");
  add_packed_rows<HorizontalOp<int32_t, Horizontal::Sub>>(t, op0f38(0x06), "phsubd");
  add_packed_rows<HorizontalOp<int16_t, Horizontal::SubSaturate>>(t, op0f38(0x07), "phsubsw");
  add_packed_rows<Sign<int8_t>>(t, op0f38(0x08), "psignb");
  add_packed_rows<Sign<int16_t>>(t, op0f38(0x09), "psignw");
  add_packed_rows<Sign<int32_t>>(t, op0f38(0x0a), "psignd");
  add_packed_rows<MultiplyHighRoundScale>(t, op0f38(0x0b), "pmulhrsw");
  add_packed_rows<Abs<int8_t>>(t, op0f38(0x1c), "pabsb");
  add_packed_rows<Abs<int16_t>>(t, op0f38(0x1d), "pabsw");
  add_packed_rows<Abs<int32_t>>(t, op0f38(0x1e), "pabsd");
  add_packed_rows<AlignRight>(t, op0f3a(0x0f), "palignr", true);
}

}  // namespace vireo::tcg
