// Bit tests, bit scans, counts and byte swaps (exec/bitops.cpp) against the
// host. The memory forms of BT/BTS/BTR/BTC with a register offset reach
// words before and after the operand (and, with wild offsets, addresses
// that fault on both CPUs).
#include <catch2/catch.hpp>

#include "tests/tcg/differential.h"
#include "tests/tcg/int_test_support.h"

using namespace vireo;
using namespace vireo::tcg::test;

namespace {

unsigned word_size(TestRandom& rng) { return std::array{16u, 32u, 64u}[rng.below(3)]; }

}  // namespace

TEST_CASE("bitops: BT, BTS, BTR and BTC match the host", "[tcg][bitops]") {
  Differential diff;
  TestRandom rng(0xb17u);
  static constexpr uint8_t kRegForm[4] = {0xa3, 0xab, 0xb3, 0xbb};
  for (int n = 0; n < 16000; ++n) {
    CpuSnapshot in = random_state(rng);
    Encoding e;
    e.op_bits = word_size(rng);
    const unsigned op = static_cast<unsigned>(rng.below(4));
    const bool memory = rng.chance(60);
    const bool by_register = rng.chance(60);
    e.reg = pick_register(rng);
    if (memory) {
      // The operand in the middle of the window, so offsets of +-1023 bits
      // stay inside it.
      e.rm = mem(pick_register(rng, static_cast<uint16_t>(1u << e.reg)), static_cast<int32_t>(rng.below(3)) * 8 - 8);
      in.gpr[e.rm.base] = kDataAddress + 128 - static_cast<uint64_t>(static_cast<int64_t>(e.rm.disp));
    } else {
      e.rm = reg(pick_register(rng));
    }
    if (by_register) {
      e.opcode = {0x0f, kRegForm[op]};
      if (memory && e.rm.base != e.reg) {
        if (!rng.chance(5)) {
          // Usually a nearby bit.
          in.gpr[e.reg] = static_cast<uint64_t>(static_cast<int64_t>(rng.below(2047)) - 1023);
        } else {
          // Sometimes whatever the register held: far away (and faulting)
          // for 32 and 64 bits, within 4 KiB either side for 16 bits, so
          // the image covers that.
          in.memory.resize(0x1200);
        }
      }
    } else {
      e.opcode = {0x0f, 0xba};
      e.reg = 4 + op;
      e.imm = rng.next() & 0xff;
      e.imm_bytes = 1;
    }
    if (memory && op != 0 && rng.chance(30)) e.prefixes = {0xf0};
    CHECK_LIKE_HOST(diff, encode(e), in);
  }
  CHECK_NO_MISMATCHES(diff);
}

TEST_CASE("bitops: BSF, BSR, TZCNT, LZCNT and POPCNT match the host", "[tcg][bitops]") {
  Differential diff;
  TestRandom rng(0xb18u);
  for (int n = 0; n < 12000; ++n) {
    CpuSnapshot in = random_state(rng);
    Encoding e;
    e.op_bits = word_size(rng);
    e.reg = pick_register(rng);
    e.rm = pick_rm(rng, in, rng.chance(40), static_cast<uint16_t>(1u << e.reg));
    if (!e.rm.mem && rng.chance(25)) in.gpr[e.rm.reg] &= ~0ull << e.op_bits % 64;  // a zero source
    switch (rng.below(5)) {
      case 0: e.opcode = {0x0f, 0xbc}; break;  // bsf
      case 1: e.opcode = {0x0f, 0xbd}; break;  // bsr
      case 2: e.opcode = {0x0f, 0xbc}; e.prefixes = {0xf3}; break;  // tzcnt
      case 3: e.opcode = {0x0f, 0xbd}; e.prefixes = {0xf3}; break;  // lzcnt
      default: e.opcode = {0x0f, 0xb8}; e.prefixes = {0xf3}; break;  // popcnt
    }
    CHECK_LIKE_HOST(diff, encode(e), in);
  }
  CHECK_NO_MISMATCHES(diff);
}

TEST_CASE("bitops: BSWAP and MOVBE match the host", "[tcg][bitops]") {
  Differential diff;
  TestRandom rng(0xb19u);
  for (int n = 0; n < 6000; ++n) {
    CpuSnapshot in = random_state(rng);
    Encoding e;
    e.op_bits = word_size(rng);
    if (rng.chance(40)) {
      const unsigned r = pick_register(rng);
      e.has_modrm = false;
      e.rm = reg(r);  // for REX.B
      e.opcode = {0x0f, static_cast<uint8_t>(0xc8 + (r & 7))};
      Bytes code = encode(e);
      if (r >= 8) {  // encode() sets REX.B only from a ModRM operand: add it here
        auto at = code.begin() + (e.op_bits == 16 ? 1 : 0);
        if (e.op_bits == 64) *at |= 1;
        else code.insert(at, 0x41);
      }
      CHECK_LIKE_HOST(diff, code, in);
    } else {
      e.reg = pick_register(rng);
      e.rm = pick_rm(rng, in, true, static_cast<uint16_t>(1u << e.reg));
      e.opcode = {0x0f, 0x38, static_cast<uint8_t>(rng.chance(50) ? 0xf0 : 0xf1)};
      Bytes code = encode(e);
      // F3 MOVBE is reserved: #UD (F2 is CRC32, tested in crc32_test).
      if (rng.chance(10)) code.insert(code.begin(), 0xf3);
      CHECK_LIKE_HOST(diff, code, in);
    }
  }
  CHECK_NO_MISMATCHES(diff);
}
