// QEMU's command line: single-dash long options (also accepted with "--"),
// each either a flag or taking one argument.
#pragma once

#include <string>
#include <vector>

#include "system/vm_config.h"

namespace vireo {

// What the command line asks the program to do.
struct CommandLine {
  enum class Action {
    Run,
    PrintHelp,
    PrintVersion,
    ListMachines,
    ListCpus,
    ListDevices,
    ListAccelerators,
    ListDisplays,
  };
  Action action = Action::Run;
  VmConfig config;
  // Accepted but deprecated usage, to be shown as warnings (QEMU's wording).
  std::vector<std::string> warnings;
};

// Throws Error whose message names the option as QEMU does ("-m foo: ...").
CommandLine parse_command_line(const std::vector<std::string>& args);

std::string usage_text();
std::string version_text();

// QEMU's list of supported values, also used by `help` sub-options.
const std::vector<std::pair<std::string, std::string>>& machine_types();
const std::vector<std::pair<std::string, std::string>>& device_types();

}  // namespace vireo
