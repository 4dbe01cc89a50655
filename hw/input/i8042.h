// Intel 8042 keyboard controller, ports 0x60 (data) and 0x64 (status/
// command). For now only what a reset needs: command 0xFE pulses the CPU
// reset line, and the controller answers its self-test and configuration
// commands so that firmware and Linux's probe see a present, idle
// controller with no keyboard traffic. Keyboard and mouse emulation comes
// with the PC platform work.
//
// Threads: vCPU threads only; mutex_ guards the registers.
#pragma once

#include <cstdint>
#include <deque>
#include <mutex>

#include "hw/core/io_bus.h"
#include "hw/core/run_control.h"

namespace vireo {

class I8042 final : public BusDevice {
 public:
  // Offsets from port 0x60. The machine maps 0x60 and 0x64 separately
  // (0x61-0x63 belong to other devices), the second through an OffsetWindow.
  static constexpr uint64_t kDataPort = 0;
  static constexpr uint64_t kCommandPort = 4;

  // Status register bits.
  static constexpr uint8_t kStatusOutputFull = 0x01;
  static constexpr uint8_t kStatusSystemFlag = 0x04;
  static constexpr uint8_t kStatusCommand = 0x08;  // last write was to 0x64

  // Controller commands (written to 0x64).
  static constexpr uint8_t kCmdReadConfig = 0x20;
  static constexpr uint8_t kCmdWriteConfig = 0x60;
  static constexpr uint8_t kCmdDisableAux = 0xa7;
  static constexpr uint8_t kCmdEnableAux = 0xa8;
  static constexpr uint8_t kCmdTestAux = 0xa9;
  static constexpr uint8_t kCmdSelfTest = 0xaa;
  static constexpr uint8_t kCmdTestKeyboard = 0xab;
  static constexpr uint8_t kCmdDisableKeyboard = 0xad;
  static constexpr uint8_t kCmdEnableKeyboard = 0xae;
  static constexpr uint8_t kCmdWriteOutputPort = 0xd1;
  static constexpr uint8_t kCmdPulseReset = 0xfe;

  explicit I8042(RunControl& control) : control_(control) {}

  uint64_t read(uint64_t port, unsigned size) override;
  void write(uint64_t port, unsigned size, uint64_t value) override;
  void reset();

 private:
  RunControl& control_;
  std::mutex mutex_;
  uint8_t config_ = 0x45;  // translate, system flag, keyboard interrupt
  uint8_t pending_command_ = 0;  // command awaiting its data byte
  uint8_t status_ = kStatusSystemFlag;
  std::deque<uint8_t> output_;
};

}  // namespace vireo
