// The guest time-stamp counter.
//
// The guest TSC ticks at a fixed kGuestTscHz in step with real time: it is
// the host's CLOCK_MONOTONIC (1 ns resolution) plus a per-vCPU offset
// (Msrs::tsc_offset). Real time rather than retired instructions, because
// Linux measures the TSC frequency against the PIT/HPET/ACPI PM timer,
// which count real time, and then keeps time with the TSC; a TSC that
// tracked the interpreter's speed would make its clock drift as the load
// changes. CPUID advertises no frequency (no leaf 0x15/0x16 or hypervisor
// timing leaf), so the guest always calibrates; 1 GHz keeps the conversion
// exact (one tick per nanosecond), and Linux reports "tsc: Detected
// 1000.0xx MHz processor".
//
// All vCPUs of a machine share one offset from reset (tcg_accel.cpp), so
// their TSCs are synchronised, which Linux checks when it brings up APs.
// Only a guest WRMSR to IA32_TSC moves one vCPU's counter.
#pragma once

#include <cstdint>

namespace vireo::tcg {

struct Cpu;

inline constexpr uint64_t kGuestTscHz = 1'000'000'000;

// The host's monotonic clock in guest TSC ticks.
uint64_t host_tsc();

// The guest TSC as RDTSC/RDMSR see it. Strictly increasing on one vCPU
// even if the host clock were coarse (two reads never return the same
// value, as on hardware).
uint64_t read_tsc(Cpu& cpu);

// WRMSR IA32_TSC: the counter continues from `value`.
void write_tsc(Cpu& cpu, uint64_t value);

}  // namespace vireo::tcg
