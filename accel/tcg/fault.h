// Guest exceptions raised while executing an instruction. A handler throws
// GuestFault; the interpreter loop catches it at the instruction boundary
// (rip still points at the faulting instruction) and delivers it through
// the IDT. The hot path pays nothing for this.
#pragma once

#include <cstdint>

namespace vireo::tcg {

// Exception vectors (Intel SDM vol. 3 §6.3.1, table 6-1).
enum Vector : uint8_t {
  kDivideError = 0,        // #DE
  kDebug = 1,              // #DB
  kNmiVector = 2,
  kBreakpoint = 3,         // #BP
  kOverflow = 4,           // #OF
  kBoundRange = 5,         // #BR
  kInvalidOpcode = 6,      // #UD
  kDeviceNotAvailable = 7, // #NM
  kDoubleFault = 8,        // #DF
  kInvalidTss = 10,        // #TS
  kSegmentNotPresent = 11, // #NP
  kStackFault = 12,        // #SS
  kGeneralProtection = 13, // #GP
  kPageFault = 14,         // #PF
  kFpuError = 16,          // #MF
  kAlignmentCheck = 17,    // #AC
  kMachineCheck = 18,      // #MC
  kSimdError = 19,         // #XM
};

struct GuestFault {
  uint8_t vector;
  bool has_error_code;
  uint32_t error_code;
};

// Page-fault error code bits (SDM vol. 3 §4.7).
inline constexpr uint32_t kPfPresent = 1u << 0;
inline constexpr uint32_t kPfWrite = 1u << 1;
inline constexpr uint32_t kPfUser = 1u << 2;
inline constexpr uint32_t kPfReservedBit = 1u << 3;
inline constexpr uint32_t kPfFetch = 1u << 4;

[[noreturn]] inline void raise_fault(uint8_t vector) { throw GuestFault{vector, false, 0}; }
[[noreturn]] inline void raise_fault(uint8_t vector, uint32_t error_code) {
  throw GuestFault{vector, true, error_code};
}
[[noreturn]] inline void raise_ud() { raise_fault(kInvalidOpcode); }
[[noreturn]] inline void raise_gp(uint32_t error_code = 0) { raise_fault(kGeneralProtection, error_code); }

// Thrown when delivering an exception causes a fault while delivering a
// double fault: the CPU shuts down (a PC then resets).
struct TripleFault {};

}  // namespace vireo::tcg
