// Flag results that the integer families compute when the instruction runs
// rather than lazily (shifts, multiplies, bit scans, BCD): their flags are
// rarely all derivable from one result the way an ADD's are.
#pragma once

#include <cstdint>

#include "accel/tcg/cpu.h"

namespace vireo::tcg {

template <typename T>
constexpr bool sign_of(T v) {
  return (v >> (sizeof(T) * 8 - 1)) & 1;
}

// PF, ZF and SF as any instruction derives them from a T-sized result
// (PF from the low byte only, SDM vol. 1 §3.4.3.1).
template <typename T>
inline uint64_t result_flags(T r) {
  uint64_t f = 0;
  if (!__builtin_parity(static_cast<uint8_t>(r))) f |= kPf;
  if (r == 0) f |= kZf;
  if (sign_of(r)) f |= kSf;
  return f;
}

// Sets all six arithmetic flags. Unlike Cpu::set_arithmetic_flags it never
// evaluates the pending lazy flags, since none of them survive: the other
// RFLAGS bits are always current in cpu.rflags (cpu.h).
inline void set_all_arithmetic_flags(Cpu& cpu, uint64_t values) {
  cpu.rflags = (cpu.rflags & ~kArithmeticFlags) | (values & kArithmeticFlags);
  cpu.lazy.op = FlagOp::Materialized;
}

}  // namespace vireo::tcg
