#include "accel/tcg/flags.h"

namespace vireo::tcg {

namespace {

// Parity of the low byte only (Intel SDM: PF reflects the least significant byte).
bool parity_even(uint64_t result) { return !__builtin_parity(static_cast<unsigned>(result & 0xff)); }

}  // namespace

uint64_t compute_arithmetic_flags(const LazyFlags& f) {
  uint64_t flags = 0;
  if (lazy_cf(f)) flags |= kCf;
  if (parity_even(f.result)) flags |= kPf;
  // AF is the carry out of bit 3: bit 4 of a ^ b ^ result for add and sub alike.
  switch (f.op) {
    case FlagOp::Add:
    case FlagOp::Adc:
    case FlagOp::Sub:
    case FlagOp::Sbb:
      if ((f.src1 ^ f.src2 ^ f.result) & 0x10) flags |= kAf;
      break;
    case FlagOp::Inc:
      if ((f.result & 0xf) == 0) flags |= kAf;
      break;
    case FlagOp::Dec:
      if ((f.result & 0xf) == 0xf) flags |= kAf;
      break;
    default:
      break;
  }
  if (lazy_zf(f)) flags |= kZf;
  if (lazy_sf(f)) flags |= kSf;
  if (lazy_of(f)) flags |= kOf;
  return flags;
}

}  // namespace vireo::tcg
