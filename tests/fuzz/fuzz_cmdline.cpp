// Fuzz target: QEMU-style command-line parsing (options and key=value
// lists, sizes, booleans). Any input must parse or throw vireo::Error;
// nothing else may escape and nothing may crash.
#include <cstdint>
#include <string>
#include <vector>

#include "system/cmdline.h"
#include "system/keyval.h"
#include "util/error.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  // NUL bytes split the input into argv entries.
  std::vector<std::string> args(1);
  for (size_t i = 0; i < size; ++i) {
    if (data[i] == 0) {
      args.emplace_back();
    } else {
      args.back() += static_cast<char>(data[i]);
    }
  }
  try {
    vireo::parse_command_line(args);
  } catch (const vireo::Error&) {
  }
  for (const std::string& arg : args) {
    try {
      vireo::KeyValueList::parse(arg, "type");
    } catch (const vireo::Error&) {
    }
    try {
      vireo::parse_size(arg, 1 << 20, "size");
    } catch (const vireo::Error&) {
    }
  }
  return 0;
}
