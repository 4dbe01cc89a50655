// Near branches (exec/control.cpp) against the host where they can go
// wrong without being noticed in ordinary code: a target that is not
// canonical raises #GP(0) at the branch itself, before CALL pushes or RET
// pops; a canonical one that is not mapped faults on the fetch there (#PF
// with I/D set); the end of the code is reached normally.
#include <catch2/catch.hpp>

#include "tests/tcg/differential.h"
#include "tests/tcg/int_test_support.h"

using namespace vireo;
using namespace vireo::tcg;
using namespace vireo::tcg::test;

TEST_CASE("control: indirect JMP/CALL and RET to bad and good targets match the host", "[tcg][control]") {
  Differential diff;
  TestRandom rng(0xc7u);
  unsigned faults = 0;
  for (int n = 0; n < 3000; ++n) {
    CpuSnapshot in = random_state(rng, 0x100);
    in.gpr[kRsp] = kDataAddress + 0x80;
    Encoding e;
    e.op_bits = 64;
    Bytes code;
    const unsigned kind = static_cast<unsigned>(rng.below(4));
    if (kind < 2) {  // jmp / call r/m64
      e.opcode = {0xff};
      e.reg = kind == 0 ? 4 : 2;
      e.rm = pick_rm(rng, in, rng.chance(50), 1u << kRsp);
      code = encode(e);
    } else {  // ret, ret imm16
      code = kind == 2 ? Bytes{0xc3} : Bytes{0xc2, static_cast<uint8_t>(rng.below(64)), 0};
    }
    // The target: the end of the code (the host's way back, the fixture's
    // HLT), or a non-canonical address.
    uint64_t target = kCodeAddress + code.size();
    if (rng.chance(60)) target = rng.next() | 0x0000800000000000ull;  // bit 47 set...
    if (rng.chance(50)) target &= 0x7fffffffffffull | 0x8000000000000000ull;  // ...with 63 clear or not
    if (target >> 47 != 0 && target >> 47 != 0x1ffff) ++faults;
    if (kind < 2) {
      if (e.rm.mem) {
        const uint64_t offset = in.gpr[e.rm.base] + static_cast<uint64_t>(static_cast<int64_t>(e.rm.disp)) - kDataAddress;
        for (int b = 0; b < 8; ++b) in.memory[offset + b] = static_cast<uint8_t>(target >> (8 * b));
      } else {
        in.gpr[e.rm.reg] = target;
      }
    } else {
      for (int b = 0; b < 8; ++b) in.memory[0x80 + b] = static_cast<uint8_t>(target >> (8 * b));
    }
    CHECK_LIKE_HOST(diff, code, in);
  }
  CHECK_NO_MISMATCHES(diff);
  CHECK(faults > 500);
}

// LOOP, LOOPE, LOOPNE and JrCXZ count with the address-size part of rCX:
// RCX in 64-bit code, ECX behind 67 there and in 32-bit code, CX behind 67
// in 32-bit code (the upper half of ECX untouched). The branch skips a
// marker instruction, so taken and not taken both reach the end, and the
// counts are chosen around the 16- and 32-bit wrap.
TEST_CASE("control: LOOP/LOOPE/LOOPNE/JrCXZ with each address size match the host", "[tcg][control]") {
  Differential diff;
  TestRandom rng(0xc8u);
  static constexpr uint64_t kCounts[] = {0, 1, 2, 0x10000, 0x10001, 0x100000000ull, 0x100000001ull,
                                         0xffffffffffffffffull, 0xffff0000ull};
  for (int n = 0; n < 4000; ++n) {
    CpuSnapshot in = random_state(rng, 0);
    in.rflags = (rng.next() & 0xcd5) | 0x2;  // ZF either way
    in.gpr[kRcx] = rng.chance(70) ? kCounts[rng.below(std::size(kCounts))] : rng.next();
    // [67] loop/loope/loopne/jrcxz +2 (over the marker); mov al, 0x5a
    const uint8_t op = static_cast<uint8_t>(0xe0 + rng.below(4));
    const Bytes code = rng.chance(50) ? Bytes{0x67, op, 0x02, 0xb0, 0x5a} : Bytes{op, 0x02, 0xb0, 0x5a};
    CHECK_LIKE_HOST(diff, code, in, {rng.chance(50) ? CodeMode::Compat32 : CodeMode::Long64});
  }
  CHECK_NO_MISMATCHES(diff);
}
