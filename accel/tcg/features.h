// What the software CPU implements, as CPUID feature bits: the one list
// that decides what CPUID may advertise under -accel tcg.
//
// Every -cpu model is intersected with kImplementedFeatures (cpuid.cpp), and
// -cpu max/host under tcg is exactly this set. So:
//
//   *** When you land an instruction family or a CPU facility, add its bit
//   *** here in the same commit, and only once the whole feature works
//   *** (every instruction of it decodes and runs, every control bit it
//   *** defines behaves). A guest trusts these bits: Linux picks its
//   *** memcpy, its FPU save format and its syscall path from them.
//
// tests/tcg/cpuid_test.cpp checks that every advertised instruction
// feature has rows in the decode table; extend its list with yours.
#pragma once

#include "accel/cpu_model.h"

namespace vireo::tcg {

inline constexpr CpuFeatures kImplementedFeatures = {
    // Leaf 1 EDX. Missing until their owners land them: VME.
    .leaf1_edx = cpuid::kFpu |     // the x87 FPU (exec/x87_*.cpp)
                 cpuid::kFxsr |    // FXSAVE/FXRSTOR, CR4.OSFXSR (exec/x87_state.cpp)
                 cpuid::kDe |      // CR4.DE: DR4/DR5 #UD instead of aliasing DR6/DR7 (exec/control_regs.cpp)
                 cpuid::kPse |     // 4 MiB pages with CR4.PSE (mmu.cpp)
                 cpuid::kTsc |     // RDTSC, CR4.TSD (exec/cpuid_msr.cpp, tsc.cpp)
                 cpuid::kMsr |     // RDMSR/WRMSR (exec/cpuid_msr.cpp, msr.cpp)
                 cpuid::kPae |     // PAE and 4-level paging walks (mmu.cpp)
                 cpuid::kMce |     // #MC is never raised: no machine ever fails
                 cpuid::kCx8 |     // CMPXCHG8B (exec/atomic.cpp)
                 cpuid::kSep |     // SYSENTER/SYSEXIT (exec/fast_syscall.cpp)
                 cpuid::kMtrr |    // MTRR MSRs as checked storage (msr.cpp)
                 cpuid::kPge |     // global pages: the TLB may flush them too, which is allowed
                 cpuid::kMca |     // MCG_CAP/MCG_STATUS/MCG_CTL and 10 banks (msr.cpp)
                 cpuid::kCmov |    // CMOVcc (exec/control.cpp)
                 cpuid::kPat |     // IA32_PAT (msr.cpp); memory types do not matter here
                 cpuid::kClflush | // CLFLUSH (exec/sse_move.cpp)
                 cpuid::kMmx |     // MMX on the x87 registers (exec/mmx.cpp, exec/sse_int.cpp)
                 cpuid::kSse |     // SSE, MXCSR, #XM (exec/sse_*.cpp, exec/simd.h)
                 cpuid::kSse2 |    // SSE2 (exec/sse_*.cpp)
                 cpuid::kPse36 |   // PSE-36 large-page addresses (mmu.cpp)
                 cpuid::kApic,     // the machine's local APIC (hw/intc/lapic.cpp), through VcpuIo::local_apic
    // Leaf 1 ECX. The hypervisor bit is not an instruction: vireo is a
    // virtual machine, and QEMU sets it on every model. OSXSAVE is not a
    // capability either: cpuid.cpp mirrors CR4.OSXSAVE when XSAVE is here.
    .leaf1_ecx = cpuid::kSse3 |       // SSE3 (exec/sse3_ssse3.cpp, FISTTP in exec/x87_arith.cpp); no MONITOR/MWAIT
                 cpuid::kSsse3 |      // SSSE3, MMX and XMM forms (exec/sse3_ssse3.cpp)
                 cpuid::kSse41 |      // SSE4.1 (exec/sse41.cpp, exec/sse41_float.cpp)
                 cpuid::kSse42 |      // PCMPxSTRx, PCMPGTQ, CRC32 (exec/sse42_string.cpp, sse41.cpp, crc32.cpp)
                 cpuid::kXsave |      // XSAVE/XSAVEOPT/XRSTOR, XGETBV/XSETBV; XCR0 = x87|SSE (exec/xsave.cpp)
                 cpuid::kMovbe |      // MOVBE (exec/bitops.cpp)
                 cpuid::kPopcnt |     // POPCNT (exec/bitops.cpp)
                 cpuid::kCx16 |       // CMPXCHG16B (exec/atomic.cpp)
                 cpuid::kHypervisor,
    // Leaf 7 (subleaf 0): nothing yet.
    // 0x80000001 EDX. PDPE1GB waits for a tested 1 GiB page walk.
    .ext1_edx = cpuid::kSyscall |  // SYSCALL/SYSRET, EFER.SCE (exec/fast_syscall.cpp)
                cpuid::kLm |       // IA-32e mode: EFER.LME/LMA, 64-bit IDT, IRETQ, call gates
                                   // (system.cpp, interrupts.cpp, exec/far_transfers.cpp)
                cpuid::kNx |       // EFER.NXE (system.cpp) and the XD page bit (mmu.cpp)
                cpuid::kRdtscp,    // RDTSCP, IA32_TSC_AUX (exec/cpuid_msr.cpp)
    // 0x80000001 ECX.
    .ext1_ecx = cpuid::kLahfLm |  // LAHF/SAHF in 64-bit mode (exec/misc.cpp)
                cpuid::kAbm,      // LZCNT (exec/bitops.cpp); POPCNT is in leaf 1
};

}  // namespace vireo::tcg
