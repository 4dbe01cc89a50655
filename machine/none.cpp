#include "machine/none.h"

#include "system/device_catalog.h"
#include "util/error.h"

namespace vireo {

namespace {

// What QEMU's none machine refuses: it has no bus a device could plug
// into and no loader for -kernel. -bios is ignored, as QEMU ignores it.
void check_nothing_to_attach(const VmConfig& config) {
  for (const DriveSpec& drive : config.drives) {
    if (drive.interface == "virtio") {
      throw Error(drive.option_text + ": No 'PCI' bus found for device 'virtio-blk-pci'");
    }
  }
  for (const DeviceSpec& device : config.devices) {
    const DeviceTypeInfo* type = find_device_type(device.driver);
    const std::string bus = type != nullptr && type->bus.rfind("isa", 0) == 0 ? "ISA" : "PCI";
    throw Error(device.option_text + ": No '" + bus + "' bus found for device '" + device.driver + "'");
  }
  if (!config.kernel_path.empty()) throw Error("The -kernel parameter is not supported by the none machine");
}

}  // namespace

NoneMachine::NoneMachine(const VmConfig& config) : config_(config) {
  check_nothing_to_attach(config_);
  if (config_.ram_size_given) {
    // QEMU's none machine: its RAM region "ram" at address 0, nothing else.
    uint8_t* ram = memory_.allocate("ram", config_.ram_bytes);
    memory_.map({"ram", 0, config_.ram_bytes, ram, false});
  }
  std::string chosen;
  accelerator_ = create_first_accelerator(config_.accelerators, memory_, chosen);
  control_.set_status(config_.start_paused ? RunState::Prelaunch : RunState::Running);
}

// The run states as PcMachine's run() (QEMU's runstate.c), with no vCPUs to
// start or stop.
int NoneMachine::run() {
  control_.set_status(config_.start_paused ? RunState::Prelaunch : RunState::Running);
  for (;;) {
    MachineRequest request = control_.wait();
    const RunState status = control_.status();
    switch (request.kind) {
      case MachineRequest::Kind::Exit: {
        const std::string reason = request.reason.empty() ? "host-signal" : request.reason;
        control_.emit({MachineEvent::Kind::Shutdown, reason.rfind("guest", 0) == 0, reason});
        control_.set_status(RunState::Shutdown);
        control_.complete(request);
        return request.exit_status;
      }
      case MachineRequest::Kind::PowerOff:
        control_.emit({MachineEvent::Kind::Shutdown, true, request.reason.empty() ? "guest-shutdown" : request.reason});
        if (!config_.no_shutdown) {
          control_.complete(request);
          return 0;
        }
        control_.set_status(RunState::Shutdown);
        control_.emit({MachineEvent::Kind::Stop});
        break;
      case MachineRequest::Kind::Reset: {
        const std::string reason = request.reason.empty() ? "guest-reset" : request.reason;
        control_.emit({MachineEvent::Kind::Reset, reason.rfind("guest", 0) == 0, reason});
        if (status == RunState::Shutdown) control_.set_status(RunState::Paused);
        break;
      }
      case MachineRequest::Kind::Pause:
        if (status == RunState::Running) {
          control_.set_status(RunState::Paused);
          control_.emit({MachineEvent::Kind::Stop});
        }
        break;
      case MachineRequest::Kind::Resume:
        if (status == RunState::Paused || status == RunState::Prelaunch) {
          control_.set_status(RunState::Running);
          control_.emit({MachineEvent::Kind::Resume});
        }
        break;
      case MachineRequest::Kind::Inspect:
        if (request.inspect) request.inspect();
        break;
    }
    control_.complete(request);
  }
}

}  // namespace vireo
