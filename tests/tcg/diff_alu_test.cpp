// The existing ALU family (exec/alu.cpp) against the host: ADD..CMP in all
// eight encodings, TEST, NOT, NEG, INC, DEC, with and without LOCK, and the
// lazy flags they leave read back three ways: as RFLAGS (the snapshot), by
// SETcc for all sixteen conditions and by Jcc.
#include <catch2/catch.hpp>

#include "tests/tcg/differential.h"
#include "tests/tcg/int_test_support.h"

using namespace vireo;
using namespace vireo::tcg::test;

namespace {

constexpr unsigned kWindow = 256;
constexpr uint64_t kSetccArea = kDataAddress + kWindow;  // 16 bytes of SETcc results
constexpr uint64_t kJccArea = kSetccArea + 16;           // 16 bytes of Jcc results

// SETcc for every condition into memory, then Jcc over a byte store for each.
Bytes observe_flags() {
  Bytes out;
  for (uint8_t cc = 0; cc < 16; ++cc) {
    uint32_t a = static_cast<uint32_t>(kSetccArea + cc);
    out.insert(out.end(), {0x0f, static_cast<uint8_t>(0x90 + cc), 0x04, 0x25});
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(a >> (8 * i)));
  }
  for (uint8_t cc = 0; cc < 16; ++cc) {
    uint32_t a = static_cast<uint32_t>(kJccArea + cc);
    out.insert(out.end(), {static_cast<uint8_t>(0x70 + cc), 8});            // jcc over:
    out.insert(out.end(), {0xc6, 0x04, 0x25});                                // mov byte [a], 1
    for (int i = 0; i < 4; ++i) out.push_back(static_cast<uint8_t>(a >> (8 * i)));
    out.push_back(1);
  }
  return out;
}

unsigned random_size(TestRandom& rng) {
  static constexpr unsigned kSizes[] = {16, 32, 64};
  return kSizes[rng.below(3)];
}

}  // namespace

TEST_CASE("alu: two-operand operations in every encoding match the host", "[tcg][alu]") {
  Differential diff;
  TestRandom rng(0xa1u);
  const Bytes observe = observe_flags();
  for (int n = 0; n < 12000; ++n) {
    CpuSnapshot in = random_state(rng, kWindow + 32);
    const uint8_t op = static_cast<uint8_t>(rng.below(8));
    const bool memory = rng.chance(40);
    Encoding e;
    const unsigned form = static_cast<unsigned>(rng.below(9));
    const unsigned size = random_size(rng);
    const unsigned reg_field = pick_register(rng);
    e.rm = pick_rm(rng, in, memory, static_cast<uint16_t>(1u << reg_field), kWindow);
    switch (form) {
      case 0: e.op_bits = 8; e.opcode = {static_cast<uint8_t>(op * 8 + 0)}; e.reg = reg_field; break;
      case 1: e.op_bits = size; e.opcode = {static_cast<uint8_t>(op * 8 + 1)}; e.reg = reg_field; break;
      case 2: e.op_bits = 8; e.opcode = {static_cast<uint8_t>(op * 8 + 2)}; e.reg = reg_field; break;
      case 3: e.op_bits = size; e.opcode = {static_cast<uint8_t>(op * 8 + 3)}; e.reg = reg_field; break;
      case 4: e.op_bits = 8; e.opcode = {static_cast<uint8_t>(op * 8 + 4)}; e.has_modrm = false;
              e.imm = rng.value(8); e.imm_bytes = 1; break;
      case 5: e.op_bits = size; e.opcode = {static_cast<uint8_t>(op * 8 + 5)}; e.has_modrm = false;
              e.imm = rng.value(32); e.imm_bytes = size == 16 ? 2 : 4; break;
      case 6: e.op_bits = 8; e.opcode = {0x80}; e.reg = op; e.imm = rng.value(8); e.imm_bytes = 1; break;
      case 7: e.op_bits = size; e.opcode = {0x81}; e.reg = op; e.imm = rng.value(32);
              e.imm_bytes = size == 16 ? 2 : 4; break;
      default: e.op_bits = size; e.opcode = {0x83}; e.reg = op; e.imm = rng.value(8); e.imm_bytes = 1; break;
    }
    // LOCK on the memory-destination forms of the writing operations.
    const bool dest_is_rm = form == 0 || form == 1 || form >= 6;
    if (memory && dest_is_rm && op != 7 && rng.chance(30)) e.prefixes = {0xf0};
    if (e.op_bits == 8 && rng.chance(30)) e.force_rex = true;
    CHECK_LIKE_HOST(diff, join({encode(e), observe}), in);
  }
  CHECK_NO_MISMATCHES(diff);
}

TEST_CASE("alu: TEST, NOT, NEG, INC and DEC match the host", "[tcg][alu]") {
  Differential diff;
  TestRandom rng(0xa2u);
  const Bytes observe = observe_flags();
  for (int n = 0; n < 8000; ++n) {
    CpuSnapshot in = random_state(rng, kWindow + 32);
    const bool memory = rng.chance(40);
    const bool byte = rng.chance(30);
    Encoding e;
    e.op_bits = byte ? 8 : random_size(rng);
    const unsigned reg_field = pick_register(rng);
    e.rm = pick_rm(rng, in, memory, static_cast<uint16_t>(1u << reg_field), kWindow);
    bool lockable = true;
    switch (rng.below(6)) {
      case 0:  // test r/m, reg
        e.opcode = {static_cast<uint8_t>(byte ? 0x84 : 0x85)};
        e.reg = reg_field;
        lockable = false;
        break;
      case 1:  // test r/m, imm
        e.opcode = {static_cast<uint8_t>(byte ? 0xf6 : 0xf7)};
        e.reg = static_cast<unsigned>(rng.below(2));  // /1 is an undocumented alias of /0
        e.imm = rng.value(32);
        e.imm_bytes = byte ? 1 : e.op_bits == 16 ? 2 : 4;
        lockable = false;
        break;
      case 2: e.opcode = {static_cast<uint8_t>(byte ? 0xf6 : 0xf7)}; e.reg = 2; break;  // not
      case 3: e.opcode = {static_cast<uint8_t>(byte ? 0xf6 : 0xf7)}; e.reg = 3; break;  // neg
      case 4: e.opcode = {static_cast<uint8_t>(byte ? 0xfe : 0xff)}; e.reg = 0; break;  // inc
      default: e.opcode = {static_cast<uint8_t>(byte ? 0xfe : 0xff)}; e.reg = 1; break;  // dec
    }
    if (memory && lockable && rng.chance(30)) e.prefixes = {0xf0};
    CHECK_LIKE_HOST(diff, join({encode(e), observe}), in);
  }
  CHECK_NO_MISMATCHES(diff);
}

TEST_CASE("alu: a read-modify-write that faults reports a write access", "[tcg][alu]") {
  // The page after the window is not present: an ADD to it (or across
  // into it) must fault with W set in the error code, like a store.
  Differential diff;
  TestRandom rng(0xa3u);
  for (int n = 0; n < 400; ++n) {
    CpuSnapshot in = random_state(rng, 64);
    Encoding e;
    e.op_bits = std::array{8u, 16u, 32u, 64u}[rng.below(4)];
    const unsigned base = pick_register(rng);
    e.rm = mem(base);
    in.gpr[base] = kDataAddress + kDataSize - 1 - rng.below(8) + rng.below(2) * 64;
    switch (rng.below(3)) {
      case 0: e.opcode = {static_cast<uint8_t>(e.op_bits == 8 ? 0x00 : 0x01)}; e.reg = pick_register(rng); break;
      case 1: e.opcode = {static_cast<uint8_t>(e.op_bits == 8 ? 0xfe : 0xff)}; e.reg = 0; break;  // inc
      default: e.opcode = {static_cast<uint8_t>(e.op_bits == 8 ? 0xf6 : 0xf7)}; e.reg = 3; break;  // neg
    }
    if (rng.chance(30)) e.prefixes = {0xf0};
    CHECK_LIKE_HOST(diff, encode(e), in);
  }
  CHECK_NO_MISMATCHES(diff);
}
