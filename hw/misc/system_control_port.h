// Small PC ports with one job each.
#pragma once

#include <atomic>
#include <cstdint>

#include "hw/core/io_bus.h"
#include "hw/core/run_control.h"

namespace vireo {

// System Control Port A at 0x92 (PS/2 "fast A20 and reset"): bit 0 pulses
// the CPU reset line, bit 1 is the A20 gate. The A20 gate is stored and
// read back but not applied: like QEMU under kvm, memory does not wrap.
class SystemControlPortA final : public BusDevice {
 public:
  static constexpr uint8_t kFastReset = 0x01;
  static constexpr uint8_t kA20Enable = 0x02;

  explicit SystemControlPortA(RunControl& control) : control_(control) {}
  uint64_t read(uint64_t, unsigned) override { return value_.load(); }
  void write(uint64_t, unsigned, uint64_t value) override {
    uint8_t old = value_.exchange(static_cast<uint8_t>(value & ~kFastReset));
    // The reset happens on the rising edge of bit 0.
    if ((value & kFastReset) && !(old & kFastReset)) control_.request_reset();
  }
  void reset() { value_ = kA20Enable; }

 private:
  RunControl& control_;
  std::atomic<uint8_t> value_{kA20Enable};
};

// Port 0x80, the POST diagnostic port: firmware writes progress codes and
// Linux writes to it as an I/O delay. Writes are discarded.
class PostCodePort final : public BusDevice {
 public:
  uint64_t read(uint64_t, unsigned) override { return 0xff; }
  void write(uint64_t, unsigned, uint64_t) override {}
};

}  // namespace vireo
