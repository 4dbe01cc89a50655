// MMX state and moves: EMMS, MOVD/MOVQ with MMX registers, MOVNTQ, and the
// SSE2 moves between MMX and XMM registers (MOVQ2DQ, MOVDQ2Q). The MMX
// forms of the integer operations are rows of sse_int.cpp; MASKMOVQ is in
// sse_move.cpp. Intel SDM vol. 1 ch. 9, vol. 2 under each mnemonic.
#include "accel/tcg/exec/families.h"
#include "accel/tcg/exec/simd.h"

namespace vireo::tcg {

namespace {

using namespace simd;

// 0F 77: EMMS marks every x87 register empty so x87 code can follow.
void emms(Cpu& cpu, const Insn& i) {
  check_mmx(cpu);
  empty_mmx_state(cpu);
  next(cpu, i);
}

// 0F 6E: MOVD mm, r/m32 (zero-extended) and MOVQ mm, r/m64 (REX.W).
template <typename T, bool Mem>
struct MovdPE {
  static void run(Cpu& cpu, const Insn& i) {
    check_mmx(cpu);
    T v = read_rm<T, Mem>(cpu, i);
    enter_mmx_state(cpu);
    set_mmx_q(cpu, i.reg, v);
    next(cpu, i);
  }
};
// 0F 7E: MOVD r/m32, mm and MOVQ r/m64, mm.
template <typename T, bool Mem>
struct MovdEP {
  static void run(Cpu& cpu, const Insn& i) {
    check_mmx(cpu);
    write_rm<T, Mem>(cpu, i, static_cast<T>(get_mmx_q(cpu, i.reg)));
    enter_mmx_state(cpu);
    next(cpu, i);
  }
};

// 0F 6F: MOVQ mm, mm/m64.
struct MovqPQ {
  template <bool Mem>
  static void run(Cpu& cpu, const Insn& i) {
    check_mmx(cpu);
    Mmx v = read_q<Mem>(cpu, i);
    enter_mmx_state(cpu);
    set_mmx(cpu, i.reg, v);
    next(cpu, i);
  }
};
// 0F 7F: MOVQ mm/m64, mm; 0F E7: MOVNTQ m64, mm (the same store: caches
// are not modelled).
struct MovqQP {
  template <bool Mem>
  static void run(Cpu& cpu, const Insn& i) {
    check_mmx(cpu);
    Mmx v = get_mmx(cpu, i.reg);
    if constexpr (Mem) cpu.write<uint64_t>(i.seg, effective_address(cpu, i), v.get<uint64_t>(0));
    enter_mmx_state(cpu);
    if constexpr (!Mem) set_mmx(cpu, i.rm, v);
    next(cpu, i);
  }
};

// F3 0F D6: MOVQ2DQ xmm, mm (zero-extended); F2 0F D6: MOVDQ2Q mm, xmm.
void movq2dq(Cpu& cpu, const Insn& i) {
  check_sse_mmx(cpu);
  Xmm v = Xmm::zero();
  v.set<uint64_t>(0, get_mmx_q(cpu, i.rm));
  enter_mmx_state(cpu);
  set_xmm(cpu, i.reg, v);
  next(cpu, i);
}
void movdq2q(Cpu& cpu, const Insn& i) {
  check_sse_mmx(cpu);
  enter_mmx_state(cpu);
  set_mmx_q(cpu, i.reg, get_xmm(cpu, i.rm).get<uint64_t>(0));
  next(cpu, i);
}

}  // namespace

void add_mmx_rows(std::vector<OpcodeRow>& t) {
  t.push_back({op0f(0x77), -1, kNoPrefix, "emms", "", 0, one_handler(&emms)});
  t.push_back({op0f(0x6e), -1, kNoPrefix, "movd", "Pd,Ey", 0, dword_qword_handlers<MovdPE>()});
  t.push_back({op0f(0x7e), -1, kNoPrefix, "movd", "Ey,Pd", 0, dword_qword_handlers<MovdEP>()});
  t.push_back({op0f(0x6f), -1, kNoPrefix, "movq", "Pq,Qq", 0, vector_handlers<MovqPQ>()});
  t.push_back({op0f(0x7f), -1, kNoPrefix, "movq", "Qq,Pq", 0, vector_handlers<MovqQP>()});
  t.push_back({op0f(0xe7), -1, kNoPrefix, "movntq", "Mq,Pq", 0, vector_handlers<MovqQP>()});
  t.push_back({op0f(0xd6), -1, kPrefixF3, "movq2dq", "Vdq,Nq", 0, one_handler(&movq2dq)});
  t.push_back({op0f(0xd6), -1, kPrefixF2, "movdq2q", "Pq,Uq", 0, one_handler(&movdq2q)});
}

}  // namespace vireo::tcg
