// System-level operations shared by instruction handlers and the
// interpreter loop: segment loading, exception and interrupt delivery,
// control-register writes (Intel SDM vol. 3).
#pragma once

#include <cstdint>

#include "accel/tcg/cpu.h"

namespace vireo::tcg {

// Loads a segment register the way MOV Sreg / POP Sreg / LDS do: in real
// and virtual-8086 mode base = selector << 4; in protected mode through
// the GDT/LDT with the checks of SDM vol. 3 §5.4-5.5, raising #GP/#SS/#NP.
void load_segment(Cpu& cpu, unsigned segment, uint16_t selector);

// Real-mode style segment load (base = selector * 16, limit and attributes
// kept as the hidden cache had them, as real processors do).
void load_segment_real(Cpu& cpu, unsigned segment, uint16_t selector);

// Delivers exception or interrupt `vector` (SDM vol. 3 ch. 6): through the
// real-mode IVT or the protected/long-mode IDT, with stack switches,
// error codes, and the double-fault/triple-fault rules. `software` marks
// INT n/INT3/INTO (privilege checked against the gate's DPL); `next_rip`
// is where execution resumes for traps and software interrupts.
void deliver_interrupt(Cpu& cpu, uint8_t vector, bool has_error_code, uint32_t error_code,
                       bool software, uint64_t return_rip);

// Writes to CR0/CR3/CR4/EFER with their side effects (TLB flushes, mode
// changes, #GP on reserved bits).
void write_cr0(Cpu& cpu, uint64_t value);
void write_cr3(Cpu& cpu, uint64_t value);
void write_cr4(Cpu& cpu, uint64_t value);
void write_efer(Cpu& cpu, uint64_t value);
// IA32_APIC_BASE (MSR 0x1b): tells the local APIC, which may move its page.
void write_apic_base(Cpu& cpu, uint64_t value);

// The state INIT leaves a CPU in (SDM vol. 3 §9.1.1, table 9-1): like
// RESET but keeping the x87/SSE state, MTRRs and APIC base; an AP then
// waits for a startup IPI.
void enter_init_state(Cpu& cpu);
// A startup IPI with `vector`: real mode at vector * 0x1000 (SDM §10.6.1).
void start_from_sipi(Cpu& cpu, uint8_t vector);

}  // namespace vireo::tcg
