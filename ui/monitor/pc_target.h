// The pc machine as the monitor sees it.
#pragma once

#include "machine/pc.h"
#include "ui/monitor/target.h"

namespace vireo {

class MonitorServer;

class PcMonitorTarget final : public MonitorTarget {
 public:
  explicit PcMonitorTarget(PcMachine& machine) : machine_(machine) {}
  // query-chardev also lists the monitors' own chardevs.
  void set_server(MonitorServer* server) { server_ = server; }

  RunControl& control() override { return machine_.control(); }
  std::string guest_name() override { return machine_.config().name; }
  std::string accelerator() override { return std::string(machine_.accelerator_name()); }
  std::string cpu_model() override { return machine_.cpu_model_name(); }
  std::vector<MonitorCpuInfo> cpus() override;
  std::optional<std::vector<X86CpuState>> cpu_states() override;
  std::optional<std::vector<CpuRegisters>> cpu_registers() override;
  GuestMemory& memory() override { return machine_.memory(); }
  std::vector<IoBus::Range> io_ranges() override { return machine_.pio().ranges(); }
  std::vector<IoBus::Range> mmio_ranges() override { return machine_.mmio().ranges(); }
  std::vector<MonitorChardevInfo> chardevs() override;
  void press_power_button() override { machine_.press_power_button(); }
  std::vector<MonitorPciFunction> pci_functions() override;
  std::vector<MonitorBlockDevice> block_devices() override;
  DeviceTreeBus device_tree() override { return pc_device_tree(machine_); }
  std::string uuid() override { return machine_.config().uuid; }
  std::vector<MonitorQomDevice> qom_devices() override;
  std::optional<CpuFeatures> cpu_features() override;
  std::string network_info() override;

 private:
  PcMachine& machine_;
  MonitorServer* server_ = nullptr;
};

}  // namespace vireo
