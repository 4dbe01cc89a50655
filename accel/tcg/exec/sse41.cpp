// SSE4.1 integer and data-movement instructions, and PCMPGTQ (SSE4.2):
// Intel SDM vol. 2 instruction pages, opcode map tables A-4 (66 0F 38) and
// A-5 (66 0F 3A). All are 66-prefixed XMM forms; the floating-point ones
// (DPPS, DPPD, ROUND*) are in sse41_float.cpp.
#include <algorithm>
#include <limits>

#include "accel/tcg/exec/families.h"
#include "accel/tcg/exec/simd.h"

namespace vireo::tcg {

namespace {

using namespace simd;

// Lane-wise binary operations: r[k] = F(dst[k], src[k]).
template <typename T, typename F>
struct Lanewise {
  static Xmm apply(Cpu&, const Xmm& dst, const Xmm& src, uint8_t) {
    Xmm r;
    for (unsigned k = 0; k < Xmm::lanes<T>(); ++k) r.set<T>(k, F{}(dst.get<T>(k), src.get<T>(k)));
    return r;
  }
};
struct Min {
  template <typename T> T operator()(T a, T b) const { return std::min(a, b); }
};
struct Max {
  template <typename T> T operator()(T a, T b) const { return std::max(a, b); }
};
struct CompareEqual {
  template <typename T> T operator()(T a, T b) const { return a == b ? static_cast<T>(~T(0)) : T(0); }
};
struct CompareGreater {  // signed lanes
  template <typename T> T operator()(T a, T b) const { return a > b ? static_cast<T>(-1) : T(0); }
};
struct MultiplyLow32 {
  uint32_t operator()(uint32_t a, uint32_t b) const { return a * b; }
};

// PMULDQ: signed products of dwords 0 and 2, as qwords.
struct MultiplySignedDwords {
  static Xmm apply(Cpu&, const Xmm& dst, const Xmm& src, uint8_t) {
    Xmm r;
    for (unsigned k = 0; k < 2; ++k) {
      r.set<int64_t>(k, int64_t{dst.get<int32_t>(2 * k)} * src.get<int32_t>(2 * k));
    }
    return r;
  }
};

// PACKUSDW: signed dwords to unsigned words with saturation, the
// destination's in the low half.
struct PackUnsignedDwords {
  static Xmm apply(Cpu&, const Xmm& dst, const Xmm& src, uint8_t) {
    Xmm r;
    for (unsigned k = 0; k < 8; ++k) {
      int32_t v = (k < 4 ? dst : src).get<int32_t>(k % 4);
      r.set<uint16_t>(k, static_cast<uint16_t>(std::clamp<int32_t>(v, 0, 0xffff)));
    }
    return r;
  }
};

// PMOVSX / PMOVZX: the low lanes of the source widened from From to To.
template <typename From, typename To>
struct Extend {
  static Xmm apply(Cpu&, const Xmm&, const Xmm& src, uint8_t) {
    Xmm r;
    for (unsigned k = 0; k < Xmm::lanes<To>(); ++k) r.set<To>(k, static_cast<To>(src.get<From>(k)));
    return r;
  }
};
// Bytes read from memory: 16 / (sizeof(To) / sizeof(From)).
template <typename From, typename To>
constexpr Wkind extend_kind() {
  constexpr unsigned bytes = 16 / (sizeof(To) / sizeof(From));
  return bytes == 8 ? Wkind::M64 : bytes == 4 ? Wkind::M32 : Wkind::M16;
}

// BLENDPS/BLENDPD/PBLENDW: imm8 bit k takes lane k from the source.
template <typename T>
struct BlendImmediate {
  static Xmm apply(Cpu&, const Xmm& dst, const Xmm& src, uint8_t imm) {
    Xmm r;
    for (unsigned k = 0; k < Xmm::lanes<T>(); ++k) r.set<T>(k, ((imm >> k) & 1) ? src.get<T>(k) : dst.get<T>(k));
    return r;
  }
};
// BLENDVPS/BLENDVPD/PBLENDVB: the sign bit of XMM0's lane k takes lane k
// from the source.
template <typename T>
struct BlendVariable {
  static Xmm apply(Cpu& cpu, const Xmm& dst, const Xmm& src, uint8_t) {
    Xmm mask = get_xmm(cpu, 0), r;
    for (unsigned k = 0; k < Xmm::lanes<T>(); ++k) {
      bool take = mask.get<std::make_signed_t<T>>(k) < 0;
      r.set<T>(k, take ? src.get<T>(k) : dst.get<T>(k));
    }
    return r;
  }
};

// PHMINPOSUW: the smallest unsigned word and (bits 18:16) its lowest index.
struct MinimumPosition {
  static Xmm apply(Cpu&, const Xmm&, const Xmm& src, uint8_t) {
    unsigned best = 0;
    for (unsigned k = 1; k < 8; ++k) {
      if (src.get<uint16_t>(k) < src.get<uint16_t>(best)) best = k;
    }
    Xmm r = Xmm::zero();
    r.set<uint16_t>(0, src.get<uint16_t>(best));
    r.set<uint16_t>(1, static_cast<uint16_t>(best));
    return r;
  }
};

// MPSADBW: eight sums of absolute differences between a 4-byte block of
// the source (imm8[1:0] * 4) and sliding 4-byte windows of the
// destination starting at imm8[2] * 4.
struct MultipleSad {
  static Xmm apply(Cpu&, const Xmm& dst, const Xmm& src, uint8_t imm) {
    const unsigned src_offset = (imm & 3) * 4, dst_offset = ((imm >> 2) & 1) * 4;
    Xmm r;
    for (unsigned k = 0; k < 8; ++k) {
      unsigned sum = 0;
      for (unsigned b = 0; b < 4; ++b) {
        int d = dst.bytes[dst_offset + k + b] - src.bytes[src_offset + b];
        sum += static_cast<unsigned>(d < 0 ? -d : d);
      }
      r.set<uint16_t>(k, static_cast<uint16_t>(sum));
    }
    return r;
  }
};

// INSERTPS: dword imm8[7:6] of the source register (or the m32) into lane
// imm8[5:4], then lanes with imm8[3:0] set are zeroed.
template <bool Mem>
struct InsertPs {
  static Xmm apply(Cpu&, const Xmm& dst, const Xmm& src, uint8_t imm) {
    Xmm r = dst;
    r.set<uint32_t>((imm >> 4) & 3, src.get<uint32_t>(Mem ? 0 : (imm >> 6) & 3));
    for (unsigned k = 0; k < 4; ++k) {
      if ((imm >> k) & 1) r.set<uint32_t>(k, 0);
    }
    return r;
  }
};
struct InsertPsForm {
  template <bool Mem>
  static void run(Cpu& cpu, const Insn& i) {
    OpVW<InsertPs<Mem>, Wkind::M32>::template run<Mem>(cpu, i);
  }
};

// MOVNTDQA: an aligned 16-byte load (the non-temporal hint means nothing here).
struct LoadAligned {
  static Xmm apply(Cpu&, const Xmm&, const Xmm& src, uint8_t) { return src; }
};

// PTEST: ZF = (dst AND src) == 0, CF = (NOT dst AND src) == 0; AF, OF, PF
// and SF are cleared.
template <bool Mem>
void ptest(Cpu& cpu, const Insn& i) {
  check_sse(cpu);
  Xmm src = read_w<Wkind::M128, Mem>(cpu, i), dst = get_xmm(cpu, i.reg);
  uint64_t and_bits = 0, andn_bits = 0;
  for (unsigned k = 0; k < 2; ++k) {
    and_bits |= dst.get<uint64_t>(k) & src.get<uint64_t>(k);
    andn_bits |= ~dst.get<uint64_t>(k) & src.get<uint64_t>(k);
  }
  cpu.set_arithmetic_flags(kArithmeticFlags, (and_bits ? 0 : kZf) | (andn_bits ? 0 : kCf));
  next(cpu, i);
}

// PEXTRB/PEXTRW/PEXTRD/PEXTRQ/EXTRACTPS: lane imm8 (modulo the lane count)
// to a general register, zero-extended, or to memory of the lane's size.
template <typename Lane, typename Reg>
struct Extract {
  template <bool Mem>
  static void run(Cpu& cpu, const Insn& i) {
    check_sse(cpu);
    Lane v = get_xmm(cpu, i.reg).get<Lane>(static_cast<unsigned>(i.imm) % Xmm::lanes<Lane>());
    if constexpr (Mem) cpu.write<Lane>(i.seg, effective_address(cpu, i), v);
    else cpu.set<Reg>(i.rm, static_cast<Reg>(v));
    next(cpu, i);
  }
};

// PINSRB/PINSRD/PINSRQ: the low bits of a general register or the memory
// operand into lane imm8 (modulo the lane count).
template <typename Lane>
struct Insert {
  template <bool Mem>
  static void run(Cpu& cpu, const Insn& i) {
    check_sse(cpu);
    Lane v = Mem ? cpu.read<Lane>(i.seg, effective_address(cpu, i)) : static_cast<Lane>(cpu.gpr[i.rm]);
    Xmm r = get_xmm(cpu, i.reg);
    r.set<Lane>(static_cast<unsigned>(i.imm) % Xmm::lanes<Lane>(), v);
    set_xmm(cpu, i.reg, r);
    next(cpu, i);
  }
};

template <typename Op, Wkind K = Wkind::M128>
constexpr HandlerSet vw() {
  return vector_handlers<OpVW<Op, K>>();
}

// Rows sized Ey: the 32-bit form, or the 64-bit one with REX.W.
template <typename Form32, typename Form64>
constexpr HandlerSet dword_or_qword() {
  return HandlerSet{{nullptr, nullptr, &Form32::template run<false>, &Form64::template run<false>},
                    {nullptr, nullptr, &Form32::template run<true>, &Form64::template run<true>}};
}

template <typename From, typename To>
void add_extend_rows(std::vector<OpcodeRow>& t, uint8_t opcode, const char* sx, const char* zx) {
  using SignedFrom = std::make_signed_t<From>;
  using SignedTo = std::make_signed_t<To>;
  t.push_back({op0f38(opcode), -1, kPrefix66, sx, "Vx,Wx", 0,
               vw<Extend<SignedFrom, SignedTo>, extend_kind<From, To>()>()});
  t.push_back({op0f38(static_cast<uint8_t>(opcode + 0x10)), -1, kPrefix66, zx, "Vx,Wx", 0,
               vw<Extend<From, To>, extend_kind<From, To>()>()});
}

}  // namespace

void add_sse41_rows(std::vector<OpcodeRow>& t) {
  t.push_back({op0f38(0x10), -1, kPrefix66, "pblendvb", "Vx,Wx", 0, vw<BlendVariable<uint8_t>>()});
  t.push_back({op0f38(0x14), -1, kPrefix66, "blendvps", "Vps,Wps", 0, vw<BlendVariable<uint32_t>>()});
  t.push_back({op0f38(0x15), -1, kPrefix66, "blendvpd", "Vpd,Wpd", 0, vw<BlendVariable<uint64_t>>()});
  t.push_back({op0f38(0x17), -1, kPrefix66, "ptest", "Vx,Wx", 0, form_handlers(&ptest<false>, &ptest<true>)});
  add_extend_rows<uint8_t, uint16_t>(t, 0x20, "pmovsxbw", "pmovzxbw");
  add_extend_rows<uint8_t, uint32_t>(t, 0x21, "pmovsxbd", "pmovzxbd");
  add_extend_rows<uint8_t, uint64_t>(t, 0x22, "pmovsxbq", "pmovzxbq");
  add_extend_rows<uint16_t, uint32_t>(t, 0x23, "pmovsxwd", "pmovzxwd");
  add_extend_rows<uint16_t, uint64_t>(t, 0x24, "pmovsxwq", "pmovzxwq");
  add_extend_rows<uint32_t, uint64_t>(t, 0x25, "pmovsxdq", "pmovzxdq");
  t.push_back({op0f38(0x28), -1, kPrefix66, "pmuldq", "Vx,Wx", 0, vw<MultiplySignedDwords>()});
  t.push_back({op0f38(0x29), -1, kPrefix66, "pcmpeqq", "Vx,Wx", 0, vw<Lanewise<uint64_t, CompareEqual>>()});
  t.push_back({op0f38(0x2a), -1, kPrefix66, "movntdqa", "Vx,Mx", 0, vw<LoadAligned>()});
  t.push_back({op0f38(0x2b), -1, kPrefix66, "packusdw", "Vx,Wx", 0, vw<PackUnsignedDwords>()});
  t.push_back({op0f38(0x37), -1, kPrefix66, "pcmpgtq", "Vx,Wx", 0, vw<Lanewise<int64_t, CompareGreater>>()});
  t.push_back({op0f38(0x38), -1, kPrefix66, "pminsb", "Vx,Wx", 0, vw<Lanewise<int8_t, Min>>()});
  t.push_back({op0f38(0x39), -1, kPrefix66, "pminsd", "Vx,Wx", 0, vw<Lanewise<int32_t, Min>>()});
  t.push_back({op0f38(0x3a), -1, kPrefix66, "pminuw", "Vx,Wx", 0, vw<Lanewise<uint16_t, Min>>()});
  t.push_back({op0f38(0x3b), -1, kPrefix66, "pminud", "Vx,Wx", 0, vw<Lanewise<uint32_t, Min>>()});
  t.push_back({op0f38(0x3c), -1, kPrefix66, "pmaxsb", "Vx,Wx", 0, vw<Lanewise<int8_t, Max>>()});
  t.push_back({op0f38(0x3d), -1, kPrefix66, "pmaxsd", "Vx,Wx", 0, vw<Lanewise<int32_t, Max>>()});
  t.push_back({op0f38(0x3e), -1, kPrefix66, "pmaxuw", "Vx,Wx", 0, vw<Lanewise<uint16_t, Max>>()});
  t.push_back({op0f38(0x3f), -1, kPrefix66, "pmaxud", "Vx,Wx", 0, vw<Lanewise<uint32_t, Max>>()});
  t.push_back({op0f38(0x40), -1, kPrefix66, "pmulld", "Vx,Wx", 0, vw<Lanewise<uint32_t, MultiplyLow32>>()});
  t.push_back({op0f38(0x41), -1, kPrefix66, "phminposuw", "Vx,Wx", 0, vw<MinimumPosition>()});

  t.push_back({op0f3a(0x0c), -1, kPrefix66, "blendps", "Vps,Wps,Ib", 0, vw<BlendImmediate<uint32_t>>()});
  t.push_back({op0f3a(0x0d), -1, kPrefix66, "blendpd", "Vpd,Wpd,Ib", 0, vw<BlendImmediate<uint64_t>>()});
  t.push_back({op0f3a(0x0e), -1, kPrefix66, "pblendw", "Vx,Wx,Ib", 0, vw<BlendImmediate<uint16_t>>()});
  // Register forms write a whole general register (r32, or r64 in 64-bit
  // mode, zero-extended); memory forms store the lane's size (Rd/Mb, Rd/Mw).
  t.push_back({op0f3a(0x14), -1, kPrefix66, "pextrb", "Ed,Vx,Ib", 0, vector_handlers<Extract<uint8_t, uint32_t>>()});
  t.push_back({op0f3a(0x15), -1, kPrefix66, "pextrw", "Ed,Vx,Ib", 0, vector_handlers<Extract<uint16_t, uint32_t>>()});
  t.push_back({op0f3a(0x16), -1, kPrefix66, "pextrd", "Ey,Vx,Ib", 0,
               dword_or_qword<Extract<uint32_t, uint32_t>, Extract<uint64_t, uint64_t>>()});
  t.push_back({op0f3a(0x17), -1, kPrefix66, "extractps", "Ed,Vx,Ib", 0, vector_handlers<Extract<uint32_t, uint32_t>>()});
  t.push_back({op0f3a(0x20), -1, kPrefix66, "pinsrb", "Vx,Ed,Ib", 0, vector_handlers<Insert<uint8_t>>()});
  t.push_back({op0f3a(0x21), -1, kPrefix66, "insertps", "Vps,Wss,Ib", 0, vector_handlers<InsertPsForm>()});
  t.push_back({op0f3a(0x22), -1, kPrefix66, "pinsrd", "Vx,Ey,Ib", 0, dword_or_qword<Insert<uint32_t>, Insert<uint64_t>>()});
  t.push_back({op0f3a(0x42), -1, kPrefix66, "mpsadbw", "Vx,Wx,Ib", 0, vw<MultipleSad>()});
}

}  // namespace vireo::tcg
