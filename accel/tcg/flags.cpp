#include "accel/tcg/flags.h"

namespace vireo::tcg {

namespace {

uint64_t sign_bit(unsigned bits) { return 1ull << (bits - 1); }

// Parity of the low byte only (Intel SDM: PF reflects the least significant byte).
bool parity_even(uint64_t result) { return !__builtin_parity(static_cast<unsigned>(result & 0xff)); }

}  // namespace

bool lazy_zf(const LazyFlags& f) { return (f.result & size_mask(f.size_bits)) == 0; }

bool lazy_sf(const LazyFlags& f) { return f.result & sign_bit(f.size_bits); }

bool lazy_cf(const LazyFlags& f) {
  uint64_t mask = size_mask(f.size_bits);
  uint64_t a = f.src1 & mask, b = f.src2 & mask, r = f.result & mask;
  switch (f.op) {
    case FlagOp::Add:
      return r < a;
    case FlagOp::Adc:
      return f.carry_in ? r <= a : r < a;
    case FlagOp::Sub:
      return a < b;
    case FlagOp::Sbb:
      return f.carry_in ? a <= b : a < b;
    case FlagOp::Logic:
      return false;
    case FlagOp::Inc:
    case FlagOp::Dec:
      return f.carry_in;
    case FlagOp::Materialized:
      break;
  }
  return false;
}

bool lazy_of(const LazyFlags& f) {
  uint64_t sign = sign_bit(f.size_bits);
  uint64_t a = f.src1, b = f.src2, r = f.result;
  switch (f.op) {
    case FlagOp::Add:
    case FlagOp::Adc:
      // Both operands have the same sign and the result's differs.
      return ((a ^ r) & (b ^ r)) & sign;
    case FlagOp::Sub:
    case FlagOp::Sbb:
      return ((a ^ b) & (a ^ r)) & sign;
    case FlagOp::Logic:
      return false;
    case FlagOp::Inc:
      return (r & size_mask(f.size_bits)) == sign;
    case FlagOp::Dec:
      return (r & size_mask(f.size_bits)) == sign - 1;
    case FlagOp::Materialized:
      break;
  }
  return false;
}

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
