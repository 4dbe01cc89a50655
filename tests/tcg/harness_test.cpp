// The differential harness itself: that the host oracle and the fixture
// each load and return state faithfully, report exceptions with the right
// vector, error code and position, and run 32-bit code. Every differential
// test trusts these.
#include <catch2/catch.hpp>

#include <cstring>

#include "tests/tcg/differential.h"
#include "tests/tcg/encode.h"

using namespace vireo;
using namespace vireo::tcg;
using namespace vireo::tcg::test;

namespace {

CpuSnapshot numbered_registers() {
  CpuSnapshot s;
  for (unsigned r = 0; r < 16; ++r) s.gpr[r] = 0x1111111111111111ull * r + 0x0102030405060708ull;
  s.gpr[kRsp] = kDataAddress + 0x1000;
  return s;
}

}  // namespace

TEST_CASE("host oracle: carries every register and flag through an empty body", "[tcg][harness]") {
  CpuSnapshot in = numbered_registers();
  in.rflags = 0x8d5 | 0x400;  // every arithmetic flag and DF
  CpuSnapshot out = HostOracle::instance().run(Bytes{}, in);
  CHECK_FALSE(out.exception);
  CHECK(out.rip_offset == 0);
  for (unsigned r = 0; r < 16; ++r) CHECK(out.gpr[r] == in.gpr[r]);
  CHECK((out.rflags & kSnapshotFlags) == (0x8d5 | 0x400));
}

TEST_CASE("host oracle: runs the code and returns what it computed", "[tcg][harness]") {
  CpuSnapshot in = numbered_registers();
  in.gpr[kRax] = 0xffffffffffffffffull;
  in.gpr[kRbx] = 1;
  CpuSnapshot out = HostOracle::instance().run(Bytes{0x48, 0x01, 0xd8}, in);  // add rax, rbx
  CHECK(out.gpr[kRax] == 0);
  CHECK((out.rflags & 0x8d5) == (0x1 | 0x4 | 0x10 | 0x40));  // CF PF AF ZF
  CHECK(out.rip_offset == 3);
}

TEST_CASE("host oracle: memory window and stack pointer are shared addresses", "[tcg][harness]") {
  CpuSnapshot in = numbered_registers();
  in.memory.assign(64, 0);
  in.memory[8] = 0x34;
  in.gpr[kRbx] = kDataAddress;
  in.gpr[kRsp] = kDataAddress + 0x30;
  // mov al, [rbx+8]; push rbx
  CpuSnapshot out = HostOracle::instance().run(Bytes{0x8a, 0x43, 0x08, 0x53}, in);
  CHECK((out.gpr[kRax] & 0xff) == 0x34);
  CHECK(out.gpr[kRsp] == kDataAddress + 0x28);
  uint64_t pushed;
  std::memcpy(&pushed, out.memory.data() + 0x28, 8);
  CHECK(pushed == kDataAddress);
}

TEST_CASE("host oracle: faults arrive with vector, error code and the interrupted state", "[tcg][harness]") {
  HostOracle& host = HostOracle::instance();
  CpuSnapshot in = numbered_registers();
  SECTION("#DE from div by zero, after the instructions before it") {
    in.gpr[kRcx] = 0;
    CpuSnapshot out = host.run(Bytes{0x48, 0xff, 0xc0, 0x48, 0xf7, 0xf1}, in);  // inc rax; div rcx
    REQUIRE(out.exception);
    CHECK(out.exception->vector == kDivideError);
    CHECK(out.rip_offset == 3);
    CHECK(out.gpr[kRax] == in.gpr[kRax] + 1);
  }
  SECTION("#UD") {
    CpuSnapshot out = host.run(Bytes{0x0f, 0x0b}, in);  // ud2
    REQUIRE(out.exception);
    CHECK(out.exception->vector == kInvalidOpcode);
  }
  SECTION("#PF on the guard page after the window, with CR2 and a user-write error code") {
    in.gpr[kRdi] = kDataAddress + kDataSize - 4;
    CpuSnapshot out = host.run(Bytes{0x48, 0x89, 0x07}, in);  // mov [rdi], rax
    REQUIRE(out.exception);
    CHECK(out.exception->vector == kPageFault);
    CHECK(out.exception->fault_address == kDataAddress + kDataSize);  // the first byte on the missing page
    CHECK((out.exception->error_code & (kPfWrite | kPfUser | kPfPresent)) == (kPfWrite | kPfUser));
  }
  SECTION("#GP from a privileged instruction at CPL 3") {
    CpuSnapshot out = host.run(Bytes{0xf4}, in);  // hlt
    REQUIRE(out.exception);
    CHECK(out.exception->vector == kGeneralProtection);
    CHECK(out.exception->error_code == 0);
  }
  SECTION("the oracle keeps working after faults") {
    CpuSnapshot out = host.run(Bytes{0x48, 0x31, 0xc0}, in);  // xor rax, rax
    CHECK_FALSE(out.exception);
    CHECK(out.gpr[kRax] == 0);
  }
}

TEST_CASE("host oracle: carries XMM, MXCSR and x87 state", "[tcg][harness]") {
  CpuSnapshot in = numbered_registers();
  for (unsigned i = 0; i < 16; ++i) std::memset(in.fx.xmm[i], 0x10 + i, 16);
  in.fx.mxcsr = 0x1f80 | (1u << 13);  // round down
  // movdqa xmm1, xmm0; fld1 (pushes 1.0: TOP becomes 7, ST(0) = 1.0)
  CpuSnapshot out = HostOracle::instance().run(Bytes{0x66, 0x0f, 0x6f, 0xc8, 0xd9, 0xe8}, in);
  REQUIRE_FALSE(out.exception);
  CHECK(std::memcmp(out.fx.xmm[1], in.fx.xmm[0], 16) == 0);
  CHECK(std::memcmp(out.fx.xmm[15], in.fx.xmm[15], 16) == 0);
  CHECK(out.fx.mxcsr == in.fx.mxcsr);
  CHECK(((out.fx.fsw >> 11) & 7) == 7);
  CHECK(out.fx.ftw == 0x80);
  const uint8_t one[10] = {0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x3f};
  CHECK(std::memcmp(out.fx.st[0], one, 10) == 0);
}

TEST_CASE("host oracle: runs 32-bit code in a compatibility-mode segment", "[tcg][harness]") {
  CpuSnapshot in = numbered_registers();
  in.gpr[kRax] = 0x0000000000000009;
  in.gpr[kRbx] = 0x0000000000000008;
  // add al, bl; daa (valid only outside 64-bit mode)
  CpuSnapshot out = HostOracle::instance().run(Bytes{0x00, 0xd8, 0x27}, in, CodeMode::Compat32);
  REQUIRE_FALSE(out.exception);
  CHECK((out.gpr[kRax] & 0xff) == 0x17);
  CpuSnapshot in64 = in;
  CpuSnapshot ud = HostOracle::instance().run(Bytes{0x27}, in64, CodeMode::Long64);
  REQUIRE(ud.exception);
  CHECK(ud.exception->vector == kInvalidOpcode);
}

TEST_CASE("cpu fixture: FXSAVE images survive the trip through FpuState", "[tcg][harness]") {
  FxsaveArea fx;
  fx.fsw = 5u << 11;  // TOP = 5
  fx.ftw = 0b1110'0001;
  const uint8_t one[10] = {0, 0, 0, 0, 0, 0, 0, 0x80, 0xff, 0x3f};
  std::memcpy(fx.st[0], one, 10);  // ST(0) = physical R5
  fx.mxcsr = 0x1fc0;
  fx.xmm[3][7] = 0x99;
  FpuState fpu;
  load_fpu_state(fpu, fx);
  CHECK(fpu.st[5] == 1.0L);
  CHECK(((fpu.ftw >> 10) & 3) == 0);  // R5 valid
  CHECK(((fpu.ftw >> 2) & 3) == 3);   // R1 empty
  CHECK(((fpu.ftw >> 0) & 3) == 1);   // R0 zero
  FxsaveArea back = save_fpu_state(fpu);
  CHECK(back.ftw == fx.ftw);
  CHECK(back.fsw == fx.fsw);
  CHECK(std::memcmp(back.st[0], one, 10) == 0);
  CHECK(back.mxcsr == fx.mxcsr);
  CHECK(back.xmm[3][7] == 0x99);
}

TEST_CASE("cpu fixture: runs code and reports exceptions like the host", "[tcg][harness]") {
  Differential diff;
  CpuSnapshot in = numbered_registers();
  in.memory.assign(256, 0xa5);
  in.gpr[kRbx] = kDataAddress + 16;
  SECTION("ordinary code at CPL 3") {
    // add rax, rbx; mov [rbx], eax; sub ecx, [rbx+8]
    CHECK_LIKE_HOST(diff, Bytes({0x48, 0x01, 0xd8, 0x89, 0x03, 0x2b, 0x4b, 0x08}), in);
  }
  SECTION("ordinary code at CPL 0 ends at HLT") {
    CpuSnapshot out = diff.fixture().run(Bytes{0x48, 0x01, 0xd8}, in, {CodeMode::Long64, 0});
    CHECK_FALSE(out.exception);
    CHECK(out.rip_offset == 3);
    CHECK(out.gpr[kRax] == in.gpr[kRax] + in.gpr[kRbx]);
  }
  SECTION("#PF with CR2 and the error code") {
    in.gpr[kRdi] = kDataAddress + kDataSize - 2;
    CHECK_LIKE_HOST(diff, Bytes({0x48, 0xff, 0xc0, 0x89, 0x07}), in);  // inc rax; mov [rdi], eax
    REQUIRE(diff.guest().exception);
    CHECK(diff.guest().exception->vector == kPageFault);
    CHECK(diff.guest().rip_offset == 3);
  }
  SECTION("#GP at CPL 3 from HLT in the middle") {
    CHECK_LIKE_HOST(diff, Bytes({0xf4, 0x90}), in);
    REQUIRE(diff.guest().exception);
  }
  SECTION("#UD") { CHECK_LIKE_HOST(diff, Bytes({0x0f, 0xff}), in); }
  SECTION("a mismatch is reported with names and values") {
    CpuSnapshot other = diff.fixture().run(Bytes{0x48, 0xff, 0xc1}, in);  // inc rcx
    CpuSnapshot same = diff.fixture().run(Bytes{}, in);
    std::string report = diff_snapshots(same, other);
    CHECK(report.find("rcx: expected 0x") != std::string::npos);
  }
  CHECK_NO_MISMATCHES(diff);
}
