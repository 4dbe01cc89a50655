// The none machine as the monitor sees it: no CPUs, devices or disks.
#pragma once

#include "machine/none.h"
#include "ui/monitor/monitor_server.h"
#include "ui/monitor/target.h"

namespace vireo {

class NoneMonitorTarget final : public MonitorTarget {
 public:
  explicit NoneMonitorTarget(NoneMachine& machine) : machine_(machine) {}
  // query-chardev lists the monitors' own chardevs.
  void set_server(MonitorServer* server) { server_ = server; }

  RunControl& control() override { return machine_.control(); }
  std::string guest_name() override { return machine_.config().name; }
  std::string accelerator() override { return std::string(machine_.accelerator_name()); }
  std::string cpu_model() override { return machine_.config().cpu_model; }
  std::vector<MonitorCpuInfo> cpus() override { return {}; }
  std::optional<std::vector<X86CpuState>> cpu_states() override { return std::vector<X86CpuState>{}; }
  GuestMemory& memory() override { return machine_.memory(); }
  std::vector<IoBus::Range> io_ranges() override { return {}; }
  std::vector<IoBus::Range> mmio_ranges() override { return {}; }
  std::vector<MonitorChardevInfo> chardevs() override {
    return server_ != nullptr ? server_->chardevs() : std::vector<MonitorChardevInfo>{};
  }
  // QEMU's none machine has no power button: the request is only announced.
  void press_power_button() override { machine_.control().emit({MachineEvent::Kind::Powerdown}); }
  std::vector<MonitorPciFunction> pci_functions() override { return {}; }
  std::vector<MonitorBlockDevice> block_devices() override { return {}; }

 private:
  NoneMachine& machine_;
  MonitorServer* server_ = nullptr;
};

}  // namespace vireo
