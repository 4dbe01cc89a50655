// CPUID for the software CPU: the leaves a vCPU reports, built from its
// -cpu model narrowed to what the interpreter implements (features.h).
//
// The reference is QEMU 7.2 under -accel tcg: leaf by leaf the values match
// what it reports for the same model and CPU count, except where a feature
// is not implemented here (then it is simply not advertised) and for the
// differences listed at the top of cpuid.cpp.
#pragma once

#include <cstdint>

#include "accel/cpu_model.h"

namespace vireo::tcg {

struct Cpu;

// Address sizes CPUID 0x80000008 reports, as QEMU's qemu64 (no LA57).
inline constexpr unsigned kPhysicalAddressBits = 40;
inline constexpr unsigned kLinearAddressBits = 48;

struct CpuidRegs {
  uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
  bool operator==(const CpuidRegs&) const = default;
};

// The model the guest sees: `model` itself, or for "max"/"host" (and a
// null model, which tests use) the identity tcg gives them, as QEMU does.
const CpuModel& guest_model(const CpuModel* model);

// The model's features intersected with kImplementedFeatures.
CpuFeatures guest_features(const CpuModel* model);

// What CPUID returns for EAX = leaf, ECX = subleaf on this vCPU (its model,
// index, the machine's CPU count, and CR4/APIC_BASE for the bits that
// follow them).
CpuidRegs cpuid_leaf(const Cpu& cpu, uint32_t leaf, uint32_t subleaf);

// Vendor tests for the few behaviours that differ between Intel and AMD
// (SYSCALL outside 64-bit mode, SYSENTER in long mode, the cache leaves).
bool is_intel(const Cpu& cpu);

}  // namespace vireo::tcg
