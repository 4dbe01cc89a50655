// Decimal adjustments (exec/bcd.cpp) against the host, in a 32-bit code
// segment (they are #UD in 64-bit mode, which is checked too): DAA/DAS and
// AAA/AAS for every AL with every AF/CF combination, AAM/AAD for every AL
// with many bases, AAM 0 raising #DE.
#include <catch2/catch.hpp>

#include "tests/tcg/differential.h"
#include "tests/tcg/int_test_support.h"

using namespace vireo;
using namespace vireo::tcg;
using namespace vireo::tcg::test;

namespace {

constexpr DiffOptions kCompat{CodeMode::Compat32};

CpuSnapshot with_ax(TestRandom& rng, unsigned ax, bool af, bool cf) {
  CpuSnapshot in = random_state(rng, 0);
  in.gpr[kRax] = (in.gpr[kRax] & ~0xffffull) | ax;
  in.rflags = (in.rflags & ~0x11ull) | (af ? 0x10 : 0) | (cf ? 0x1 : 0);
  return in;
}

}  // namespace

TEST_CASE("bcd: DAA, DAS, AAA and AAS match the host for every AL, AF and CF", "[tcg][bcd]") {
  Differential diff;
  TestRandom rng(0xbcdu);
  for (uint8_t opcode : {0x27, 0x2f, 0x37, 0x3f}) {
    for (unsigned al = 0; al < 256; ++al) {
      for (unsigned flags = 0; flags < 4; ++flags) {
        unsigned ah = static_cast<unsigned>(rng.below(256));
        if (rng.chance(10)) ah = rng.chance(50) ? 0xff : 0;
        CHECK_LIKE_HOST(diff, Bytes{opcode}, with_ax(rng, ah << 8 | al, flags & 1, flags & 2), kCompat);
      }
    }
  }
  CHECK_NO_MISMATCHES(diff);
}

TEST_CASE("bcd: AAM and AAD match the host, AAM 0 raises #DE", "[tcg][bcd]") {
  Differential diff;
  TestRandom rng(0xbceu);
  for (uint8_t opcode : {0xd4, 0xd5}) {
    for (unsigned al = 0; al < 256; ++al) {
      for (int k = 0; k < 12; ++k) {
        unsigned base = k == 0 ? 10 : k == 1 ? 0 : k == 2 ? 1 : static_cast<unsigned>(rng.below(256));
        unsigned ah = static_cast<unsigned>(rng.below(256));
        CHECK_LIKE_HOST(diff, (Bytes{opcode, static_cast<uint8_t>(base)}),
                        with_ax(rng, ah << 8 | al, rng.chance(50), rng.chance(50)), kCompat);
      }
    }
  }
  CHECK_NO_MISMATCHES(diff);
}

TEST_CASE("bcd: every decimal adjustment is #UD in 64-bit mode", "[tcg][bcd]") {
  Differential diff;
  TestRandom rng(0xbcfu);
  for (Bytes code : {Bytes{0x27}, Bytes{0x2f}, Bytes{0x37}, Bytes{0x3f}, Bytes{0xd4, 0x0a}, Bytes{0xd5, 0x0a},
                     Bytes{0xd6}}) {  // D6 is SALC in 32-bit code on some CPUs; vireo leaves it undefined
    CHECK_LIKE_HOST(diff, code, random_state(rng, 0));
    REQUIRE(diff.guest().exception);
    CHECK(diff.guest().exception->vector == kInvalidOpcode);
  }
  CHECK_NO_MISMATCHES(diff);
}
