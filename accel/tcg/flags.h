// Lazy arithmetic flags (the technique of Bochs's lazy_flags.h and QEMU's
// CC_OP): an instruction that sets OF/SF/ZF/AF/PF/CF records its operands,
// result and kind instead of computing six bits, and the bits are derived
// only when something reads them (a jcc, pushf, adc). Most flag results are
// overwritten before anyone looks.
#pragma once

#include <cstdint>

namespace vireo::tcg {

// EFLAGS bits (Intel SDM vol. 1 §3.4.3).
inline constexpr uint64_t kCf = 1u << 0;
inline constexpr uint64_t kPf = 1u << 2;
inline constexpr uint64_t kAf = 1u << 4;
inline constexpr uint64_t kZf = 1u << 6;
inline constexpr uint64_t kSf = 1u << 7;
inline constexpr uint64_t kTf = 1u << 8;
inline constexpr uint64_t kIf = 1u << 9;
inline constexpr uint64_t kDf = 1u << 10;
inline constexpr uint64_t kOf = 1u << 11;
inline constexpr uint64_t kIopl = 3u << 12;
inline constexpr uint64_t kNt = 1u << 14;
inline constexpr uint64_t kRf = 1u << 16;
inline constexpr uint64_t kVm = 1u << 17;
inline constexpr uint64_t kAc = 1u << 18;
inline constexpr uint64_t kVif = 1u << 19;
inline constexpr uint64_t kVip = 1u << 20;
inline constexpr uint64_t kId = 1u << 21;
inline constexpr uint64_t kArithmeticFlags = kCf | kPf | kAf | kZf | kSf | kOf;

// How the pending flags were produced. `Materialized` means rflags already
// holds them.
enum class FlagOp : uint8_t {
  Materialized,
  Add,    // result = src1 + src2
  Adc,    // result = src1 + src2 + carry_in
  Sub,    // result = src1 - src2 (also CMP, NEG with src1 = 0)
  Sbb,    // result = src1 - src2 - carry_in
  Logic,  // AND/OR/XOR/TEST: CF = OF = 0, AF undefined (0 like Intel hardware)
  Inc,    // result = src1 + 1, CF preserved in carry_in
  Dec,    // result = src1 - 1, CF preserved in carry_in
};

struct LazyFlags {
  uint64_t result = 0;
  uint64_t src1 = 0;
  uint64_t src2 = 0;
  FlagOp op = FlagOp::Materialized;
  uint8_t size_bits = 32;  // operand width: 8, 16, 32 or 64
  uint8_t carry_in = 0;    // ADC/SBB carry, or the CF that INC/DEC keep
};

// The six arithmetic flags the lazy state describes.
uint64_t compute_arithmetic_flags(const LazyFlags& lazy);

inline uint64_t size_mask(unsigned bits) { return bits >= 64 ? ~0ull : (1ull << bits) - 1; }

// Single-flag reads, inline because conditional branches live on them.
inline bool lazy_zf(const LazyFlags& f) { return (f.result & size_mask(f.size_bits)) == 0; }

inline bool lazy_sf(const LazyFlags& f) { return (f.result >> (f.size_bits - 1)) & 1; }

inline bool lazy_cf(const LazyFlags& f) {
  uint64_t mask = size_mask(f.size_bits);
  uint64_t a = f.src1 & mask, b = f.src2 & mask, r = f.result & mask;
  switch (f.op) {
    case FlagOp::Add: return r < a;
    case FlagOp::Adc: return f.carry_in ? r <= a : r < a;
    case FlagOp::Sub: return a < b;
    case FlagOp::Sbb: return f.carry_in ? a <= b : a < b;
    case FlagOp::Inc:
    case FlagOp::Dec: return f.carry_in;
    case FlagOp::Logic:
    case FlagOp::Materialized: break;
  }
  return false;
}

inline bool lazy_of(const LazyFlags& f) {
  uint64_t sign = 1ull << (f.size_bits - 1);
  uint64_t a = f.src1, b = f.src2, r = f.result;
  switch (f.op) {
    // Both operands have the same sign and the result's differs.
    case FlagOp::Add:
    case FlagOp::Adc: return ((a ^ r) & (b ^ r)) & sign;
    case FlagOp::Sub:
    case FlagOp::Sbb: return ((a ^ b) & (a ^ r)) & sign;
    case FlagOp::Inc: return (r & size_mask(f.size_bits)) == sign;
    case FlagOp::Dec: return (r & size_mask(f.size_bits)) == sign - 1;
    case FlagOp::Logic:
    case FlagOp::Materialized: break;
  }
  return false;
}

}  // namespace vireo::tcg
