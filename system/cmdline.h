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

// A machine type as QEMU's query-machines describes it. "pc" is an alias
// of the versioned name, as in QEMU; both select the same machine.
struct MachineTypeInfo {
  std::string name;         // "pc-i440fx-7.2", "none"
  std::string alias;        // "pc", or empty
  std::string description;  // as -machine help prints it
  std::string machine;      // what VmConfig::machine_type becomes: "pc" or "none"
  unsigned cpu_max;
  bool is_default;
  std::string default_cpu_type;  // QOM type of the default CPU, or empty (none)
  std::string default_ram_id;
};
const std::vector<MachineTypeInfo>& machine_type_info();

// The key=value options and the keys each one accepts, under the names
// QEMU's query-command-line-options gives them ("smp-opts" for -smp,
// "memory" for -m, "boot-opts" for -boot). The parsers check keys against
// this table, so what the monitor advertises is what the command line
// takes: a new key goes here. `type` is QEMU's QemuOptType name: "string",
// "boolean", "number" or "size".
struct OptionParameterInfo {
  std::string name;
  std::string type;
  std::string help;  // may be empty
};
struct CommandLineOptionInfo {
  std::string option;
  std::vector<OptionParameterInfo> parameters;
};
const std::vector<CommandLineOptionInfo>& command_line_option_info();

}  // namespace vireo
