// The command core both monitor front ends share: the QMP command table
// (qmp_commands.cpp) and the HMP commands built on it (hmp.cpp), over one
// MonitorTarget.
//
// Threads: built before the monitor serves; execute()/HMP run on the
// monitor's thread, one command at a time (run_lock()).
#pragma once

#include <mutex>
#include <string>

#include "ui/monitor/command_table.h"
#include "ui/monitor/target.h"

namespace vireo {

// query-version: QEMU 7.2's interface, as vireo's command line is.
Json monitor_version();
// The name of a PCI base class << 8 | sub-class ("Host bridge"), or null.
const char* pci_class_description(uint16_t class_code);

void register_qmp_commands(CommandTable& table, MonitorTarget& target);
// What libvirt asks at domain start beyond the above (qmp_libvirt.cpp).
void register_libvirt_qmp_commands(CommandTable& table, MonitorTarget& target);
// query-migrate-capabilities: the capabilities vireo has and their state.
Json migration_capabilities();
// query-qmp-schema, qom-list-types, query-machines and the rest of what a
// management tool asks first (qmp_introspection.cpp).
void register_introspection_commands(CommandTable& table, MonitorTarget& target);

struct HmpCommand {
  std::string name;
  std::string params;  // as in help: "/fmt addr"
  std::string help;
  // `args` is the text after the command name, trimmed.
  std::function<std::string(const std::string& args, CommandContext& context)> handler;
};

class Hmp {
 public:
  Hmp(const CommandTable& qmp_table, MonitorTarget& target);
  // Runs one command line; returns its output (lines ending in "\n").
  // Errors are output too ("Error: ..."), as in QEMU's HMP.
  std::string execute(const std::string& line, CommandContext& context);
  const std::vector<HmpCommand>& commands() const { return commands_; }
  const std::vector<HmpCommand>& info_commands() const { return info_; }

 private:
  Json qmp(const std::string& name, const Json& args, CommandContext& context);
  std::string help(const std::string& args);
  std::string memory_dump(const std::string& args, bool physical, CommandContext& context);
  std::string disassembly(uint64_t address, uint64_t count, bool physical, const X86CpuState& cpu);
  std::string info_registers(const std::string& args, CommandContext& context);
  std::string info_mtree();
  std::string info_pci(const Json& buses);
  std::string info_block(const Json& devices);

  const CommandTable& qmp_;
  MonitorTarget& target_;
  std::vector<HmpCommand> commands_;
  std::vector<HmpCommand> info_;
};

class MonitorCore {
 public:
  explicit MonitorCore(MonitorTarget& target);
  const CommandTable& table() const { return table_; }
  Hmp& hmp() { return *hmp_; }
  MonitorTarget& target() { return target_; }
  // Commands from several clients run one at a time.
  std::mutex& run_lock() { return run_lock_; }

 private:
  MonitorTarget& target_;
  CommandTable table_;
  std::unique_ptr<Hmp> hmp_;
  std::mutex run_lock_;
};

}  // namespace vireo
