// Inputs for the integer differential tests: random starting states and
// random operand forms built with encode.h.
#pragma once

#include <cstdint>

#include "accel/cpu_state.h"
#include "tests/tcg/cpu_snapshot.h"
#include "tests/tcg/encode.h"
#include "tests/tcg/random_values.h"

namespace vireo::tcg::test {

// Every GPR an edge or random value of random width, random arithmetic
// flags (DF clear unless `random_df`), RSP near the top of the window, and
// `memory_bytes` of random memory at kDataAddress.
inline CpuSnapshot random_state(TestRandom& rng, size_t memory_bytes = 256, bool random_df = false) {
  CpuSnapshot s;
  static constexpr unsigned kWidths[] = {8, 16, 32, 64};
  for (unsigned r = 0; r < 16; ++r) s.gpr[r] = rng.value(kWidths[rng.below(4)]);
  s.gpr[kRsp] = kDataAddress + kDataSize - 0x100;
  s.rflags = rng.next() & (random_df ? kSnapshotFlags : kSnapshotFlags & ~0x400ull);
  s.memory.resize(memory_bytes);
  for (uint8_t& b : s.memory) b = static_cast<uint8_t>(rng.next());
  return s;
}

// A register number 0..15 that is not in `avoid` (bit n = register n) and not RSP.
inline unsigned pick_register(TestRandom& rng, uint16_t avoid = 0) {
  avoid |= 1u << kRsp;
  for (;;) {
    unsigned r = static_cast<unsigned>(rng.below(16));
    if (!(avoid & (1u << r))) return r;
  }
}

// An r/m operand: a register (not in `avoid`), or memory through a base
// register (not in `avoid`) that the state then points into the window at
// a random offset below `window_bytes - size_bytes`.
inline Rm pick_rm(TestRandom& rng, CpuSnapshot& state, bool memory, uint16_t avoid = 0,
                  unsigned window_bytes = 256, unsigned size_bytes = 8) {
  if (!memory) return reg(pick_register(rng, avoid));
  unsigned base = pick_register(rng, avoid);
  int32_t disp = static_cast<int32_t>(rng.below(3)) * 8 - 8;  // -8, 0 or 8: all three ModRM.mod forms
  uint64_t offset = 8 + rng.below(window_bytes - size_bytes - 16);
  state.gpr[base] = kDataAddress + offset - disp;
  return mem(base, disp);
}

// Bit n set for the register an operand uses as base (memory) or register.
inline uint16_t uses(const Rm& rm) { return static_cast<uint16_t>(1u << (rm.mem ? rm.base : rm.reg)); }

}  // namespace vireo::tcg::test
