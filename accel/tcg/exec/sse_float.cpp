// SSE/SSE2 floating point: ADD SUB MUL DIV MIN MAX SQRT (ps pd ss sd),
// RCPPS RCPSS RSQRTPS RSQRTSS, CMPPS CMPPD CMPSS CMPSD, COMISS UCOMISS
// COMISD UCOMISD, and every CVT between int32, int64, float, double and
// MMX registers. Intel SDM vol. 2 under each mnemonic, vol. 1 §11.5 for
// the exceptions.
//
// Every operation runs the host's own instruction on the guest's values
// under the guest's MXCSR (simd.h: run_simd_op), so results, NaN payloads,
// the RCP/RSQRT approximations and the exception flags are the hardware's.
#include <array>
#include <utility>

#include "accel/tcg/exec/families.h"
#include "accel/tcg/exec/simd.h"

namespace vireo::tcg {

namespace {

using namespace simd;

// Host instructions, one per guest instruction: `d` is the destination
// (and first source), `s` the second source, AT&T operand order.
struct Addps { static void run(HostXmm& d, HostXmm s) { asm volatile("addps %1, %0" : "+x"(d) : "x"(s)); } };
struct Addpd { static void run(HostXmm& d, HostXmm s) { asm volatile("addpd %1, %0" : "+x"(d) : "x"(s)); } };
struct Addss { static void run(HostXmm& d, HostXmm s) { asm volatile("addss %1, %0" : "+x"(d) : "x"(s)); } };
struct Addsd { static void run(HostXmm& d, HostXmm s) { asm volatile("addsd %1, %0" : "+x"(d) : "x"(s)); } };
struct Subps { static void run(HostXmm& d, HostXmm s) { asm volatile("subps %1, %0" : "+x"(d) : "x"(s)); } };
struct Subpd { static void run(HostXmm& d, HostXmm s) { asm volatile("subpd %1, %0" : "+x"(d) : "x"(s)); } };
struct Subss { static void run(HostXmm& d, HostXmm s) { asm volatile("subss %1, %0" : "+x"(d) : "x"(s)); } };
struct Subsd { static void run(HostXmm& d, HostXmm s) { asm volatile("subsd %1, %0" : "+x"(d) : "x"(s)); } };
struct Mulps { static void run(HostXmm& d, HostXmm s) { asm volatile("mulps %1, %0" : "+x"(d) : "x"(s)); } };
struct Mulpd { static void run(HostXmm& d, HostXmm s) { asm volatile("mulpd %1, %0" : "+x"(d) : "x"(s)); } };
struct Mulss { static void run(HostXmm& d, HostXmm s) { asm volatile("mulss %1, %0" : "+x"(d) : "x"(s)); } };
struct Mulsd { static void run(HostXmm& d, HostXmm s) { asm volatile("mulsd %1, %0" : "+x"(d) : "x"(s)); } };
struct Divps { static void run(HostXmm& d, HostXmm s) { asm volatile("divps %1, %0" : "+x"(d) : "x"(s)); } };
struct Divpd { static void run(HostXmm& d, HostXmm s) { asm volatile("divpd %1, %0" : "+x"(d) : "x"(s)); } };
struct Divss { static void run(HostXmm& d, HostXmm s) { asm volatile("divss %1, %0" : "+x"(d) : "x"(s)); } };
struct Divsd { static void run(HostXmm& d, HostXmm s) { asm volatile("divsd %1, %0" : "+x"(d) : "x"(s)); } };
struct Minps { static void run(HostXmm& d, HostXmm s) { asm volatile("minps %1, %0" : "+x"(d) : "x"(s)); } };
struct Minpd { static void run(HostXmm& d, HostXmm s) { asm volatile("minpd %1, %0" : "+x"(d) : "x"(s)); } };
struct Minss { static void run(HostXmm& d, HostXmm s) { asm volatile("minss %1, %0" : "+x"(d) : "x"(s)); } };
struct Minsd { static void run(HostXmm& d, HostXmm s) { asm volatile("minsd %1, %0" : "+x"(d) : "x"(s)); } };
struct Maxps { static void run(HostXmm& d, HostXmm s) { asm volatile("maxps %1, %0" : "+x"(d) : "x"(s)); } };
struct Maxpd { static void run(HostXmm& d, HostXmm s) { asm volatile("maxpd %1, %0" : "+x"(d) : "x"(s)); } };
struct Maxss { static void run(HostXmm& d, HostXmm s) { asm volatile("maxss %1, %0" : "+x"(d) : "x"(s)); } };
struct Maxsd { static void run(HostXmm& d, HostXmm s) { asm volatile("maxsd %1, %0" : "+x"(d) : "x"(s)); } };
struct Sqrtps { static void run(HostXmm& d, HostXmm s) { asm volatile("sqrtps %1, %0" : "+x"(d) : "x"(s)); } };
struct Sqrtpd { static void run(HostXmm& d, HostXmm s) { asm volatile("sqrtpd %1, %0" : "+x"(d) : "x"(s)); } };
struct Sqrtss { static void run(HostXmm& d, HostXmm s) { asm volatile("sqrtss %1, %0" : "+x"(d) : "x"(s)); } };
struct Sqrtsd { static void run(HostXmm& d, HostXmm s) { asm volatile("sqrtsd %1, %0" : "+x"(d) : "x"(s)); } };
struct Rcpps { static void run(HostXmm& d, HostXmm s) { asm volatile("rcpps %1, %0" : "+x"(d) : "x"(s)); } };
struct Rcpss { static void run(HostXmm& d, HostXmm s) { asm volatile("rcpss %1, %0" : "+x"(d) : "x"(s)); } };
struct Rsqrtps { static void run(HostXmm& d, HostXmm s) { asm volatile("rsqrtps %1, %0" : "+x"(d) : "x"(s)); } };
struct Rsqrtss { static void run(HostXmm& d, HostXmm s) { asm volatile("rsqrtss %1, %0" : "+x"(d) : "x"(s)); } };
struct Cvtps2pd { static void run(HostXmm& d, HostXmm s) { asm volatile("cvtps2pd %1, %0" : "+x"(d) : "x"(s)); } };
struct Cvtpd2ps { static void run(HostXmm& d, HostXmm s) { asm volatile("cvtpd2ps %1, %0" : "+x"(d) : "x"(s)); } };
struct Cvtss2sd { static void run(HostXmm& d, HostXmm s) { asm volatile("cvtss2sd %1, %0" : "+x"(d) : "x"(s)); } };
struct Cvtsd2ss { static void run(HostXmm& d, HostXmm s) { asm volatile("cvtsd2ss %1, %0" : "+x"(d) : "x"(s)); } };
struct Cvtdq2ps { static void run(HostXmm& d, HostXmm s) { asm volatile("cvtdq2ps %1, %0" : "+x"(d) : "x"(s)); } };
struct Cvtps2dq { static void run(HostXmm& d, HostXmm s) { asm volatile("cvtps2dq %1, %0" : "+x"(d) : "x"(s)); } };
struct Cvttps2dq { static void run(HostXmm& d, HostXmm s) { asm volatile("cvttps2dq %1, %0" : "+x"(d) : "x"(s)); } };
struct Cvtdq2pd { static void run(HostXmm& d, HostXmm s) { asm volatile("cvtdq2pd %1, %0" : "+x"(d) : "x"(s)); } };
struct Cvtpd2dq { static void run(HostXmm& d, HostXmm s) { asm volatile("cvtpd2dq %1, %0" : "+x"(d) : "x"(s)); } };
struct Cvttpd2dq { static void run(HostXmm& d, HostXmm s) { asm volatile("cvttpd2dq %1, %0" : "+x"(d) : "x"(s)); } };

// CMPPS/CMPPD/CMPSS/CMPSD with predicate P. Legacy encodings use only
// imm8[2:0] (the host agrees: imm 8 behaves as 0, with NaNs too).
template <int P> struct Cmpps { static void run(HostXmm& d, HostXmm s) { asm volatile("cmpps %2, %1, %0" : "+x"(d) : "x"(s), "i"(P)); } };
template <int P> struct Cmppd { static void run(HostXmm& d, HostXmm s) { asm volatile("cmppd %2, %1, %0" : "+x"(d) : "x"(s), "i"(P)); } };
template <int P> struct Cmpss { static void run(HostXmm& d, HostXmm s) { asm volatile("cmpss %2, %1, %0" : "+x"(d) : "x"(s), "i"(P)); } };
template <int P> struct Cmpsd { static void run(HostXmm& d, HostXmm s) { asm volatile("cmpsd %2, %1, %0" : "+x"(d) : "x"(s), "i"(P)); } };

// COMISS and friends: ZF, PF, CF from the host's EFLAGS.
struct EflagsResult { bool zf, pf, cf; };
struct Comiss {
  static EflagsResult run(HostXmm a, HostXmm b) {
    EflagsResult r;
    asm volatile("comiss %4, %3" : "=@ccz"(r.zf), "=@ccp"(r.pf), "=@ccc"(r.cf) : "x"(a), "x"(b));
    return r;
  }
};
struct Ucomiss {
  static EflagsResult run(HostXmm a, HostXmm b) {
    EflagsResult r;
    asm volatile("ucomiss %4, %3" : "=@ccz"(r.zf), "=@ccp"(r.pf), "=@ccc"(r.cf) : "x"(a), "x"(b));
    return r;
  }
};
struct Comisd {
  static EflagsResult run(HostXmm a, HostXmm b) {
    EflagsResult r;
    asm volatile("comisd %4, %3" : "=@ccz"(r.zf), "=@ccp"(r.pf), "=@ccc"(r.cf) : "x"(a), "x"(b));
    return r;
  }
};
struct Ucomisd {
  static EflagsResult run(HostXmm a, HostXmm b) {
    EflagsResult r;
    asm volatile("ucomisd %4, %3" : "=@ccz"(r.zf), "=@ccp"(r.pf), "=@ccc"(r.cf) : "x"(a), "x"(b));
    return r;
  }
};

// CVTSI2SS/SD from a 32- or 64-bit integer; CVT(T)SS2SI/SD2SI to one.
// The operand type picks the l/q form of the host instruction.
struct Cvtsi2ss { template <typename T> static void run(HostXmm& d, T v) { asm volatile("cvtsi2ss%z1 %1, %0" : "+x"(d) : "r"(v)); } };
struct Cvtsi2sd { template <typename T> static void run(HostXmm& d, T v) { asm volatile("cvtsi2sd%z1 %1, %0" : "+x"(d) : "r"(v)); } };
struct Cvtss2si { template <typename T> static void run(T& r, HostXmm s) { asm volatile("cvtss2si %1, %0" : "=r"(r) : "x"(s)); } };
struct Cvttss2si { template <typename T> static void run(T& r, HostXmm s) { asm volatile("cvttss2si %1, %0" : "=r"(r) : "x"(s)); } };
struct Cvtsd2si { template <typename T> static void run(T& r, HostXmm s) { asm volatile("cvtsd2si %1, %0" : "=r"(r) : "x"(s)); } };
struct Cvttsd2si { template <typename T> static void run(T& r, HostXmm s) { asm volatile("cvttsd2si %1, %0" : "=r"(r) : "x"(s)); } };

// Runs host op H on (d, s) under the guest's MXCSR and signals what it raised.
template <typename H>
struct OnHost {
  static Xmm apply(Cpu& cpu, const Xmm& d, const Xmm& s, uint8_t) {
    const HostXmm hd = to_host(d), hs = to_host(s);
    HostXmm out;
    run_simd_op(cpu, [&] {
      out = hd;
      H::run(out, hs);
    });
    return from_host(out);
  }
};
// The same for the compare family: the predicate comes from imm8.
template <template <int> class H>
struct OnHostPredicate {
  using Fn = void (*)(HostXmm&, HostXmm);
  template <size_t... P>
  static constexpr std::array<Fn, 8> table(std::index_sequence<P...>) {
    return {&H<static_cast<int>(P)>::run...};
  }
  static Xmm apply(Cpu& cpu, const Xmm& d, const Xmm& s, uint8_t imm) {
    static constexpr std::array<Fn, 8> kByPredicate = table(std::make_index_sequence<8>{});
    const HostXmm hd = to_host(d), hs = to_host(s);
    HostXmm out;
    run_simd_op(cpu, [&] {
      out = hd;
      kByPredicate[imm & 7](out, hs);
    });
    return from_host(out);
  }
};

// (U)COMISS/(U)COMISD Vss,Wss: ZF PF CF from the comparison, OF SF AF cleared.
template <typename H, Wkind K>
struct CompareFlags {
  template <bool Mem>
  static void run(Cpu& cpu, const Insn& i) {
    check_sse(cpu);
    HostXmm b = to_host(read_w<K, Mem>(cpu, i)), a = to_host(get_xmm(cpu, i.reg));
    EflagsResult r{};
    run_simd_op(cpu, [&] { r = H::run(a, b); });
    cpu.set_arithmetic_flags(kArithmeticFlags, (r.zf ? kZf : 0) | (r.pf ? kPf : 0) | (r.cf ? kCf : 0));
    next(cpu, i);
  }
};

// CVTSI2SS/CVTSI2SD Vss,Ey: the low element from a general register or
// memory; the rest of the destination is kept.
template <typename H>
struct CvtFromInt {
  template <typename T, bool Mem>
  struct Form {
    static void run(Cpu& cpu, const Insn& i) {
      check_sse(cpu);
      T v = read_rm<T, Mem>(cpu, i);
      const HostXmm d = to_host(get_xmm(cpu, i.reg));
      HostXmm out;
      run_simd_op(cpu, [&] {
        out = d;
        H::run(out, v);
      });
      set_xmm(cpu, i.reg, from_host(out));
      next(cpu, i);
    }
  };
};
// CVT(T)SS2SI/CVT(T)SD2SI Gy,Wss: to a 32- or 64-bit general register.
template <typename H, Wkind K>
struct CvtToInt {
  template <typename T, bool Mem>
  struct Form {
    static void run(Cpu& cpu, const Insn& i) {
      check_sse(cpu);
      HostXmm s = to_host(read_w<K, Mem>(cpu, i));
      T r = 0;
      run_simd_op(cpu, [&] { H::run(r, s); });
      cpu.set<T>(i.reg, r);
      next(cpu, i);
    }
  };
};

// CVTPI2PS Vps,Qq / CVTPI2PD Vpd,Qq: two int32 from an MMX register or m64,
// done as CVTDQ2PS/CVTDQ2PD of {src, 0} (zeros convert exactly, raising
// nothing). CVTPI2PS keeps the destination's high quadword. An MMX
// register source makes the x87 -> MMX transition; memory does not.
// Observed on the host: the transition happens once the operands are read,
// so a #PF/#GP on the memory operand leaves the x87 state alone but a #XM
// does not.
template <typename H, bool KeepHigh>
struct CvtFromMmx {
  template <bool Mem>
  static void run(Cpu& cpu, const Insn& i) {
    check_sse_mmx(cpu);
    Xmm src = Xmm::zero();
    src.set<uint64_t>(0, read_q<Mem>(cpu, i).template get<uint64_t>(0));
    const HostXmm s = to_host(src);
    HostXmm r;
    if constexpr (!Mem) enter_mmx_state(cpu);  // before a #XM, as the host does
    run_simd_op(cpu, [&] {
      r = to_host(Xmm::zero());
      H::run(r, s);
    });
    Xmm result = from_host(r);
    if constexpr (KeepHigh) result.set<uint64_t>(1, get_xmm(cpu, i.reg).get<uint64_t>(1));
    set_xmm(cpu, i.reg, result);
    next(cpu, i);
  }
};
// CVT(T)PS2PI Pq,Wq / CVT(T)PD2PI Pq,Wpd: to two int32 in an MMX register,
// done as the packed-dword conversion of the source with its unused
// elements zeroed.
template <typename H, Wkind K>
struct CvtToMmx {
  template <bool Mem>
  static void run(Cpu& cpu, const Insn& i) {
    check_sse_mmx(cpu);
    Xmm src = read_w<K, Mem>(cpu, i);
    if constexpr (K == Wkind::M64) src.set<uint64_t>(1, 0);
    const HostXmm s = to_host(src);
    HostXmm r;
    enter_mmx_state(cpu);  // before a #XM, as the host does
    run_simd_op(cpu, [&] {
      r = to_host(Xmm::zero());
      H::run(r, s);
    });
    set_mmx_q(cpu, i.reg, from_host(r).get<uint64_t>(0));
    next(cpu, i);
  }
};

// The four forms of one arithmetic opcode: ps (no prefix), pd (66),
// ss (F3), sd (F2).
template <typename Ps, typename Pd, typename Ss, typename Sd>
void add_arith(std::vector<OpcodeRow>& t, uint8_t opcode, std::array<const char*, 4> names) {
  t.push_back({op0f(opcode), -1, kNoPrefix, names[0], "Vps,Wps", 0, vector_handlers<OpVW<Ps, Wkind::M128>>()});
  t.push_back({op0f(opcode), -1, kPrefix66, names[1], "Vpd,Wpd", 0, vector_handlers<OpVW<Pd, Wkind::M128>>()});
  t.push_back({op0f(opcode), -1, kPrefixF3, names[2], "Vss,Wss", 0, vector_handlers<OpVW<Ss, Wkind::M32>>()});
  t.push_back({op0f(opcode), -1, kPrefixF2, names[3], "Vsd,Wsd", 0, vector_handlers<OpVW<Sd, Wkind::M64>>()});
}

template <typename H, Wkind K>
constexpr HandlerSet host_vw() {
  return vector_handlers<OpVW<OnHost<H>, K>>();
}

}  // namespace

void add_sse_float_rows(std::vector<OpcodeRow>& t) {
  using W = Wkind;
  add_arith<OnHost<Addps>, OnHost<Addpd>, OnHost<Addss>, OnHost<Addsd>>(t, 0x58, {"addps", "addpd", "addss", "addsd"});
  add_arith<OnHost<Mulps>, OnHost<Mulpd>, OnHost<Mulss>, OnHost<Mulsd>>(t, 0x59, {"mulps", "mulpd", "mulss", "mulsd"});
  add_arith<OnHost<Subps>, OnHost<Subpd>, OnHost<Subss>, OnHost<Subsd>>(t, 0x5c, {"subps", "subpd", "subss", "subsd"});
  add_arith<OnHost<Minps>, OnHost<Minpd>, OnHost<Minss>, OnHost<Minsd>>(t, 0x5d, {"minps", "minpd", "minss", "minsd"});
  add_arith<OnHost<Divps>, OnHost<Divpd>, OnHost<Divss>, OnHost<Divsd>>(t, 0x5e, {"divps", "divpd", "divss", "divsd"});
  add_arith<OnHost<Maxps>, OnHost<Maxpd>, OnHost<Maxss>, OnHost<Maxsd>>(t, 0x5f, {"maxps", "maxpd", "maxss", "maxsd"});
  add_arith<OnHost<Sqrtps>, OnHost<Sqrtpd>, OnHost<Sqrtss>, OnHost<Sqrtsd>>(t, 0x51, {"sqrtps", "sqrtpd", "sqrtss", "sqrtsd"});
  t.push_back({op0f(0x52), -1, kNoPrefix, "rsqrtps", "Vps,Wps", 0, host_vw<Rsqrtps, W::M128>()});
  t.push_back({op0f(0x52), -1, kPrefixF3, "rsqrtss", "Vss,Wss", 0, host_vw<Rsqrtss, W::M32>()});
  t.push_back({op0f(0x53), -1, kNoPrefix, "rcpps", "Vps,Wps", 0, host_vw<Rcpps, W::M128>()});
  t.push_back({op0f(0x53), -1, kPrefixF3, "rcpss", "Vss,Wss", 0, host_vw<Rcpss, W::M32>()});

  // CMPccPS/PD/SS/SD Ib.
  t.push_back({op0f(0xc2), -1, kNoPrefix, "cmpps", "Vps,Wps,Ib", 0, vector_handlers<OpVW<OnHostPredicate<Cmpps>, W::M128>>()});
  t.push_back({op0f(0xc2), -1, kPrefix66, "cmppd", "Vpd,Wpd,Ib", 0, vector_handlers<OpVW<OnHostPredicate<Cmppd>, W::M128>>()});
  t.push_back({op0f(0xc2), -1, kPrefixF3, "cmpss", "Vss,Wss,Ib", 0, vector_handlers<OpVW<OnHostPredicate<Cmpss>, W::M32>>()});
  t.push_back({op0f(0xc2), -1, kPrefixF2, "cmpsd", "Vsd,Wsd,Ib", 0, vector_handlers<OpVW<OnHostPredicate<Cmpsd>, W::M64>>()});
  t.push_back({op0f(0x2e), -1, kNoPrefix, "ucomiss", "Vss,Wss", 0, vector_handlers<CompareFlags<Ucomiss, W::M32>>()});
  t.push_back({op0f(0x2e), -1, kPrefix66, "ucomisd", "Vsd,Wsd", 0, vector_handlers<CompareFlags<Ucomisd, W::M64>>()});
  t.push_back({op0f(0x2f), -1, kNoPrefix, "comiss", "Vss,Wss", 0, vector_handlers<CompareFlags<Comiss, W::M32>>()});
  t.push_back({op0f(0x2f), -1, kPrefix66, "comisd", "Vsd,Wsd", 0, vector_handlers<CompareFlags<Comisd, W::M64>>()});

  // Conversions between floating-point formats and packed int32.
  t.push_back({op0f(0x5a), -1, kNoPrefix, "cvtps2pd", "Vpd,Wq", 0, host_vw<Cvtps2pd, W::M64>()});
  t.push_back({op0f(0x5a), -1, kPrefix66, "cvtpd2ps", "Vps,Wpd", 0, host_vw<Cvtpd2ps, W::M128>()});
  t.push_back({op0f(0x5a), -1, kPrefixF3, "cvtss2sd", "Vsd,Wss", 0, host_vw<Cvtss2sd, W::M32>()});
  t.push_back({op0f(0x5a), -1, kPrefixF2, "cvtsd2ss", "Vss,Wsd", 0, host_vw<Cvtsd2ss, W::M64>()});
  t.push_back({op0f(0x5b), -1, kNoPrefix, "cvtdq2ps", "Vps,Wdq", 0, host_vw<Cvtdq2ps, W::M128>()});
  t.push_back({op0f(0x5b), -1, kPrefix66, "cvtps2dq", "Vdq,Wps", 0, host_vw<Cvtps2dq, W::M128>()});
  t.push_back({op0f(0x5b), -1, kPrefixF3, "cvttps2dq", "Vdq,Wps", 0, host_vw<Cvttps2dq, W::M128>()});
  t.push_back({op0f(0xe6), -1, kPrefix66, "cvttpd2dq", "Vdq,Wpd", 0, host_vw<Cvttpd2dq, W::M128>()});
  t.push_back({op0f(0xe6), -1, kPrefixF2, "cvtpd2dq", "Vdq,Wpd", 0, host_vw<Cvtpd2dq, W::M128>()});
  t.push_back({op0f(0xe6), -1, kPrefixF3, "cvtdq2pd", "Vpd,Wq", 0, host_vw<Cvtdq2pd, W::M64>()});

  // Scalar conversions with general registers (Ey/Gy: 64-bit with REX.W).
  t.push_back({op0f(0x2a), -1, kPrefixF3, "cvtsi2ss", "Vss,Ey", 0, dword_qword_handlers<CvtFromInt<Cvtsi2ss>::Form>()});
  t.push_back({op0f(0x2a), -1, kPrefixF2, "cvtsi2sd", "Vsd,Ey", 0, dword_qword_handlers<CvtFromInt<Cvtsi2sd>::Form>()});
  t.push_back({op0f(0x2c), -1, kPrefixF3, "cvttss2si", "Gy,Wss", 0, dword_qword_handlers<CvtToInt<Cvttss2si, W::M32>::Form>()});
  t.push_back({op0f(0x2c), -1, kPrefixF2, "cvttsd2si", "Gy,Wsd", 0, dword_qword_handlers<CvtToInt<Cvttsd2si, W::M64>::Form>()});
  t.push_back({op0f(0x2d), -1, kPrefixF3, "cvtss2si", "Gy,Wss", 0, dword_qword_handlers<CvtToInt<Cvtss2si, W::M32>::Form>()});
  t.push_back({op0f(0x2d), -1, kPrefixF2, "cvtsd2si", "Gy,Wsd", 0, dword_qword_handlers<CvtToInt<Cvtsd2si, W::M64>::Form>()});

  // Conversions with MMX registers.
  t.push_back({op0f(0x2a), -1, kNoPrefix, "cvtpi2ps", "Vps,Qq", 0, vector_handlers<CvtFromMmx<Cvtdq2ps, true>>()});
  t.push_back({op0f(0x2a), -1, kPrefix66, "cvtpi2pd", "Vpd,Qq", 0, vector_handlers<CvtFromMmx<Cvtdq2pd, false>>()});
  t.push_back({op0f(0x2c), -1, kNoPrefix, "cvttps2pi", "Pq,Wq", 0, vector_handlers<CvtToMmx<Cvttps2dq, W::M64>>()});
  t.push_back({op0f(0x2c), -1, kPrefix66, "cvttpd2pi", "Pq,Wpd", 0, vector_handlers<CvtToMmx<Cvttpd2dq, W::M128>>()});
  t.push_back({op0f(0x2d), -1, kNoPrefix, "cvtps2pi", "Pq,Wq", 0, vector_handlers<CvtToMmx<Cvtps2dq, W::M64>>()});
  t.push_back({op0f(0x2d), -1, kPrefix66, "cvtpd2pi", "Pq,Wpd", 0, vector_handlers<CvtToMmx<Cvtpd2dq, W::M128>>()});
}

}  // namespace vireo::tcg
