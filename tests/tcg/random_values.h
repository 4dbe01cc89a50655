// Reproducible random test inputs: a fixed-seed generator that mixes
// uniformly random values with the edge values where arithmetic goes
// wrong (0, 1, -1, the sign bit and its neighbours, all-ones halves).
#pragma once

#include <cstdint>
#include <iterator>
#include <random>

namespace vireo::tcg::test {

class TestRandom {
 public:
  explicit TestRandom(uint64_t seed) : engine_(seed) {}

  uint64_t next() { return engine_(); }
  // Uniform in [0, n).
  uint64_t below(uint64_t n) { return n == 0 ? 0 : engine_() % n; }
  bool chance(unsigned percent) { return below(100) < percent; }

  // A value of `bits` width (sign- or zero-extension of the edge cases
  // into the upper bits is random too): a third edge values, the rest
  // uniform.
  uint64_t value(unsigned bits) {
    uint64_t mask = bits >= 64 ? ~0ull : (1ull << bits) - 1;
    uint64_t upper = next() & ~mask;  // garbage above the operand, which must survive
    if (!chance(33)) return upper | (next() & mask);
    const uint64_t sign = 1ull << (bits - 1);
    const uint64_t low_half = mask >> (bits / 2);
    const uint64_t edges[] = {0,        1,          2,          mask,          mask - 1,
                              sign,     sign - 1,   sign + 1,   low_half,      mask & ~low_half,
                              0x80,     0x7f,       0x0f,       0xf0 & mask,   0x55555555'55555555 & mask};
    return upper | (edges[below(std::size(edges))] & mask);
  }

 private:
  std::mt19937_64 engine_;
};

}  // namespace vireo::tcg::test
