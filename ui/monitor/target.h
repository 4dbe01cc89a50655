// What the monitor's commands need from a machine. PcMachine provides it
// (pc_target.cpp); unit tests provide a fake, so the command core is
// tested without booting anything.
//
// Threads: called from the monitor's thread. Requests that change the run
// state go through control() and wait there for the machine's main thread.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "accel/cpu_state.h"
#include "hw/core/io_bus.h"
#include "hw/core/run_control.h"

namespace vireo {

class GuestMemory;

struct MonitorCpuInfo {
  unsigned index;
  int thread_id;
  unsigned socket_id, core_id, thread_in_core;
};

struct MonitorChardevInfo {
  std::string label;
  std::string filename;
  bool frontend_open;
};

class MonitorTarget {
 public:
  virtual ~MonitorTarget() = default;
  virtual RunControl& control() = 0;
  virtual std::string guest_name() = 0;         // -name, may be empty
  virtual std::string accelerator() = 0;        // "kvm" or "tcg"
  virtual std::string cpu_model() = 0;          // -cpu
  virtual std::vector<MonitorCpuInfo> cpus() = 0;
  // Every vCPU's registers, read with the vCPUs stopped; nullopt if the
  // machine did not answer.
  virtual std::optional<std::vector<X86CpuState>> cpu_states() = 0;
  virtual GuestMemory& memory() = 0;
  virtual std::vector<IoBus::Range> io_ranges() = 0;
  virtual std::vector<IoBus::Range> mmio_ranges() = 0;
  virtual std::vector<MonitorChardevInfo> chardevs() = 0;
  virtual void press_power_button() = 0;
};

}  // namespace vireo
