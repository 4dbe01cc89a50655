// MUL, IMUL and DIV/IDIV (exec/muldiv.cpp) against the host, in every form
// and size, register and memory operands. Division inputs are steered so
// that most cases divide and the rest raise #DE both ways: a zero divisor,
// a quotient one past the limit, the most negative dividend over -1.
#include <catch2/catch.hpp>

#include "tests/tcg/differential.h"
#include "tests/tcg/int_test_support.h"

using namespace vireo;
using namespace vireo::tcg::test;

namespace {

uint64_t mask_of(unsigned bits) { return bits == 64 ? ~0ull : (1ull << bits) - 1; }

void set_low(uint64_t& reg, unsigned bits, uint64_t v) { reg = (reg & ~mask_of(bits)) | (v & mask_of(bits)); }

}  // namespace

TEST_CASE("muldiv: MUL and one-operand IMUL match the host", "[tcg][muldiv]") {
  Differential diff;
  TestRandom rng(0x301u);
  for (int n = 0; n < 12000; ++n) {
    CpuSnapshot in = random_state(rng);
    Encoding e;
    e.op_bits = std::array{8u, 16u, 32u, 64u}[rng.below(4)];
    e.opcode = {static_cast<uint8_t>(e.op_bits == 8 ? 0xf6 : 0xf7)};
    e.reg = rng.chance(50) ? 4 : 5;
    e.rm = pick_rm(rng, in, rng.chance(40));
    if (e.op_bits == 8 && rng.chance(30)) e.force_rex = true;
    CHECK_LIKE_HOST(diff, encode(e), in);
  }
  CHECK_NO_MISMATCHES(diff);
}

TEST_CASE("muldiv: two- and three-operand IMUL match the host", "[tcg][muldiv]") {
  Differential diff;
  TestRandom rng(0x302u);
  for (int n = 0; n < 12000; ++n) {
    CpuSnapshot in = random_state(rng);
    Encoding e;
    e.op_bits = std::array{16u, 32u, 64u}[rng.below(3)];
    e.reg = pick_register(rng);
    e.rm = pick_rm(rng, in, rng.chance(40));
    switch (rng.below(3)) {
      case 0: e.opcode = {0x0f, 0xaf}; break;
      case 1: e.opcode = {0x69}; e.imm = rng.value(32); e.imm_bytes = e.op_bits == 16 ? 2 : 4; break;
      default: e.opcode = {0x6b}; e.imm = rng.value(8); e.imm_bytes = 1; break;
    }
    CHECK_LIKE_HOST(diff, encode(e), in);
  }
  CHECK_NO_MISMATCHES(diff);
}

TEST_CASE("muldiv: DIV and IDIV match the host, #DE included", "[tcg][muldiv]") {
  Differential diff;
  TestRandom rng(0x303u);
  uint64_t faults = 0;
  for (int n = 0; n < 16000; ++n) {
    CpuSnapshot in = random_state(rng);
    Encoding e;
    const unsigned bits = std::array{8u, 16u, 32u, 64u}[rng.below(4)];
    e.op_bits = bits;
    e.opcode = {static_cast<uint8_t>(bits == 8 ? 0xf6 : 0xf7)};
    const bool is_signed = rng.chance(50);
    e.reg = is_signed ? 7 : 6;
    // The divisor in a register other than the dividend's, or in memory.
    const bool memory = rng.chance(40);
    e.rm = pick_rm(rng, in, memory, (1u << kRax) | (1u << kRdx));
    uint64_t divisor = rng.value(bits) & mask_of(bits);
    const uint64_t sign = 1ull << (bits - 1);
    // The high half of the dividend: usually small enough for the quotient
    // to fit, sometimes exactly at the limit, sometimes anything.
    uint64_t high = rng.value(bits) & mask_of(bits);
    switch (rng.below(6)) {
      case 0: divisor = 0; break;
      case 1: high = divisor; break;                       // DIV: quotient one past the limit
      case 2: divisor = mask_of(bits); high = mask_of(bits);  // IDIV: -1 into the dividend's sign
        break;
      case 3: break;
      default:
        if (divisor != 0) high = is_signed ? ((high & sign) ? mask_of(bits) : 0) : high % divisor;
        break;
    }
    if (rng.chance(5)) {  // the most negative dividend over -1
      divisor = mask_of(bits);
      high = sign;
      set_low(in.gpr[kRax], bits == 8 ? 16 : bits, bits == 8 ? 0x8000 : 0);
      if (bits == 8) high = 0x80;
    }
    if (bits == 8) {
      set_low(in.gpr[kRax], 16, (in.gpr[kRax] & 0xff) | (high << 8));
    } else {
      set_low(in.gpr[kRdx], bits, high);
    }
    if (memory) {
      const uint64_t offset = in.gpr[e.rm.base] + static_cast<uint64_t>(static_cast<int64_t>(e.rm.disp)) - kDataAddress;
      for (unsigned b = 0; b < bits / 8; ++b) in.memory[offset + b] = static_cast<uint8_t>(divisor >> (8 * b));
    } else {
      set_low(in.gpr[e.rm.reg], bits, divisor);
      if (bits == 8 && !e.force_rex && e.rm.reg >= 4 && e.rm.reg < 8) {
        // Without REX, r/m 4-7 name AH..BH: put the divisor there instead.
        in.gpr[e.rm.reg - 4] = (in.gpr[e.rm.reg - 4] & ~0xff00ull) | (divisor << 8);
      }
    }
    CHECK_LIKE_HOST(diff, encode(e), in);
    if (diff.host().exception) ++faults;
  }
  CHECK_NO_MISMATCHES(diff);
  // Both outcomes were exercised in earnest.
  CHECK(faults > 2000);
  CHECK(faults < 10000);
}
