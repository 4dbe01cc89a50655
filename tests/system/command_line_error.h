// For the command-line unit tests: the message of the Error that parsing
// `args` throws; the test fails if the line is accepted.
#pragma once

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "system/cmdline.h"
#include "util/error.h"

inline std::string error_of(std::vector<std::string> args) {
  try {
    vireo::parse_command_line(args);
  } catch (const vireo::Error& e) {
    return e.what();
  }
  FAIL("the command line was accepted");
  return "";
}
