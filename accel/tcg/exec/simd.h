// What the MMX and SSE families share: XMM and MMX register access, the
// #UD/#NM/#MF/#XM checks, vector memory operands with their alignment rule,
// running a host SIMD instruction under the guest's MXCSR, and the generic
// handler forms the family files instantiate.
//
// Design
// ------
// Vector instructions are rows of the one decode table like every other
// instruction. The mandatory prefix column selects the form: for 0F 58,
// kNoPrefix is ADDPS, kPrefix66 ADDPD, kPrefixF3 ADDSS, kPrefixF2 ADDSD;
// for the integer opcodes, kNoPrefix is the MMX form (P/Q operands on MM
// registers) and kPrefix66 the SSE2 form (V/W on XMM registers). The
// decoder splits register and memory forms, so a handler is
// `Form<false>::run` or `Form<true>::run` and never looks at ModRM.
//
// No instruction is a case of a switch. A handler is a small generic form
// (OpVW: "op Vx,Wx"; OpPacked: the same for either register file) applied
// to an operation type:
//   * Integer and data-movement operations are software: a functor over
//     the element type (Lanewise<int16_t, AddSaturate>) or over the whole
//     vector (pack, unpack, shuffle). They are templates over the vector
//     width, so one definition serves MMX (8 bytes) and SSE (16 bytes);
//     MmxRegs/XmmRegs say where operands live and which checks apply.
//   * Floating-point operations run the host's own instruction (ADDPS,
//     CVTTSD2SI, RCPPS, ...) on the guest values with the guest's MXCSR
//     (rounding, FTZ, DAZ) loaded and every exception masked, then read
//     back the flags the host raised (run_simd_op). That is bit-exact by
//     construction: NaN propagation and payloads, denormals, the RCP/RSQRT
//     approximations, and which MXCSR flags are set. When the guest has
//     unmasked an exception that occurs, the flags a masked run reports
//     are not the ones the guest would see, so the host runs the
//     instruction once more with the guest's masks and reports the flags
//     its own trap saw (simd_trap.cpp). signal_simd_exceptions then merges
//     the flags and raises #XM (or #UD without CR4.OSXMMEXCPT) when one of
//     them is unmasked, before the destination is written. The host op is
//     one line of inline assembly per instruction (sse_float.cpp); imm8
//     forms instantiate one per predicate.
// Memory operand sizes and the 16-byte alignment rule are a template
// parameter of the form (Wkind), so "ADDPS needs an aligned m128, ADDSS
// reads an unaligned m32" is visible in the row that registers them.
//
// MMX registers are the low 64 bits (the mantissa) of the x87 physical
// registers R0-R7 in FpuState::st (MMi is Ri, not ST(i)). Writing one sets
// the exponent and sign (bits 64-79) to all ones; every MMX instruction
// except EMMS sets TOP to 0 and all tags to valid; EMMS sets TOP to 0 and
// all tags empty (Intel SDM vol. 1 §9.5, table 9-2; observed on the host).
//
// Files: simd.h (this), simd_trap.cpp (flags under unmasked exceptions),
// sse_move.cpp (moves incl. MASKMOVQ/MASKMOVDQU, MOVMSK,
// LDMXCSR/STMXCSR, fences, CLFLUSH, prefetch), sse_float.cpp (float
// arithmetic, compares, COMISS, conversions), sse_int.cpp (integer SIMD on
// MMX and XMM, shuffles, packs), mmx.cpp (MMX-only: EMMS, MOVD/MOVQ mm,
// MOVNTQ, MOVQ2DQ/MOVDQ2Q).
#pragma once

#if !defined(__x86_64__)
#error "the SSE families run host SSE instructions: build on an x86-64 host"
#endif

#include <cstdint>
#include <cstring>
#include <type_traits>

#include "accel/tcg/decoder.h"
#include "accel/tcg/exec/operands.h"

namespace vireo::tcg::simd {

// Control-register bits that gate SIMD instructions (SDM vol. 3 §2.5).
inline constexpr uint64_t kCr0Mp = 1ull << 1;
inline constexpr uint64_t kCr0Em = 1ull << 2;
inline constexpr uint64_t kCr0Ts = 1ull << 3;
inline constexpr uint64_t kCr4Osfxsr = 1ull << 9;
inline constexpr uint64_t kCr4Osxmmexcpt = 1ull << 10;

// MXCSR (SDM vol. 1 §10.2.3).
inline constexpr uint32_t kMxcsrIe = 1u << 0;  // invalid operation
inline constexpr uint32_t kMxcsrDe = 1u << 1;  // denormal operand
inline constexpr uint32_t kMxcsrZe = 1u << 2;  // divide by zero
inline constexpr uint32_t kMxcsrOe = 1u << 3;  // overflow
inline constexpr uint32_t kMxcsrUe = 1u << 4;  // underflow
inline constexpr uint32_t kMxcsrPe = 1u << 5;  // precision
inline constexpr uint32_t kMxcsrFlags = 0x3f;
inline constexpr uint32_t kMxcsrDaz = 1u << 6;
inline constexpr uint32_t kMxcsrMaskShift = 7;  // mask bit = flag bit << 7
inline constexpr uint32_t kMxcsrMasks = 0x3fu << kMxcsrMaskShift;
inline constexpr uint32_t kMxcsrRc = 3u << 13;
inline constexpr uint32_t kMxcsrFz = 1u << 15;
// The MXCSR bits software may set: FXSAVE's MXCSR_MASK. DAZ is supported,
// bits 16-31 are reserved (LDMXCSR/FXRSTOR/XRSTOR raise #GP(0) if set).
// AMD hosts also accept bit 17, MM (misaligned SSE mode, CPUID
// MisAlignSse); vireo does not implement it, as Intel CPUs and QEMU do not.
inline constexpr uint32_t kMxcsrWritable = 0xffff;
// Pre-computation exceptions: when one of them is unmasked, the
// post-computation ones are not looked at (SDM vol. 1 §11.5.1).
inline constexpr uint32_t kMxcsrPreComputation = kMxcsrIe | kMxcsrDe | kMxcsrZe;

// x87 status/tag words as MMX sees them (SDM vol. 1 §8.1.3, §8.1.7).
inline constexpr uint16_t kFswTop = 7u << 11;
inline constexpr uint16_t kFswEs = 1u << 7;  // an unmasked x87 exception is pending
inline constexpr uint16_t kFtwAllValid = 0x0000;
inline constexpr uint16_t kFtwAllEmpty = 0xffff;

// A vector register's value: N bytes, little-endian lanes.
template <unsigned N>
struct Vec {
  alignas(N) uint8_t bytes[N];

  static constexpr unsigned kBytes = N;
  template <typename T>
  static constexpr unsigned lanes() {
    return N / sizeof(T);
  }
  template <typename T>
  T get(unsigned lane) const {
    T v;
    std::memcpy(&v, bytes + lane * sizeof(T), sizeof v);
    return v;
  }
  template <typename T>
  void set(unsigned lane, T v) {
    std::memcpy(bytes + lane * sizeof(T), &v, sizeof v);
  }
  static Vec zero() { return Vec{}; }
  bool operator==(const Vec&) const = default;
};
using Xmm = Vec<16>;
using Mmx = Vec<8>;

// Register access -----------------------------------------------------------

inline Xmm get_xmm(const Cpu& cpu, unsigned reg) {
  Xmm v;
  std::memcpy(v.bytes, cpu.fpu.xmm[reg], 16);
  return v;
}
inline void set_xmm(Cpu& cpu, unsigned reg, const Xmm& v) { std::memcpy(cpu.fpu.xmm[reg], v.bytes, 16); }

// MMX register `reg` (REX bits are ignored: only 8 exist) is the mantissa of
// x87 physical register R[reg]. long double on x86-64 is the 80-bit format
// in 16 bytes: bytes 0-7 mantissa, 8-9 sign and exponent, the rest padding.
inline Mmx get_mmx(const Cpu& cpu, unsigned reg) {
  Mmx v;
  std::memcpy(v.bytes, &cpu.fpu.st[reg & 7], 8);
  return v;
}
inline void set_mmx(Cpu& cpu, unsigned reg, const Mmx& v) {
  auto* p = reinterpret_cast<uint8_t*>(&cpu.fpu.st[reg & 7]);  // the 80-bit layout above
  std::memcpy(p, v.bytes, 8);
  p[8] = 0xff;
  p[9] = 0xff;
}
inline uint64_t get_mmx_q(const Cpu& cpu, unsigned reg) { return get_mmx(cpu, reg).get<uint64_t>(0); }
inline void set_mmx_q(Cpu& cpu, unsigned reg, uint64_t q) {
  Mmx v;
  v.set<uint64_t>(0, q);
  set_mmx(cpu, reg, v);
}

// The x87 -> MMX transition every MMX instruction but EMMS makes, and
// EMMS itself; both leave TOP at 0.
inline void enter_mmx_state(Cpu& cpu) {
  cpu.fpu.fsw = static_cast<uint16_t>(cpu.fpu.fsw & ~kFswTop);
  cpu.fpu.ftw = kFtwAllValid;
}
inline void empty_mmx_state(Cpu& cpu) {
  cpu.fpu.fsw = static_cast<uint16_t>(cpu.fpu.fsw & ~kFswTop);
  cpu.fpu.ftw = kFtwAllEmpty;
}

// Checks ----------------------------------------------------------------------

// SSE/SSE2 instructions (SDM vol. 2 §2.5, exception class "Type 1-5"):
// #UD if CR0.EM or !CR4.OSFXSR, then #NM if CR0.TS.
inline void check_sse(const Cpu& cpu) {
  if ((cpu.cr0 & kCr0Em) || !(cpu.cr4 & kCr4Osfxsr)) raise_ud();
  if (cpu.cr0 & kCr0Ts) raise_fault(kDeviceNotAvailable);
}

// A pending unmasked x87 exception is delivered by the next MMX or x87
// instruction (SDM vol. 1 §8.6). With CR0.NE clear a PC would signal it
// on IRQ 13 through FERR#, which is not modelled: nothing happens then.
inline void check_pending_x87(const Cpu& cpu) {
  if ((cpu.fpu.fsw & kFswEs) && (cpu.cr0 & kCr0Ne)) raise_fault(kFpuError);
}

// MMX instructions (SDM vol. 1 §9.5 table 9-2 / vol. 2 "Type 22"): #UD if
// CR0.EM, #NM if CR0.TS, #MF if an x87 exception is pending.
inline void check_mmx(const Cpu& cpu) {
  if (cpu.cr0 & kCr0Em) raise_ud();
  if (cpu.cr0 & kCr0Ts) raise_fault(kDeviceNotAvailable);
  check_pending_x87(cpu);
}

// SSE instructions with an MMX register operand (CVTPI2PS, MOVQ2DQ, ...):
// the SSE checks and the pending-x87 check.
inline void check_sse_mmx(const Cpu& cpu) {
  check_sse(cpu);
  check_pending_x87(cpu);
}

// Merges the exception flags an operation raised into MXCSR and raises #XM
// (#UD if the OS has not set CR4.OSXMMEXCPT) when one is unmasked. Called
// after computing, before writing the destination: an unmasked exception
// leaves the destination unchanged (SDM vol. 1 §11.5.1). When an unmasked
// pre-computation exception occurs, post-computation conditions are not
// evaluated, so their flags are dropped.
inline void signal_simd_exceptions(Cpu& cpu, uint32_t raised) {
  raised &= kMxcsrFlags;
  if (raised == 0) return;
  uint32_t unmasked = raised & ~(cpu.fpu.mxcsr >> kMxcsrMaskShift);
  if (unmasked & kMxcsrPreComputation) raised &= kMxcsrPreComputation;
  cpu.fpu.mxcsr |= raised;
  if (unmasked) {
    if (cpu.cr4 & kCr4Osxmmexcpt) raise_fault(kSimdError);
    raise_ud();
  }
}

// Memory operands ---------------------------------------------------------------

// What the W/Q operand is in memory: its size and whether it must be
// 16-byte aligned. Legacy SSE instructions with an m128 operand fault on a
// misaligned one (#GP(0)) except the explicitly unaligned ones (MOVUPS,
// MOVDQU, LDDQU, ...); scalar and 64-bit operands have no rule.
enum class Wkind : uint8_t {
  M16,   // 16 bits (PINSRW)
  M32,   // ss, d
  M64,   // sd, q
  M128,  // ps, pd, x: aligned
  M128U, // ps, pd, x: unaligned allowed
};
constexpr unsigned wkind_bytes(Wkind k) {
  return k == Wkind::M16 ? 2 : k == Wkind::M32 ? 4 : k == Wkind::M64 ? 8 : 16;
}

// Linear address of the memory operand, with segment checks and the
// alignment rule. Alignment is a property of the linear address.
inline uint64_t vector_address(Cpu& cpu, const Insn& i, unsigned size, bool aligned, Access access) {
  uint64_t lin = cpu.linear(i.seg, effective_address(cpu, i), size, access);
  if (aligned && (lin & 15)) raise_gp(0);
  return lin;
}

// The W operand as a vector: the XMM register, or `K`'s bytes of memory
// zero-extended to 16.
template <Wkind K, bool Mem>
Xmm read_w(Cpu& cpu, const Insn& i) {
  if constexpr (!Mem) {
    return get_xmm(cpu, i.rm);
  } else {
    constexpr unsigned size = wkind_bytes(K);
    uint64_t lin = vector_address(cpu, i, size, K == Wkind::M128, Access::Read);
    if constexpr (size == 16) {
      return cpu.read_linear<Xmm>(lin);
    } else {
      Xmm v{};
      if constexpr (size == 8) v.set<uint64_t>(0, cpu.read_linear<uint64_t>(lin));
      if constexpr (size == 4) v.set<uint32_t>(0, cpu.read_linear<uint32_t>(lin));
      if constexpr (size == 2) v.set<uint16_t>(0, cpu.read_linear<uint16_t>(lin));
      return v;
    }
  }
}
// Stores the low `K` bytes of v to the memory operand.
template <Wkind K>
void write_w_mem(Cpu& cpu, const Insn& i, const Xmm& v) {
  constexpr unsigned size = wkind_bytes(K);
  uint64_t lin = vector_address(cpu, i, size, K == Wkind::M128, Access::Write);
  if constexpr (size == 16) cpu.write_linear<Xmm>(lin, v);
  if constexpr (size == 8) cpu.write_linear<uint64_t>(lin, v.get<uint64_t>(0));
  if constexpr (size == 4) cpu.write_linear<uint32_t>(lin, v.get<uint32_t>(0));
  if constexpr (size == 2) cpu.write_linear<uint16_t>(lin, v.get<uint16_t>(0));
}

// The Q operand: an MMX register (ModRM.rm, REX.B ignored) or m64.
template <bool Mem>
Mmx read_q(Cpu& cpu, const Insn& i) {
  if constexpr (Mem) {
    Mmx v;
    v.set<uint64_t>(0, cpu.read<uint64_t>(i.seg, effective_address(cpu, i)));
    return v;
  } else {
    return get_mmx(cpu, i.rm);
  }
}

// The register files, for forms shared by MMX (P/Q) and SSE (V/W).
// check() is the instruction's fault check, done first; commit() is the
// state change every instruction of that kind makes, done after the last
// access that can fault.
struct XmmRegs {
  using V = Xmm;
  static void check(const Cpu& cpu) { check_sse(cpu); }
  static void commit(Cpu&) {}
  static V reg(const Cpu& cpu, unsigned r) { return get_xmm(cpu, r); }
  static void set_reg(Cpu& cpu, unsigned r, const V& v) { set_xmm(cpu, r, v); }
  template <bool Mem>
  static V rm(Cpu& cpu, const Insn& i) {
    return read_w<Wkind::M128, Mem>(cpu, i);
  }
};
struct MmxRegs {
  using V = Mmx;
  static void check(const Cpu& cpu) { check_mmx(cpu); }
  static void commit(Cpu& cpu) { enter_mmx_state(cpu); }
  static V reg(const Cpu& cpu, unsigned r) { return get_mmx(cpu, r); }
  static void set_reg(Cpu& cpu, unsigned r, const V& v) { set_mmx(cpu, r, v); }
  template <bool Mem>
  static V rm(Cpu& cpu, const Insn& i) {
    return read_q<Mem>(cpu, i);
  }
};

// Running host instructions ---------------------------------------------------

// The host's register type for one XMM value (what the "x" asm constraint
// takes); like __m128i without its may_alias attribute, which templates drop.
using HostXmm = long long __attribute__((vector_size(16)));
inline HostXmm to_host(const Xmm& v) {
  HostXmm h;
  std::memcpy(&h, v.bytes, 16);
  return h;
}
inline Xmm from_host(const HostXmm& h) {
  Xmm v;
  std::memcpy(v.bytes, &h, 16);
  return v;
}

// Runs `op` (inline assembly of host SSE instructions; every asm statement
// volatile so none moves across the MXCSR switch) with the guest's
// rounding control, FTZ and DAZ, all exceptions masked and no flags set;
// returns the exception flags it raised. The host's MXCSR is restored.
template <typename Op>
uint32_t run_on_host(uint32_t guest_mxcsr, Op&& op) {
  uint32_t host_mxcsr, after;
  uint32_t load = (guest_mxcsr & ~kMxcsrFlags & kMxcsrWritable) | kMxcsrMasks;
  asm volatile("stmxcsr %0" : "=m"(host_mxcsr));
  asm volatile("ldmxcsr %0" : : "m"(load));
  op();
  asm volatile("stmxcsr %0" : "=m"(after));
  asm volatile("ldmxcsr %0" : : "m"(host_mxcsr));
  return after & kMxcsrFlags;
}

// The flags `run(context)` raises with the guest's MXCSR loaded as it is,
// unmasked exceptions included: the host traps and the flags come from the
// trapped state (simd_trap.cpp). Slow (two sigaction calls); for the rare
// case where the guest takes a SIMD exception.
uint32_t flags_with_guest_masks(uint32_t guest_mxcsr, void (*run)(void*), void* context);

// Runs `op` (host SIMD instructions, as for run_on_host; it must be
// repeatable: read its inputs, write its outputs) under the guest's MXCSR
// and applies the outcome to the guest: the flags are merged into MXCSR
// and #XM/#UD raised if an unmasked exception occurs. The flags are the
// hardware's in every case: a masked run gives them whenever no unmasked
// exception occurs; when one does (or when underflow is unmasked and the
// result was tiny but exact, which a masked run does not report but a
// flush-to-zero run does), the host runs `op` again with the guest's
// masks and its own trap reports them.
template <typename Op>
void run_simd_op(Cpu& cpu, Op&& op) {
  const uint32_t mxcsr = cpu.fpu.mxcsr;
  uint32_t raised = run_on_host(mxcsr, op);
  const uint32_t unmasked = ~(mxcsr >> kMxcsrMaskShift) & kMxcsrFlags;
  if (unmasked != 0) [[unlikely]] {
    bool traps = raised & unmasked;
    if (!traps && (unmasked & kMxcsrUe) && !(raised & kMxcsrUe)) {
      traps = run_on_host(mxcsr | kMxcsrFz, op) & kMxcsrUe;
    }
    if (traps) {
      raised = flags_with_guest_masks(
          mxcsr, [](void* context) { (*static_cast<std::remove_reference_t<Op>*>(context))(); }, &op);
      if (raised & unmasked) {
        // The trap's flags are the hardware's: merged as they are. The
        // pre-computation rule of signal_simd_exceptions describes one
        // operation; DPPS/DPPD report a multiply's masked underflow and
        // precision together with the unmasked denormal of the add that
        // follows (observed on the host).
        cpu.fpu.mxcsr |= raised;
        if (cpu.cr4 & kCr4Osxmmexcpt) raise_fault(kSimdError);
        raise_ud();
      }
    }
  }
  signal_simd_exceptions(cpu, raised);
}

// Generic forms ---------------------------------------------------------------

// op Vx,Wx[,Ib] on XMM registers, with the W operand of kind K. Op:
//   static Xmm apply(Cpu& cpu, const Xmm& dst, const Xmm& src, uint8_t imm)
// which may signal MXCSR exceptions (and so fault) before anything is written.
template <typename Op, Wkind K>
struct OpVW {
  template <bool Mem>
  static void run(Cpu& cpu, const Insn& i) {
    check_sse(cpu);
    Xmm src = read_w<K, Mem>(cpu, i);
    Xmm r = Op::apply(cpu, get_xmm(cpu, i.reg), src, static_cast<uint8_t>(i.imm));
    set_xmm(cpu, i.reg, r);
    next(cpu, i);
  }
};

// op Pq,Qq[,Ib] / op Vx,Wx[,Ib] for operations defined on either register
// file (integer SIMD). Op:
//   template <unsigned N> static Vec<N> apply(const Vec<N>& dst, const Vec<N>& src, uint8_t imm)
template <typename Regs, typename Op>
struct OpPacked {
  template <bool Mem>
  static void run(Cpu& cpu, const Insn& i) {
    Regs::check(cpu);
    typename Regs::V src = Regs::template rm<Mem>(cpu, i);
    typename Regs::V r = Op::apply(Regs::reg(cpu, i.reg), src, static_cast<uint8_t>(i.imm));
    Regs::commit(cpu);
    Regs::set_reg(cpu, i.reg, r);
    next(cpu, i);
  }
};

// The HandlerSet of a form with run<false> (register) and run<true> (memory).
template <typename Form>
constexpr HandlerSet vector_handlers() {
  return form_handlers(&Form::template run<false>, &Form::template run<true>);
}

// The HandlerSet of a sized form F<T, Mem> whose size is "y": dword, or
// qword with REX.W (MOVD/MOVQ, CVTSI2SS, MOVNTI).
template <template <typename, bool> class F>
constexpr HandlerSet dword_qword_handlers() {
  HandlerSet h;
  h.reg[kSize32] = &F<uint32_t, false>::run;
  h.reg[kSize64] = &F<uint64_t, false>::run;
  h.mem[kSize32] = &F<uint32_t, true>::run;
  h.mem[kSize64] = &F<uint64_t, true>::run;
  return h;
}

// Rows for an integer operation with an MMX form (no prefix, Pq,Qq) and an
// SSE2 form (66, Vx,Wx); with `ib`, an imm8 follows.
template <typename Op>
void add_packed_rows(std::vector<OpcodeRow>& t, uint16_t code, const char* mnemonic, bool ib = false) {
  t.push_back({code, -1, kNoPrefix, mnemonic, ib ? "Pq,Qq,Ib" : "Pq,Qq", 0,
               vector_handlers<OpPacked<MmxRegs, Op>>()});
  t.push_back({code, -1, kPrefix66, mnemonic, ib ? "Vx,Wx,Ib" : "Vx,Wx", 0,
               vector_handlers<OpPacked<XmmRegs, Op>>()});
}

}  // namespace vireo::tcg::simd
