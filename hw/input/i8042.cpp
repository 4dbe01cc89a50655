#include "hw/input/i8042.h"

namespace vireo {

void I8042::reset() {
  std::lock_guard lock(mutex_);
  config_ = 0x45;
  pending_command_ = 0;
  status_ = kStatusSystemFlag;
  output_.clear();
}

uint64_t I8042::read(uint64_t port, unsigned) {
  std::lock_guard lock(mutex_);
  if (port == kCommandPort) {
    return status_ | (output_.empty() ? 0 : kStatusOutputFull);
  }
  if (output_.empty()) return 0;
  uint8_t value = output_.front();
  output_.pop_front();
  return value;
}

void I8042::write(uint64_t port, unsigned, uint64_t value) {
  std::lock_guard lock(mutex_);
  uint8_t byte = static_cast<uint8_t>(value);
  if (port == kDataPort) {
    status_ &= static_cast<uint8_t>(~kStatusCommand);
    switch (pending_command_) {
      case kCmdWriteConfig:
        config_ = byte;
        break;
      case kCmdWriteOutputPort:
        // Output port bit 0 drives the CPU reset line (active low).
        if (!(byte & 1)) control_.request_reset();
        break;
      default:
        // A byte for the keyboard, which is absent for now: the controller
        // answers a keyboard command with a timeout (0xfe = resend) rather
        // than stay silent, so drivers give up quickly.
        output_.push_back(0xfe);
        break;
    }
    pending_command_ = 0;
    return;
  }
  status_ |= kStatusCommand;
  switch (byte) {
    case kCmdReadConfig:
      output_.push_back(config_);
      break;
    case kCmdWriteConfig:
    case kCmdWriteOutputPort:
      pending_command_ = byte;
      break;
    case kCmdSelfTest:
      output_.push_back(0x55);  // passed
      break;
    case kCmdTestKeyboard:
    case kCmdTestAux:
      output_.push_back(0x00);  // no error
      break;
    case kCmdDisableKeyboard:
      config_ |= 0x10;
      break;
    case kCmdEnableKeyboard:
      config_ &= static_cast<uint8_t>(~0x10);
      break;
    case kCmdDisableAux:
      config_ |= 0x20;
      break;
    case kCmdEnableAux:
      config_ &= static_cast<uint8_t>(~0x20);
      break;
    case kCmdPulseReset:
      control_.request_reset();
      break;
    default:
      break;  // other commands have no effect
  }
}

}  // namespace vireo
