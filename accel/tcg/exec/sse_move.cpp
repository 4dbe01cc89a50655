// SSE/SSE2 data movement and state: MOVAPS MOVUPS MOVAPD MOVUPD MOVSS MOVSD
// MOVLPS MOVHPS MOVLPD MOVHPD MOVHLPS MOVLHPS MOVD/MOVQ (XMM forms) MOVDQA
// MOVDQU MOVNTPS MOVNTPD MOVNTDQ MOVNTI MASKMOVQ MASKMOVDQU MOVMSKPS MOVMSKPD,
// LDMXCSR STMXCSR, the fences, CLFLUSH and the prefetch hints.
// Intel SDM vol. 2 under each mnemonic; opcode map vol. 2 table A-3.
#include "accel/tcg/exec/families.h"
#include "accel/tcg/exec/simd.h"

namespace vireo::tcg {

namespace {

using namespace simd;

// What a register-to-register move does to the destination's other bits.
enum class RegForm : uint8_t {
  Whole,      // the whole register is copied (MOVAPS, MOVDQU)
  MergeLow,   // only the low element is replaced (MOVSS/MOVSD xmm, xmm)
  ZeroUpper,  // the low quadword is copied, the rest zeroed (MOVQ xmm, xmm)
};

template <Wkind K>
Xmm move_low(Xmm dst, const Xmm& src) {
  std::memcpy(dst.bytes, src.bytes, wkind_bytes(K));
  return dst;
}

// op Vx,Wx loads. A memory source of less than 16 bytes zero-extends
// (MOVSS/MOVSD/MOVQ from memory clear the upper bits).
template <Wkind K, RegForm R>
struct LoadVW {
  template <bool Mem>
  static void run(Cpu& cpu, const Insn& i) {
    check_sse(cpu);
    Xmm src = read_w<K, Mem>(cpu, i);
    if constexpr (!Mem && R == RegForm::MergeLow) src = move_low<K>(get_xmm(cpu, i.reg), src);
    if constexpr (!Mem && R == RegForm::ZeroUpper) src = move_low<K>(Xmm::zero(), src);
    set_xmm(cpu, i.reg, src);
    next(cpu, i);
  }
};

// op Wx,Vx stores.
template <Wkind K, RegForm R>
struct StoreWV {
  template <bool Mem>
  static void run(Cpu& cpu, const Insn& i) {
    check_sse(cpu);
    Xmm src = get_xmm(cpu, i.reg);
    if constexpr (Mem) {
      write_w_mem<K>(cpu, i, src);
    } else if constexpr (R == RegForm::Whole) {
      set_xmm(cpu, i.rm, src);
    } else if constexpr (R == RegForm::MergeLow) {
      set_xmm(cpu, i.rm, move_low<K>(get_xmm(cpu, i.rm), src));
    } else {
      set_xmm(cpu, i.rm, move_low<K>(Xmm::zero(), src));
    }
    next(cpu, i);
  }
};

// MOVLPS/MOVLPD/MOVHPS/MOVHPD Vq,Mq: quadword `DstHalf` from memory.
// MOVHLPS/MOVLHPS Vq,Uq: quadword `DstHalf` from the source's `SrcHalf`.
template <unsigned DstHalf, unsigned SrcHalf>
struct HalfLoad {
  template <bool Mem>
  static void run(Cpu& cpu, const Insn& i) {
    check_sse(cpu);
    uint64_t q;
    if constexpr (Mem) q = cpu.read<uint64_t>(i.seg, effective_address(cpu, i));
    else q = get_xmm(cpu, i.rm).get<uint64_t>(SrcHalf);
    Xmm d = get_xmm(cpu, i.reg);
    d.set<uint64_t>(DstHalf, q);
    set_xmm(cpu, i.reg, d);
    next(cpu, i);
  }
};
// MOVLPS/MOVLPD/MOVHPS/MOVHPD Mq,Vq.
template <unsigned SrcHalf>
struct HalfStore {
  template <bool>
  static void run(Cpu& cpu, const Insn& i) {
    check_sse(cpu);
    cpu.write<uint64_t>(i.seg, effective_address(cpu, i), get_xmm(cpu, i.reg).get<uint64_t>(SrcHalf));
    next(cpu, i);
  }
};

// 66 0F 6E: MOVD xmm, r/m32 and MOVQ xmm, r/m64 (REX.W): zero-extended.
template <typename T, bool Mem>
struct MovdVE {
  static void run(Cpu& cpu, const Insn& i) {
    check_sse(cpu);
    Xmm v = Xmm::zero();
    v.set<T>(0, read_rm<T, Mem>(cpu, i));
    set_xmm(cpu, i.reg, v);
    next(cpu, i);
  }
};
// 66 0F 7E: MOVD r/m32, xmm and MOVQ r/m64, xmm.
template <typename T, bool Mem>
struct MovdEV {
  static void run(Cpu& cpu, const Insn& i) {
    check_sse(cpu);
    write_rm<T, Mem>(cpu, i, get_xmm(cpu, i.reg).get<T>(0));
    next(cpu, i);
  }
};

// 0F C3: MOVNTI m32/m64, r. A general-register store: no SSE state, so
// none of the CR0/CR4 checks (SDM "MOVNTI", exceptions).
template <typename T, bool>
struct Movnti {
  static void run(Cpu& cpu, const Insn& i) {
    cpu.write<T>(i.seg, effective_address(cpu, i), cpu.get<T>(i.reg));
    next(cpu, i);
  }
};

// MOVMSKPS/MOVMSKPD Gd,U: the sign bits of the elements.
template <typename T>
void movmsk(Cpu& cpu, const Insn& i) {
  check_sse(cpu);
  Xmm v = get_xmm(cpu, i.rm);
  uint32_t mask = 0;
  for (unsigned n = 0; n < Xmm::lanes<T>(); ++n) mask |= static_cast<uint32_t>(v.get<T>(n) >> (bits_of<T>() - 1)) << n;
  cpu.set<uint32_t>(i.reg, mask);  // zero-extends into a 64-bit register
  next(cpu, i);
}

// MASKMOVQ mm, mm / MASKMOVDQU xmm, xmm: stores the bytes of the first
// operand whose mask byte (second operand) has its top bit set, to DS:rDI
// (segment overridable). Every selected byte is checked before any is
// written, so a fault leaves memory unchanged; MASKMOVQ has made the x87 ->
// MMX transition by then (observed on the host: after a #PF from MASKMOVQ,
// TOP is 0 and every tag valid, unlike a faulting MOVQ store).
template <typename Regs>
void maskmov(Cpu& cpu, const Insn& i) {
  Regs::check(cpu);
  Regs::commit(cpu);
  typename Regs::V data = Regs::reg(cpu, i.reg), mask = Regs::reg(cpu, i.rm);
  uint64_t base = wrap_address(cpu.gpr[kRdi], i.addr_bits);
  uint64_t lin[Regs::V::kBytes];
  for (unsigned n = 0; n < Regs::V::kBytes; ++n) {
    if (!(mask.bytes[n] & 0x80)) continue;
    lin[n] = cpu.linear(i.seg, wrap_address(base + n, i.addr_bits), 1, Access::Write);
    cpu.translate(lin[n], Access::Write, cpu.cpl == 3);
  }
  for (unsigned n = 0; n < Regs::V::kBytes; ++n) {
    if (mask.bytes[n] & 0x80) cpu.write_linear<uint8_t>(lin[n], data.bytes[n]);
  }
  next(cpu, i);
}

// LDMXCSR/STMXCSR m32 (0F AE /2, /3).
void ldmxcsr(Cpu& cpu, const Insn& i) {
  check_sse(cpu);
  uint32_t value = cpu.read<uint32_t>(i.seg, effective_address(cpu, i));
  if (value & ~kMxcsrWritable) raise_gp(0);
  cpu.fpu.mxcsr = value;
  next(cpu, i);
}
void stmxcsr(Cpu& cpu, const Insn& i) {
  check_sse(cpu);
  cpu.write<uint32_t>(i.seg, effective_address(cpu, i), cpu.fpu.mxcsr);
  next(cpu, i);
}

// The fences order this vCPU's guest memory accesses against other vCPUs'
// threads: the host's own fence is exactly that ordering.
void lfence(Cpu& cpu, const Insn& i) {
  asm volatile("lfence" ::: "memory");
  next(cpu, i);
}
void sfence(Cpu& cpu, const Insn& i) {
  asm volatile("sfence" ::: "memory");
  next(cpu, i);
}
void mfence(Cpu& cpu, const Insn& i) {
  asm volatile("mfence" ::: "memory");
  next(cpu, i);
}

// CLFLUSH m8: caches are not modelled, but the access is checked like a
// byte read: segment checks and a page walk that may raise #PF (SDM
// "CLFLUSH": "treated as a byte load" for permission checking).
void clflush(Cpu& cpu, const Insn& i) {
  uint64_t lin = cpu.linear(i.seg, effective_address(cpu, i), 1, Access::Read);
  cpu.translate(lin, Access::Read, cpu.cpl == 3);
  next(cpu, i);
}

// PREFETCHh and the reserved hint NOPs of 0F 18: no architectural effect,
// and prefetches never fault.
void hint_nop(Cpu& cpu, const Insn& i) { next(cpu, i); }

void add_load_store(std::vector<OpcodeRow>& t, uint8_t load, uint8_t store, uint8_t prefix,
                    const char* name, const char* vw, const char* wv, HandlerSet load_handlers,
                    HandlerSet store_handlers) {
  t.push_back({op0f(load), -1, prefix, name, vw, 0, load_handlers});
  t.push_back({op0f(store), -1, prefix, name, wv, 0, store_handlers});
}

}  // namespace

void add_sse_move_rows(std::vector<OpcodeRow>& t) {
  using W = Wkind;
  using R = RegForm;
  // 0F 10/11: MOVUPS MOVUPD MOVSS MOVSD.
  add_load_store(t, 0x10, 0x11, kNoPrefix, "movups", "Vps,Wps", "Wps,Vps",
                 vector_handlers<LoadVW<W::M128U, R::Whole>>(), vector_handlers<StoreWV<W::M128U, R::Whole>>());
  add_load_store(t, 0x10, 0x11, kPrefix66, "movupd", "Vpd,Wpd", "Wpd,Vpd",
                 vector_handlers<LoadVW<W::M128U, R::Whole>>(), vector_handlers<StoreWV<W::M128U, R::Whole>>());
  add_load_store(t, 0x10, 0x11, kPrefixF3, "movss", "Vss,Wss", "Wss,Vss",
                 vector_handlers<LoadVW<W::M32, R::MergeLow>>(), vector_handlers<StoreWV<W::M32, R::MergeLow>>());
  add_load_store(t, 0x10, 0x11, kPrefixF2, "movsd", "Vsd,Wsd", "Wsd,Vsd",
                 vector_handlers<LoadVW<W::M64, R::MergeLow>>(), vector_handlers<StoreWV<W::M64, R::MergeLow>>());
  // 0F 12/13, 16/17: low and high quadwords.
  t.push_back({op0f(0x12), -1, kNoPrefix, "movlps", "Vq,Mq", 0, vector_handlers<HalfLoad<0, 0>>()});
  t.push_back({op0f(0x12), -1, kNoPrefix, "movhlps", "Vq,Uq", 0, vector_handlers<HalfLoad<0, 1>>()});
  t.push_back({op0f(0x12), -1, kPrefix66, "movlpd", "Vq,Mq", 0, vector_handlers<HalfLoad<0, 0>>()});
  t.push_back({op0f(0x13), -1, kNoPrefix, "movlps", "Mq,Vq", 0, vector_handlers<HalfStore<0>>()});
  t.push_back({op0f(0x13), -1, kPrefix66, "movlpd", "Mq,Vq", 0, vector_handlers<HalfStore<0>>()});
  t.push_back({op0f(0x16), -1, kNoPrefix, "movhps", "Vq,Mq", 0, vector_handlers<HalfLoad<1, 0>>()});
  t.push_back({op0f(0x16), -1, kNoPrefix, "movlhps", "Vq,Uq", 0, vector_handlers<HalfLoad<1, 0>>()});
  t.push_back({op0f(0x16), -1, kPrefix66, "movhpd", "Vq,Mq", 0, vector_handlers<HalfLoad<1, 0>>()});
  t.push_back({op0f(0x17), -1, kNoPrefix, "movhps", "Mq,Vq", 0, vector_handlers<HalfStore<1>>()});
  t.push_back({op0f(0x17), -1, kPrefix66, "movhpd", "Mq,Vq", 0, vector_handlers<HalfStore<1>>()});
  // 0F 28/29: MOVAPS MOVAPD; 0F 2B: MOVNTPS MOVNTPD (aligned stores).
  add_load_store(t, 0x28, 0x29, kNoPrefix, "movaps", "Vps,Wps", "Wps,Vps",
                 vector_handlers<LoadVW<W::M128, R::Whole>>(), vector_handlers<StoreWV<W::M128, R::Whole>>());
  add_load_store(t, 0x28, 0x29, kPrefix66, "movapd", "Vpd,Wpd", "Wpd,Vpd",
                 vector_handlers<LoadVW<W::M128, R::Whole>>(), vector_handlers<StoreWV<W::M128, R::Whole>>());
  t.push_back({op0f(0x2b), -1, kNoPrefix, "movntps", "Mps,Vps", 0, vector_handlers<StoreWV<W::M128, R::Whole>>()});
  t.push_back({op0f(0x2b), -1, kPrefix66, "movntpd", "Mpd,Vpd", 0, vector_handlers<StoreWV<W::M128, R::Whole>>()});
  // 0F 6F/7F: MOVDQA MOVDQU (the no-prefix forms are MMX MOVQ, mmx.cpp).
  add_load_store(t, 0x6f, 0x7f, kPrefix66, "movdqa", "Vx,Wx", "Wx,Vx",
                 vector_handlers<LoadVW<W::M128, R::Whole>>(), vector_handlers<StoreWV<W::M128, R::Whole>>());
  add_load_store(t, 0x6f, 0x7f, kPrefixF3, "movdqu", "Vx,Wx", "Wx,Vx",
                 vector_handlers<LoadVW<W::M128U, R::Whole>>(), vector_handlers<StoreWV<W::M128U, R::Whole>>());
  t.push_back({op0f(0xe7), -1, kPrefix66, "movntdq", "Mx,Vx", 0, vector_handlers<StoreWV<W::M128, R::Whole>>()});
  // MOVD/MOVQ between XMM and general registers or memory.
  t.push_back({op0f(0x6e), -1, kPrefix66, "movd", "Vy,Ey", 0, dword_qword_handlers<MovdVE>()});
  t.push_back({op0f(0x7e), -1, kPrefix66, "movd", "Ey,Vy", 0, dword_qword_handlers<MovdEV>()});
  t.push_back({op0f(0x7e), -1, kPrefixF3, "movq", "Vq,Wq", 0, vector_handlers<LoadVW<W::M64, R::ZeroUpper>>()});
  t.push_back({op0f(0xd6), -1, kPrefix66, "movq", "Wq,Vq", 0, vector_handlers<StoreWV<W::M64, R::ZeroUpper>>()});
  t.push_back({op0f(0xc3), -1, kNoPrefix, "movnti", "My,Gy", 0, dword_qword_handlers<Movnti>()});
  t.push_back({op0f(0xf7), -1, kNoPrefix, "maskmovq", "Pq,Nq", 0, one_handler(&maskmov<MmxRegs>)});
  t.push_back({op0f(0xf7), -1, kPrefix66, "maskmovdqu", "Vdq,Udq", 0, one_handler(&maskmov<XmmRegs>)});
  // Sign masks.
  t.push_back({op0f(0x50), -1, kNoPrefix, "movmskps", "Gd,Ups", 0, one_handler(&movmsk<uint32_t>)});
  t.push_back({op0f(0x50), -1, kPrefix66, "movmskpd", "Gd,Upd", 0, one_handler(&movmsk<uint64_t>)});
  // 0F AE: MXCSR, fences, CLFLUSH. The fences are any mod = 3 encoding of
  // /5../7 (LFENCE is documented as E8 but E9-EF behave the same).
  t.push_back({op0f(0xae), 2, kNoPrefix, "ldmxcsr", "Md", 0, one_handler(&ldmxcsr)});
  t.push_back({op0f(0xae), 3, kNoPrefix, "stmxcsr", "Md", 0, one_handler(&stmxcsr)});
  t.push_back({op0f(0xae), 7, kNoPrefix, "clflush", "Mb", 0, one_handler(&clflush)});
  for (int8_t rm = 0; rm < 8; ++rm) {
    t.push_back({op0f(0xae), 5, kNoPrefix, "lfence", "", 0, one_handler(&lfence), rm});
    t.push_back({op0f(0xae), 6, kNoPrefix, "mfence", "", 0, one_handler(&mfence), rm});
    t.push_back({op0f(0xae), 7, kNoPrefix, "sfence", "", 0, one_handler(&sfence), rm});
  }
  // 0F 18: PREFETCHNTA/T0/T1/T2 (/0../3, memory); the other encodings are
  // reserved hint NOPs.
  static constexpr const char* kPrefetch[4] = {"prefetchnta", "prefetcht0", "prefetcht1", "prefetcht2"};
  for (int8_t ext = 0; ext < 4; ++ext) {
    t.push_back({op0f(0x18), ext, kAnyPrefix, kPrefetch[ext], "Mb", 0, one_handler(&hint_nop)});
  }
  t.push_back({op0f(0x18), -1, kAnyPrefix, "nop", "Ev", 0, one_handler(&hint_nop)});
}

}  // namespace vireo::tcg
