// SSE4.1 floating point: DPPS, DPPD, ROUNDPS, ROUNDPD, ROUNDSS, ROUNDSD
// (Intel SDM vol. 2; opcode map table A-5, 66 0F 3A 08-0B and 40-41).
//
// Each runs the host's own instruction under the guest's MXCSR (simd.h),
// which makes the results and the exception flags bit-exact, including the
// order of DPPS's additions and ROUND's precision-suppression bit. The
// imm8 is part of the host instruction, so there is one host function per
// imm8 value: 256 each for DPPS and DPPD, 16 for the ROUNDs (imm8[7:4]
// are ignored by the instruction).
#include <array>
#include <utility>

#include "accel/tcg/exec/families.h"
#include "accel/tcg/exec/simd.h"

namespace vireo::tcg {

namespace {

using namespace simd;

// A host function, wrapped so that std::array does not take the __m128i
// function type (and its vector attribute) as a template argument.
struct HostOp {
  void (*run)(HostXmm& dst, const HostXmm& src);
};

template <uint8_t Imm>
struct WithImmediate {
  static void dpps(HostXmm& a, const HostXmm& b) { asm volatile("dpps %2, %1, %0" : "+x"(a) : "x"(b), "i"(Imm)); }
  static void dppd(HostXmm& a, const HostXmm& b) { asm volatile("dppd %2, %1, %0" : "+x"(a) : "x"(b), "i"(Imm)); }
  static void roundps(HostXmm& a, const HostXmm& b) { asm volatile("roundps %2, %1, %0" : "+x"(a) : "x"(b), "i"(Imm)); }
  static void roundpd(HostXmm& a, const HostXmm& b) { asm volatile("roundpd %2, %1, %0" : "+x"(a) : "x"(b), "i"(Imm)); }
  static void roundss(HostXmm& a, const HostXmm& b) { asm volatile("roundss %2, %1, %0" : "+x"(a) : "x"(b), "i"(Imm)); }
  static void roundsd(HostXmm& a, const HostXmm& b) { asm volatile("roundsd %2, %1, %0" : "+x"(a) : "x"(b), "i"(Imm)); }
};

enum class Insn41 { Dpps, Dppd, Roundps, Roundpd, Roundss, Roundsd };

template <Insn41 Which, uint8_t Imm>
constexpr HostOp host_op() {
  using W = WithImmediate<Imm>;
  switch (Which) {
    case Insn41::Dpps: return {&W::dpps};
    case Insn41::Dppd: return {&W::dppd};
    case Insn41::Roundps: return {&W::roundps};
    case Insn41::Roundpd: return {&W::roundpd};
    case Insn41::Roundss: return {&W::roundss};
    case Insn41::Roundsd: return {&W::roundsd};
  }
  return {nullptr};
}

template <Insn41 Which, size_t... Imm>
constexpr std::array<HostOp, sizeof...(Imm)> host_table(std::index_sequence<Imm...>) {
  return {host_op<Which, static_cast<uint8_t>(Imm)>()...};
}

// The host functions for one instruction, indexed by the imm8 bits it uses.
template <Insn41 Which, unsigned Count>
struct HostTable {
  static constexpr std::array<HostOp, Count> kOps = host_table<Which>(std::make_index_sequence<Count>{});
};

// With an exception unmasked, run_simd_op has the host run the
// instruction with the guest's masks, so DPPS's stages (an unmasked
// exception in the multiplies stops before the adds) come out as the
// hardware reports them.
template <Insn41 Which, unsigned Count>
struct HostImmediateOp {
  static Xmm apply(Cpu& cpu, const Xmm& dst, const Xmm& src, uint8_t imm) {
    const HostXmm a = to_host(dst), b = to_host(src);
    const HostOp op = HostTable<Which, Count>::kOps[imm % Count];
    HostXmm r;
    run_simd_op(cpu, [&] {
      r = a;
      op.run(r, b);
    });
    return from_host(r);
  }
};

template <Insn41 Which, unsigned Count, Wkind K>
constexpr HandlerSet host_handlers() {
  return vector_handlers<OpVW<HostImmediateOp<Which, Count>, K>>();
}

}  // namespace

void add_sse41_float_rows(std::vector<OpcodeRow>& t) {
  t.push_back({op0f3a(0x08), -1, kPrefix66, "roundps", "Vps,Wps,Ib", 0, host_handlers<Insn41::Roundps, 16, Wkind::M128>()});
  t.push_back({op0f3a(0x09), -1, kPrefix66, "roundpd", "Vpd,Wpd,Ib", 0, host_handlers<Insn41::Roundpd, 16, Wkind::M128>()});
  t.push_back({op0f3a(0x0a), -1, kPrefix66, "roundss", "Vss,Wss,Ib", 0, host_handlers<Insn41::Roundss, 16, Wkind::M32>()});
  t.push_back({op0f3a(0x0b), -1, kPrefix66, "roundsd", "Vsd,Wsd,Ib", 0, host_handlers<Insn41::Roundsd, 16, Wkind::M64>()});
  t.push_back({op0f3a(0x40), -1, kPrefix66, "dpps", "Vps,Wps,Ib", 0, host_handlers<Insn41::Dpps, 256, Wkind::M128>()});
  t.push_back({op0f3a(0x41), -1, kPrefix66, "dppd", "Vpd,Wpd,Ib", 0, host_handlers<Insn41::Dppd, 256, Wkind::M128>()});
}

}  // namespace vireo::tcg
