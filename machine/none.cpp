#include "machine/none.h"

#include "util/error.h"

namespace vireo {

NoneMachine::NoneMachine(const VmConfig& config) : config_(config) {
  if (config_.ram_size_given) {
    // QEMU's none machine: its RAM region "ram" at address 0, nothing else.
    uint8_t* ram = memory_.allocate("ram", config_.ram_bytes);
    memory_.map({"ram", 0, config_.ram_bytes, ram, false});
  }
  std::vector<std::string> choices = config_.accelerators;
  if (choices.empty()) choices = {"tcg"};  // QEMU's default
  std::string failure;
  for (const std::string& name : choices) {
    try {
      accelerator_ = create_accelerator(name);
      accelerator_->map_memory(memory_);
      break;
    } catch (const Error& e) {
      // "accel=kvm:tcg" falls back quietly; the last failure is reported.
      accelerator_.reset();
      failure = e.what();
    }
  }
  if (!accelerator_) throw Error(failure);
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
