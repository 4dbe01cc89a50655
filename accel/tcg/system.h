// System-level operations shared by instruction handlers and the
// interpreter loop: segment loading, exception and interrupt delivery,
// control-register writes (Intel SDM vol. 3).
#pragma once

#include <cstdint>

#include "accel/tcg/cpu.h"

namespace vireo::tcg {

inline bool protected_mode(const Cpu& cpu) { return cpu.cr0 & kCr0Pe; }
inline bool virtual_8086(const Cpu& cpu) { return cpu.rflags & kVm; }
inline unsigned iopl(const Cpu& cpu) { return static_cast<unsigned>((cpu.rflags & kIopl) >> 12); }

// Privileged instructions raise #GP(0) outside ring 0 (SDM vol. 3 §5.9);
// CPL is 3 in virtual-8086 mode and 0 in real mode.
inline void require_cpl0(const Cpu& cpu) {
  if (cpu.cpl != 0) raise_gp(0);
}

// Loads a segment register the way MOV Sreg / POP Sreg / LDS do: in real
// and virtual-8086 mode base = selector << 4; in protected mode through
// the GDT/LDT with the checks of SDM vol. 3 §5.4-5.5, raising #GP/#SS/#NP.
void load_segment(Cpu& cpu, unsigned segment, uint16_t selector);

// Real-mode style segment load (base = selector * 16, limit and attributes
// kept as the hidden cache had them, as real processors do).
void load_segment_real(Cpu& cpu, unsigned segment, uint16_t selector);

// Delivers exception or interrupt `vector` (SDM vol. 3 ch. 6): through the
// real-mode IVT or the protected/long-mode IDT, with stack switches and
// error codes. `software` marks INT n/INT3/INTO: the gate's DPL is checked
// against CPL, and faults during delivery have EXT = 0 (EXT = 1 for
// everything else, §6.13). `return_rip` is what the frame holds: the
// faulting instruction for faults, the next one for traps and INT n.
// Nothing is committed before every check and push has succeeded, so a
// fault here leaves the CPU as it was (the caller applies the double-fault
// rules, interp.cpp).
void deliver_interrupt(Cpu& cpu, uint8_t vector, bool has_error_code, uint32_t error_code,
                       bool software, uint64_t return_rip);

// Writes to CR0/CR3/CR4/CR8/EFER with their side effects (TLB flushes,
// mode changes, EFER.LMA) and their #GP(0) for reserved bits and invalid
// combinations (SDM vol. 3 §2.5, §9.8.5; vol. 2 "MOV—Move to/from Control
// Registers"; vol. 4 IA32_EFER). EFER is the WRMSR path's to call.
void write_cr0(Cpu& cpu, uint64_t value);
void write_cr3(Cpu& cpu, uint64_t value);
void write_cr4(Cpu& cpu, uint64_t value);
void write_cr8(Cpu& cpu, uint64_t value);
void write_efer(Cpu& cpu, uint64_t value);

// The CR4 bits this CPU implements and its CPUID model advertises.
uint64_t cr4_writable_bits(const Cpu& cpu);
// IA32_APIC_BASE (MSR 0x1b): tells the local APIC, which may move its page.
void write_apic_base(Cpu& cpu, uint64_t value);

// The state INIT leaves a CPU in (SDM vol. 3 §9.1.1, table 9-1): like
// RESET but keeping the x87/SSE state, MTRRs and APIC base; an AP then
// waits for a startup IPI.
void enter_init_state(Cpu& cpu);
// A startup IPI with `vector`: real mode at vector * 0x1000 (SDM §10.6.1).
void start_from_sipi(Cpu& cpu, uint8_t vector);

}  // namespace vireo::tcg
