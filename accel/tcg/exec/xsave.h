// The interpreter's XSAVE feature set (Intel SDM vol. 1 ch. 13): which
// state components XCR0 may enable, the size of the XSAVE area, and the
// CPUID leaf 0DH that describes them. The CPUID code asks here so that what
// CPUID reports and what XSAVE/XRSTOR do cannot drift apart.
#pragma once

#include <cstdint>

namespace vireo::tcg {

struct Cpu;

// XCR0 bits (SDM vol. 1 §13.3). Only x87 and SSE state exist here: no AVX.
inline constexpr uint64_t kXcr0X87 = 1u << 0;
inline constexpr uint64_t kXcr0Sse = 1u << 1;
inline constexpr uint64_t kXcr0Supported = kXcr0X87 | kXcr0Sse;
inline constexpr uint64_t kXcr0Reset = kXcr0X87;  // after RESET and INIT (SDM vol. 3 table 9-1)

// The standard-form XSAVE area: the 512-byte legacy region (FXSAVE's
// layout) and the 64-byte XSAVE header; nothing follows with XCR0 <= 3.
inline constexpr uint32_t kXsaveLegacyBytes = 512;
inline constexpr uint32_t kXsaveHeaderBytes = 64;
inline constexpr uint32_t kXsaveAreaBytes = kXsaveLegacyBytes + kXsaveHeaderBytes;

// CPUID.(EAX=0DH, ECX=1):EAX bits the interpreter implements.
inline constexpr uint32_t kXsaveoptSupported = 1u << 0;  // XSAVEOPT; no XSAVEC/XGETBV1/XSAVES

struct CpuidRegisters {
  uint32_t eax = 0, ebx = 0, ecx = 0, edx = 0;
};

// CPUID leaf 0DH for sub-leaf `subleaf`, given the CPU's current XCR0
// (sub-leaf 0's EBX is the area size for the components XCR0 enables).
CpuidRegisters xsave_cpuid_leaf(uint32_t subleaf, uint64_t xcr0);

}  // namespace vireo::tcg
