#include "tests/tcg/differential.h"

namespace vireo::tcg::test {

std::string Differential::compare(std::span<const uint8_t> code, const CpuSnapshot& input,
                                  const DiffOptions& options) {
  ++cases;
  host_ = oracle_.run(code, input, options.mode);
  guest_ = fixture_.run(code, input, {options.mode, options.cpl});
  CompareMask mask = options.mask;
  if (options.mode == CodeMode::Compat32) mask.low32 = true;  // upper halves are undefined after compat mode
  std::string differences = diff_snapshots(host_, guest_, mask);
  if (differences.empty()) return {};
  ++mismatches;
  return "code: " + describe_code(code, options.mode) + "\ninput:\n" + describe_input(input) +
         "host (expected) vs vireo (actual):\n" + differences;
}

}  // namespace vireo::tcg::test
