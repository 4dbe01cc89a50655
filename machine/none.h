// QEMU's "none" machine: no devices, no CPU, and RAM (at guest-physical 0)
// only when -m asks for it. Management tools start the emulator this way to
// ask it over QMP what it can do (libvirt: "-machine none,accel=kvm:tcg"),
// so it comes up at once, chooses an accelerator as a real machine would
// (query-kvm reports which) and follows the monitor's run states
// (prelaunch, cont, stop, quit, system_reset) with nothing behind them.
//
// A deliberate difference: QEMU creates one CPU when -cpu is given; vireo
// creates none, as there is no memory or firmware it could run.
//
// Threads: as PcMachine, the thread that calls run() is the main thread and
// acts on control() requests; other threads only ask through control().
#pragma once

#include <memory>
#include <string_view>

#include "accel/accel.h"
#include "hw/core/guest_memory.h"
#include "hw/core/run_control.h"
#include "system/vm_config.h"

namespace vireo {

class NoneMachine {
 public:
  // Creates the accelerator (the first of config.accelerators that works,
  // tcg by default). Throws Error naming the culprit.
  explicit NoneMachine(const VmConfig& config);

  // Serves requests until an exit; returns the process exit status.
  int run();

  RunControl& control() { return control_; }
  GuestMemory& memory() { return memory_; }
  const VmConfig& config() const { return config_; }
  std::string_view accelerator_name() const { return accelerator_->name(); }

 private:
  VmConfig config_;
  GuestMemory memory_;
  RunControl control_;
  std::unique_ptr<Accelerator> accelerator_;
};

}  // namespace vireo
