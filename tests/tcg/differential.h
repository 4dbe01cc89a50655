// Differential testing: the same bytes from the same state on the host CPU
// (HostOracle) and on the software CPU (CpuFixture), compared.
#pragma once

#include <span>
#include <string>

#include "tests/tcg/cpu_fixture.h"
#include "tests/tcg/cpu_snapshot.h"
#include "tests/tcg/host_oracle.h"

namespace vireo::tcg::test {

struct DiffOptions {
  CodeMode mode = CodeMode::Long64;
  unsigned cpl = 3;  // of the software CPU; the host always runs at CPL 3
  CompareMask mask;
};

class Differential {
 public:
  Differential() : oracle_(HostOracle::instance()) {}

  // Empty when both CPUs agree; otherwise a report with the code (bytes and
  // disassembly), the input state and every difference.
  std::string compare(std::span<const uint8_t> code, const CpuSnapshot& input, const DiffOptions& options = {});

  // The two results of the last compare().
  const CpuSnapshot& host() const { return host_; }
  const CpuSnapshot& guest() const { return guest_; }
  CpuFixture& fixture() { return fixture_; }
  HostOracle& oracle() { return oracle_; }

  // Cases compared and cases that differed, for the tests' own bookkeeping.
  uint64_t cases = 0;
  uint64_t mismatches = 0;

 private:
  HostOracle& oracle_;
  CpuFixture fixture_;
  CpuSnapshot host_, guest_;
};

}  // namespace vireo::tcg::test

// Catch2 glue: checks one case, printing the first few mismatches in full
// (one bug tends to fail thousands of cases) and counting the rest.
#define CHECK_LIKE_HOST(differential, code, input, ...)                             \
  do {                                                                              \
    std::string report_ = (differential).compare((code), (input), ##__VA_ARGS__);   \
    if (!report_.empty() && (differential).mismatches <= 8) FAIL_CHECK(report_);    \
  } while (0)
// At the end of a test: how many cases differed in all.
#define CHECK_NO_MISMATCHES(differential)                                           \
  do {                                                                              \
    INFO((differential).mismatches << " of " << (differential).cases << " cases differ"); \
    CHECK((differential).mismatches == 0);                                          \
  } while (0)
