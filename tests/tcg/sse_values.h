// Random operands for the MMX/SSE differential tests: floating-point values
// rich in the cases that go wrong (signed zeros, infinities, quiet and
// signalling NaNs with payloads, denormals, values at the overflow and
// underflow edges, integers and halves for the conversions, the int32/int64
// limits), integer lanes from TestRandom, and random MXCSR settings.
#pragma once

#include <bit>
#include <cstdint>
#include <cstring>

#include "tests/tcg/random_values.h"

namespace vireo::tcg::test {

// How an instruction's operands are best filled.
enum class Lanes : uint8_t {
  F32,     // single precision
  F64,     // double precision
  Int,     // integer lanes of random width
  Count,   // a shift count: the low quadword small, sometimes huge
};

// IEEE-754 binary32 / binary64 parameters.
template <typename Bits>
struct Ieee;
template <>
struct Ieee<uint32_t> {
  static constexpr unsigned kMantissa = 23, kExponentBits = 8;
  static constexpr int kBias = 127;
};
template <>
struct Ieee<uint64_t> {
  static constexpr unsigned kMantissa = 52, kExponentBits = 11;
  static constexpr int kBias = 1023;
};

template <typename Bits>
Bits make_float(bool sign, uint64_t exponent, uint64_t mantissa) {
  using F = Ieee<Bits>;
  return static_cast<Bits>((uint64_t{sign} << (F::kMantissa + F::kExponentBits)) | (exponent << F::kMantissa) |
                           (mantissa & ((uint64_t{1} << F::kMantissa) - 1)));
}

// A float's bit pattern, a quarter of the time special.
template <typename Bits>
Bits random_float(TestRandom& r) {
  using F = Ieee<Bits>;
  constexpr uint64_t max_exp = (uint64_t{1} << F::kExponentBits) - 1;
  constexpr uint64_t quiet = uint64_t{1} << (F::kMantissa - 1);
  const bool sign = r.chance(50);
  const uint64_t m = r.next();
  switch (r.below(16)) {
    case 0: return make_float<Bits>(sign, 0, 0);                                   // ±0
    case 1: return make_float<Bits>(sign, max_exp, 0);                             // ±inf
    case 2: return make_float<Bits>(sign, max_exp, quiet | (r.chance(50) ? 0 : m)); // QNaN
    case 3: return make_float<Bits>(sign, max_exp, (m & (quiet - 1)) | 1);         // SNaN
    case 4: return make_float<Bits>(sign, 0, m | (r.chance(50) ? 0 : 1));          // denormal
    case 5: return make_float<Bits>(sign, 1 + r.below(3), m);                      // smallest normals
    case 6: return make_float<Bits>(sign, max_exp - 1 - r.below(3), m);            // largest finite
    case 7: {  // a small integer or half: exact and rounding conversions
      double v = static_cast<double>(static_cast<int64_t>(r.below(2001)) - 1000) / (r.chance(50) ? 1 : 2);
      if constexpr (sizeof(Bits) == 4) return std::bit_cast<uint32_t>(static_cast<float>(v));
      else return std::bit_cast<uint64_t>(v);
    }
    case 8: {  // near the int32/int64 limits: 2^31, 2^63 and neighbours
      uint64_t e = static_cast<uint64_t>(F::kBias) + (r.chance(50) ? 31 : 63) - r.below(2);
      uint64_t mant = r.chance(50) ? 0 : r.chance(50) ? 1 : ((uint64_t{1} << F::kMantissa) - 1);
      return make_float<Bits>(sign, e, mant);
    }
    case 9:  // mid-range exponents that products and quotients can push to the edges
      return make_float<Bits>(sign, static_cast<uint64_t>(F::kBias) + (r.chance(50) ? 1 : -1) * r.below(F::kBias), m);
    default:  // ordinary values near 1
      return make_float<Bits>(sign, static_cast<uint64_t>(F::kBias) - 8 + r.below(17), m);
  }
}

// 16 bytes filled for `lanes`.
inline void fill_vector(TestRandom& r, Lanes lanes, uint8_t* out, unsigned bytes = 16) {
  for (unsigned off = 0; off < bytes; off += 8) {
    uint64_t q;
    switch (lanes) {
      case Lanes::F32:
        q = random_float<uint32_t>(r) | (uint64_t{random_float<uint32_t>(r)} << 32);
        break;
      case Lanes::F64:
        q = random_float<uint64_t>(r);
        break;
      case Lanes::Count:
        q = r.chance(80) ? r.below(70) : r.value(64);
        break;
      default: {
        static constexpr unsigned kWidths[] = {8, 16, 32, 64};
        unsigned w = kWidths[r.below(4)];
        q = 0;
        for (unsigned b = 0; b < 64; b += w) q |= (r.value(w) & (w == 64 ? ~0ull : (1ull << w) - 1)) << b;
        break;
      }
    }
    std::memcpy(out + off, &q, bytes - off < 8 ? bytes - off : 8);
  }
}

// An MXCSR: any rounding mode, FTZ and DAZ a quarter of the time each,
// usually every exception masked (as Linux runs), sometimes some unmasked,
// sometimes flags already set.
inline uint32_t random_mxcsr(TestRandom& r) {
  uint32_t m = 0x1f80 | static_cast<uint32_t>(r.below(4) << 13);
  if (r.chance(25)) m |= 0x8000;  // FTZ
  if (r.chance(25)) m |= 0x40;    // DAZ
  if (r.chance(15)) m &= ~static_cast<uint32_t>(r.below(64) << 7);
  if (r.chance(20)) m |= static_cast<uint32_t>(r.below(64));
  return m;
}

}  // namespace vireo::tcg::test
