// The guest TSC (accel/tcg/tsc.cpp) and the instructions that read it,
// RDTSC and RDTSCP; also PAUSE, MONITOR and MWAIT.
#include <catch2/catch.hpp>

#include <chrono>
#include <memory>
#include <thread>
#include <vector>

#include "accel/tcg/cpuid.h"
#include "accel/tcg/msr.h"
#include "accel/tcg/tsc.h"
#include "tests/tcg/cpu_fixture.h"

using namespace vireo;
using namespace vireo::tcg;
using namespace vireo::tcg::test;

namespace {

constexpr uint64_t kCr4Tsd = 1ull << 2;

bool is_exception(const CpuSnapshot& s, uint8_t vector) { return s.exception && s.exception->vector == vector; }

std::unique_ptr<Cpu> cpu_with(const CpuModel* model) {
  auto cpu = std::make_unique<Cpu>();
  cpu->model = model;
  return cpu;
}

}  // namespace

TEST_CASE("tsc: RDTSC returns EDX:EAX, increasing from one read to the next", "[tcg][tsc]") {
  CpuFixture f;
  // rdtsc; mov r8, rax; mov r9, rdx; rdtsc
  const std::vector<uint8_t> code = {0x0f, 0x31, 0x49, 0x89, 0xc0, 0x49, 0x89, 0xd1, 0x0f, 0x31};
  CpuSnapshot in;
  in.gpr[kRax] = in.gpr[kRdx] = ~0ull;
  CpuSnapshot out = f.run(code, in, {CodeMode::Long64, 3});
  REQUIRE_FALSE(out.exception);
  CHECK(out.gpr[kRax] >> 32 == 0);
  CHECK(out.gpr[kRdx] >> 32 == 0);
  uint64_t first = (out.gpr[kR9] << 32) | out.gpr[kR8];
  uint64_t second = (out.gpr[kRdx] << 32) | out.gpr[kRax];
  CHECK(second > first);
}

TEST_CASE("tsc: strictly increasing over many reads", "[tcg][tsc]") {
  Cpu cpu;
  uint64_t last = read_tsc(cpu);
  for (int n = 0; n < 200000; ++n) {
    uint64_t now = read_tsc(cpu);
    REQUIRE(now > last);
    last = now;
  }
}

TEST_CASE("tsc: advances at kGuestTscHz in step with the host's clock", "[tcg][tsc]") {
  // What Linux's calibration against the PIT/HPET relies on.
  Cpu cpu;
  auto host_start = std::chrono::steady_clock::now();
  uint64_t tsc_start = read_tsc(cpu);
  std::this_thread::sleep_for(std::chrono::milliseconds(200));
  uint64_t tsc_end = read_tsc(cpu);
  auto host_end = std::chrono::steady_clock::now();
  double seconds = std::chrono::duration<double>(host_end - host_start).count();
  double rate = static_cast<double>(tsc_end - tsc_start) / seconds;
  INFO("measured " << rate << " Hz");
  CHECK(rate == Approx(static_cast<double>(kGuestTscHz)).epsilon(0.005));
}

TEST_CASE("tsc: WRMSR IA32_TSC sets the counter, which keeps running from there", "[tcg][tsc]") {
  Cpu cpu;
  write_msr(cpu, msr::kTsc, 1'000'000'000'000ull);
  uint64_t read = read_msr(cpu, msr::kTsc);
  CHECK(read >= 1'000'000'000'000ull);
  CHECK(read < 1'000'000'000'000ull + 50'000'000);  // well within 50 ms
  // Backwards too: the counter follows the write, not the last read.
  write_msr(cpu, msr::kTsc, 5);
  CHECK(read_tsc(cpu) < 50'000'000);
}

TEST_CASE("tsc: CR4.TSD makes RDTSC and RDTSCP privileged", "[tcg][tsc]") {
  CpuFixture f;
  f.cpu().cr4 |= kCr4Tsd;
  for (const std::vector<uint8_t>& code : {std::vector<uint8_t>{0x0f, 0x31}, std::vector<uint8_t>{0x0f, 0x01, 0xf9}}) {
    CpuSnapshot user = f.run(code, {}, {CodeMode::Long64, 3});
    REQUIRE(is_exception(user, kGeneralProtection));
    CHECK(user.exception->error_code == 0);
    CHECK_FALSE(f.run(code, {}, {CodeMode::Long64, 0}).exception);
  }
}

TEST_CASE("tsc: RDTSCP returns TSC_AUX in ECX where advertised, #UD elsewhere", "[tcg][tsc]") {
  CpuFixture f;
  const std::vector<uint8_t> rdtscp = {0x0f, 0x01, 0xf9};
  SECTION("max") {
    f.cpu().model = find_cpu_model("max");
    write_msr(f.cpu(), msr::kTscAux, 0x1234);
    CpuSnapshot in;
    in.gpr[kRcx] = ~0ull;
    CpuSnapshot out = f.run(rdtscp, in, {CodeMode::Long64, 3});
    REQUIRE_FALSE(out.exception);
    CHECK(out.gpr[kRcx] == 0x1234);
    CHECK(((out.gpr[kRdx] << 32) | out.gpr[kRax]) > 0);
  }
  SECTION("qemu64") {
    f.cpu().model = find_cpu_model("qemu64");
    CHECK(is_exception(f.run(rdtscp, {}, {CodeMode::Long64, 3}), kInvalidOpcode));
  }
}

TEST_CASE("cpuid: RDTSCP is advertised by max only, as in QEMU's models", "[tcg][tsc]") {
  CHECK((cpuid_leaf(*cpu_with(find_cpu_model("max")), 0x80000001, 0).edx & cpuid::kRdtscp));
  CHECK_FALSE((cpuid_leaf(*cpu_with(find_cpu_model("qemu64")), 0x80000001, 0).edx & cpuid::kRdtscp));
}

TEST_CASE("pause: F3 90 is a spin hint, not #UD; with REX.B it is XCHG", "[tcg][pause]") {
  CpuFixture f;
  CpuSnapshot in;
  in.gpr[kRax] = 0x1111;
  in.gpr[kR8] = 0x8888;
  CpuSnapshot out = f.run(std::vector<uint8_t>{0xf3, 0x90}, in, {CodeMode::Long64, 3});
  REQUIRE_FALSE(out.exception);
  CHECK(out.gpr[kRax] == 0x1111);
  CHECK(out.rip_offset == 2);

  f.cpu().cpu_count = 2;  // takes the yielding path
  out = f.run(std::vector<uint8_t>{0xf3, 0x90}, in, {CodeMode::Long64, 3});
  REQUIRE_FALSE(out.exception);

  out = f.run(std::vector<uint8_t>{0xf3, 0x41, 0x90}, in, {CodeMode::Long64, 3});  // xchg r8d, eax
  REQUIRE_FALSE(out.exception);
  CHECK(out.gpr[kRax] == 0x8888);
  CHECK(out.gpr[kR8] == 0x1111);
}

TEST_CASE("monitor/mwait: not advertised, so #UD", "[tcg][pause]") {
  CpuFixture f;
  CHECK(is_exception(f.run(std::vector<uint8_t>{0x0f, 0x01, 0xc8}, {}, {CodeMode::Long64, 0}), kInvalidOpcode));
  CHECK(is_exception(f.run(std::vector<uint8_t>{0x0f, 0x01, 0xc9}, {}, {CodeMode::Long64, 0}), kInvalidOpcode));
}
