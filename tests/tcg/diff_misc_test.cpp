// XLAT, LAHF/SAHF (exec/misc.cpp) and ENTER/LEAVE (exec/data.cpp) against
// the host: XLAT with every address size and segment override, LAHF/SAHF
// in 64-bit mode, ENTER with nesting levels 0..31 and all three operand
// sizes, writing the frame into the shared window.
#include <catch2/catch.hpp>

#include "tests/tcg/differential.h"
#include "tests/tcg/int_test_support.h"

using namespace vireo;
using namespace vireo::tcg::test;

TEST_CASE("misc: XLAT matches the host", "[tcg][misc]") {
  Differential diff;
  TestRandom rng(0x71u);
  for (int n = 0; n < 3000; ++n) {
    CpuSnapshot in = random_state(rng);
    Bytes code;
    const bool address32 = rng.chance(30);
    if (address32) code.push_back(0x67);
    // DS, ES, SS and CS overrides are flat in 64-bit mode; FS/GS have base
    // 0 in both the host thread (for GS) and the fixture, so avoid FS.
    static constexpr uint8_t kOverrides[] = {0x26, 0x2e, 0x36, 0x3e, 0x65};
    if (rng.chance(40)) code.push_back(kOverrides[rng.below(5)]);
    if (rng.chance(20)) code.push_back(0x48);  // REX.W changes nothing
    code.push_back(0xd7);
    // rBX points into the window, so that rBX + AL stays inside it; with a
    // 32-bit address size only EBX counts.
    in.gpr[kRbx] = (address32 ? (rng.next() & ~0xffffffffull) : 0) | (kDataAddress + rng.below(0x100 - 0x20));
    in.memory.resize(0x200);
    CHECK_LIKE_HOST(diff, code, in);
  }
  CHECK_NO_MISMATCHES(diff);
}

TEST_CASE("misc: LAHF and SAHF match the host in 64-bit and 32-bit code", "[tcg][misc]") {
  Differential diff;
  TestRandom rng(0x72u);
  for (int n = 0; n < 2000; ++n) {
    CpuSnapshot in = random_state(rng, 0);
    in.rflags = rng.next();
    // lahf; sahf after changing AH; lahf again into another byte
    Bytes code = rng.chance(50) ? Bytes{0x9f} : Bytes{0x9e};
    if (rng.chance(50)) code = {0x9e, 0x88, 0xe1, 0x9f};  // sahf; mov cl, ah; lahf
    const bool compat = rng.chance(25);
    CHECK_LIKE_HOST(diff, code, in, {compat ? CodeMode::Compat32 : CodeMode::Long64});
  }
  CHECK_NO_MISMATCHES(diff);
}

TEST_CASE("misc: ENTER and LEAVE match the host", "[tcg][misc]") {
  Differential diff;
  TestRandom rng(0x73u);
  for (int n = 0; n < 3000; ++n) {
    CpuSnapshot in = random_state(rng, 0x2000);
    const unsigned level = n < 64 ? static_cast<unsigned>(n % 32) : static_cast<unsigned>(rng.below(40));
    const uint16_t size = static_cast<uint16_t>(rng.below(0x100));
    // rBP points at a chain of saved frame pointers in the window: ENTER
    // copies level-1 of them from below rBP.
    in.gpr[kRsp] = kDataAddress + 0x1800 + rng.below(0x100) * 8;
    in.gpr[kRbp] = kDataAddress + 0x1000 + rng.below(0x80) * 8;
    if (rng.chance(10)) in.gpr[kRbp] += rng.below(8);  // misaligned
    Bytes enter = {0xc8, static_cast<uint8_t>(size), static_cast<uint8_t>(size >> 8), static_cast<uint8_t>(level)};
    Bytes code;
    switch (rng.below(4)) {
      case 0: code = enter; break;
      case 1: code = join({Bytes{0x66}, enter}); break;            // 16-bit frame pointers
      case 2: code = Bytes{0xc9}; break;                          // leave
      default: code = join({enter, Bytes{0x66, 0xc9}, Bytes{0xc9}}); break;
    }
    CHECK_LIKE_HOST(diff, code, in);
  }
  CHECK_NO_MISMATCHES(diff);
}

// RDPMC at CPL 3 with CR4.PCE clear (the host's, and the fixture's): #GP(0)
// whatever ECX, in 64- and 32-bit code; before the row existed it was #UD.
TEST_CASE("misc: RDPMC matches the host at CPL 3", "[tcg][misc]") {
  Differential diff;
  TestRandom rng(0x73u);
  for (int n = 0; n < 200; ++n) {
    CpuSnapshot in = random_state(rng, 0);
    in.gpr[kRcx] = rng.chance(50) ? rng.below(4) : rng.next();
    const Bytes code = rng.chance(20) ? Bytes{0x66, 0x0f, 0x33} : Bytes{0x0f, 0x33};
    CHECK_LIKE_HOST(diff, code, in, {rng.chance(30) ? CodeMode::Compat32 : CodeMode::Long64});
  }
  CHECK_NO_MISMATCHES(diff);
  // At CPL 0 RDPMC is permitted, but this CPU has no counters (leaf 0xA
  // reads zero): ECX names none, #GP(0) again, with nothing written.
  for (uint64_t ecx : {0ull, 1ull, 0x40000000ull, 0xffffffffull}) {
    CpuSnapshot in = random_state(rng, 0);
    in.gpr[kRcx] = ecx;
    CpuSnapshot out = diff.fixture().run(Bytes{0x0f, 0x33}, in, RunOptions{.cpl = 0});
    REQUIRE(out.exception.has_value());
    CHECK(out.exception->vector == 13);
    CHECK(out.exception->error_code == 0);
    CHECK(out.gpr[kRax] == in.gpr[kRax]);
    CHECK(out.gpr[kRdx] == in.gpr[kRdx]);
  }
}

// SALC (D6) in a 32-bit code segment, with CF set and clear, behind 66 and
// REP prefixes, and followed by an ADC that reads CF; #UD in 64-bit mode.
TEST_CASE("misc: SALC matches the host in 32-bit code, #UD in 64-bit", "[tcg][misc]") {
  Differential diff;
  TestRandom rng(0x74u);
  for (int n = 0; n < 1000; ++n) {
    CpuSnapshot in = random_state(rng, 0);
    in.rflags = (rng.next() & 0xcd5) | 0x2;  // random arithmetic flags, CF among them
    Bytes code = {0xd6};
    switch (rng.below(4)) {
      case 0: code = {0x66, 0xd6}; break;
      case 1: code = {0xf3, 0xd6}; break;
      case 2: code = {0xd6, 0x10, 0xc3}; break;  // salc; adc bl, al
      default: break;
    }
    CHECK_LIKE_HOST(diff, code, in, {rng.chance(90) ? CodeMode::Compat32 : CodeMode::Long64});
  }
  CHECK_NO_MISMATCHES(diff);
}
