// QEMU's isa-debug-exit: a port that ends the emulator. Writing V exits
// with status (V << 1) | 1, so a test can never exit 0 by accident.
#pragma once

#include "hw/core/io_bus.h"
#include "hw/core/run_control.h"

namespace vireo {

class IsaDebugExit final : public BusDevice {
 public:
  explicit IsaDebugExit(RunControl& control) : control_(control) {}
  uint64_t read(uint64_t, unsigned) override { return 0xffffffff; }
  void write(uint64_t, unsigned, uint64_t value) override {
    control_.request_exit(static_cast<int>(((value << 1) | 1) & 0xff), "guest-shutdown");
  }

 private:
  RunControl& control_;
};

}  // namespace vireo
