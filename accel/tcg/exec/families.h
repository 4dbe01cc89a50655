// The instruction families. Each family file contributes its rows of the
// decode table; decoder.cpp gathers them in add_all_rows().
#pragma once

#include <vector>

#include "accel/tcg/cpu.h"
#include "accel/tcg/decoder.h"

namespace vireo::tcg {

void add_alu_rows(std::vector<OpcodeRow>& table);      // alu.cpp: add..cmp, test, inc/dec, neg/not
void add_shift_rows(std::vector<OpcodeRow>& table);    // shift.cpp: rol, ror, rcl, rcr, shl, shr, sar, shld, shrd
void add_muldiv_rows(std::vector<OpcodeRow>& table);   // muldiv.cpp: mul, imul, div, idiv
void add_bitops_rows(std::vector<OpcodeRow>& table);   // bitops.cpp: bt, bts, btr, btc, bsf, bsr, popcnt, tzcnt, lzcnt, bswap, movbe
void add_bcd_rows(std::vector<OpcodeRow>& table);      // bcd.cpp: daa, das, aaa, aas, aam, aad
void add_misc_rows(std::vector<OpcodeRow>& table);     // misc.cpp: xlat, lahf, sahf
void add_data_rows(std::vector<OpcodeRow>& table);     // data.cpp: mov, lea, xchg, push/pop, movzx, cbw
void add_control_rows(std::vector<OpcodeRow>& table);  // control.cpp: jmp, jcc, call, ret, loop, setcc, cmovcc
void add_io_rows(std::vector<OpcodeRow>& table);       // io.cpp: in, out, ins, outs
void add_string_rows(std::vector<OpcodeRow>& table);   // string.cpp: movs, stos, lods, cmps, scas, ins, outs (rep)
void add_atomic_rows(std::vector<OpcodeRow>& table);   // atomic.cpp: cmpxchg, xadd, cmpxchg8b/16b
// io.cpp: the protected-mode I/O permission check (IOPL, TSS bitmap), for string.cpp too.
void check_io_permission(Cpu& cpu, uint16_t port, unsigned size);
void add_system_rows(std::vector<OpcodeRow>& table);   // system.cpp: flags, hlt, cr/dr moves, descriptor tables, far transfers
void add_crc32_rows(std::vector<OpcodeRow>& table);    // crc32.cpp: crc32 (SSE4.2)
void add_xsave_rows(std::vector<OpcodeRow>& table);    // xsave.cpp: xgetbv, xsetbv, xsave, xsaveopt, xrstor
void add_sse3_ssse3_rows(std::vector<OpcodeRow>& table);    // sse3_ssse3.cpp: SSE3 and SSSE3 (MMX and XMM forms)
void add_sse41_rows(std::vector<OpcodeRow>& table);         // sse41.cpp: SSE4.1 integer/data, pcmpgtq
void add_sse41_float_rows(std::vector<OpcodeRow>& table);   // sse41_float.cpp: dpps, dppd, round*
void add_sse42_string_rows(std::vector<OpcodeRow>& table);  // sse42_string.cpp: pcmpestri/m, pcmpistri/m
void add_x87_arith_rows(std::vector<OpcodeRow>& table);  // x87_arith.cpp: x87 loads/stores, arithmetic, compares, transcendentals
void add_x87_state_rows(std::vector<OpcodeRow>& table);  // x87_state.cpp: fninit, fldcw, fnstenv/fldenv, fnsave/frstor, fxsave/fxrstor, fwait
void add_cpuid_msr_rows(std::vector<OpcodeRow>& table);     // cpuid_msr.cpp: cpuid, rdmsr, wrmsr, rdtsc, rdtscp, pause
void add_fast_syscall_rows(std::vector<OpcodeRow>& table);  // fast_syscall.cpp: syscall, sysret, sysenter, sysexit, swapgs
void add_sse_move_rows(std::vector<OpcodeRow>& table);   // sse_move.cpp: SSE/SSE2 moves, movmsk, ldmxcsr/stmxcsr, fences, clflush, prefetch
void add_sse_float_rows(std::vector<OpcodeRow>& table);  // sse_float.cpp: SSE/SSE2 float arithmetic, compares, conversions
void add_sse_int_rows(std::vector<OpcodeRow>& table);    // sse_int.cpp: MMX/SSE2 integer SIMD, shuffles, packs, logic
void add_mmx_rows(std::vector<OpcodeRow>& table);        // mmx.cpp: emms, movd/movq with MMX registers, movq2dq

inline void add_all_rows(std::vector<OpcodeRow>& table) {
  add_alu_rows(table);
  add_shift_rows(table);
  add_muldiv_rows(table);
  add_bitops_rows(table);
  add_bcd_rows(table);
  add_misc_rows(table);
  add_data_rows(table);
  add_control_rows(table);
  add_io_rows(table);
  add_string_rows(table);
  add_atomic_rows(table);
  add_system_rows(table);
  add_crc32_rows(table);
  add_xsave_rows(table);
  add_sse3_ssse3_rows(table);
  add_sse41_rows(table);
  add_sse41_float_rows(table);
  add_sse42_string_rows(table);
  add_x87_arith_rows(table);
  add_x87_state_rows(table);
  add_cpuid_msr_rows(table);
  add_fast_syscall_rows(table);
  add_sse_move_rows(table);
  add_sse_float_rows(table);
  add_sse_int_rows(table);
  add_mmx_rows(table);
}

// Evaluates condition code `cc` (the low nibble of Jcc/SETcc/CMOVcc,
// Intel SDM vol. 1 appendix B); odd codes are the negations.
inline bool condition(const Cpu& cpu, unsigned cc) {
  bool r;
  switch (cc >> 1) {
    case 0: r = cpu.of(); break;                              // O
    case 1: r = cpu.cf(); break;                              // B / C
    case 2: r = cpu.zf(); break;                              // E / Z
    case 3: r = cpu.cf() || cpu.zf(); break;                  // BE
    case 4: r = cpu.sf(); break;                              // S
    case 5: r = cpu.pf(); break;                              // P
    case 6: r = cpu.sf() != cpu.of(); break;                  // L
    default: r = cpu.zf() || (cpu.sf() != cpu.of()); break;   // LE
  }
  return (cc & 1) ? !r : r;
}

}  // namespace vireo::tcg
