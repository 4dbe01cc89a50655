// A MonitorTarget for unit tests: guest memory, one or two vCPU states, and
// a thread standing in for the machine's main thread that acts on
// pause/resume/reset requests the way PcMachine::run does.
#pragma once

#include <thread>

#include "hw/core/guest_memory.h"
#include "ui/monitor/target.h"

namespace vireo::test {

class FakeTarget final : public MonitorTarget {
 public:
  FakeTarget() {
    ram_ = memory_.allocate("pc.ram", 1 << 20);
    memory_.map({"pc.ram", 0, 1 << 20, ram_, false});
    control_.set_status(RunState::Prelaunch);
    main_ = std::thread([this] {
      for (;;) {
        MachineRequest r = control_.wait();
        switch (r.kind) {
          case MachineRequest::Kind::Exit:
            control_.emit({MachineEvent::Kind::Shutdown, false, r.reason});
            control_.complete(r);
            return;
          case MachineRequest::Kind::Pause:
            if (control_.status() == RunState::Running) {
              control_.set_status(RunState::Paused);
              control_.emit({MachineEvent::Kind::Stop});
            }
            break;
          case MachineRequest::Kind::Resume:
            control_.set_status(RunState::Running);
            control_.emit({MachineEvent::Kind::Resume});
            break;
          case MachineRequest::Kind::Reset:
            ++resets;
            control_.emit({MachineEvent::Kind::Reset, false, r.reason});
            break;
          case MachineRequest::Kind::Inspect:
            if (r.inspect) r.inspect();
            break;
          default:
            break;
        }
        control_.complete(r);
      }
    });
  }
  ~FakeTarget() override {
    control_.request_exit(0, "host-signal");
    main_.join();
  }

  RunControl& control() override { return control_; }
  std::string guest_name() override { return name; }
  std::string accelerator() override { return "tcg"; }
  std::string cpu_model() override { return "qemu64"; }
  std::vector<MonitorCpuInfo> cpus() override {
    std::vector<MonitorCpuInfo> list;
    for (unsigned i = 0; i < states.size(); ++i) list.push_back({i, 1000 + static_cast<int>(i), 0, i, 0});
    return list;
  }
  std::optional<std::vector<X86CpuState>> cpu_states() override { return states; }
  std::optional<std::vector<CpuRegisters>> cpu_registers() override {
    std::vector<CpuRegisters> list;
    for (size_t i = 0; i < states.size(); ++i) list.push_back({states[i], i < dumps.size() ? dumps[i] : X86DumpState{}});
    return list;
  }
  GuestMemory& memory() override { return memory_; }
  std::vector<IoBus::Range> io_ranges() override { return {{0x3f8, 8, nullptr, "serial"}}; }
  std::vector<IoBus::Range> mmio_ranges() override { return {}; }
  std::vector<MonitorChardevInfo> chardevs() override { return {{"serial0", "stdio", true}}; }
  void press_power_button() override { ++power_button_presses; }
  std::vector<MonitorPciFunction> pci_functions() override { return pci; }
  std::vector<MonitorBlockDevice> block_devices() override { return disks; }
  DeviceTreeBus device_tree() override { return tree; }

  uint8_t* ram() { return ram_; }
  std::string name;
  std::vector<X86CpuState> states = std::vector<X86CpuState>(2);
  std::vector<X86DumpState> dumps = std::vector<X86DumpState>(2);
  int resets = 0;
  int power_button_presses = 0;
  std::vector<MonitorPciFunction> pci;
  std::vector<MonitorBlockDevice> disks;
  DeviceTreeBus tree{"main-system-bus", "System", {}};

 private:
  RunControl control_;
  GuestMemory memory_;
  uint8_t* ram_ = nullptr;
  std::thread main_;
};

}  // namespace vireo::test
