// System control port B at 0x61 (the PC/AT's 8255 port B, kept by every
// chipset since: PIIX4 datasheet §4.1.13 "NMI Status and Control"): the
// 8254's counter-2 GATE and speaker enable, the NMI check enables, and
// read-only status: counter 2's OUT and the refresh-request toggle that
// old delay loops count.
//
// Threads: vCPU threads; mutex_ guards the stored bits. The PIT has its own
// lock (lock order: mutex_, then the PIT's).
#pragma once

#include <cstdint>
#include <mutex>

#include "hw/core/io_bus.h"
#include "hw/core/timer.h"
#include "hw/timer/i8254.h"
#include "util/serialize.h"

namespace vireo {

class SystemControlPortB final : public BusDevice {
 public:
  static constexpr uint8_t kTimer2Gate = 0x01;          // R/W
  static constexpr uint8_t kSpeakerData = 0x02;         // R/W: counter 2's OUT to the speaker
  static constexpr uint8_t kParityCheckDisable = 0x04;  // R/W
  static constexpr uint8_t kChannelCheckDisable = 0x08; // R/W
  static constexpr uint8_t kRefreshToggle = 0x10;       // R/O: flips every refresh cycle
  static constexpr uint8_t kTimer2Out = 0x20;           // R/O
  static constexpr uint8_t kChannelCheck = 0x40;        // R/O: never set, no ISA bus errors
  static constexpr uint8_t kParityError = 0x80;         // R/O: never set
  static constexpr uint8_t kWritable = kTimer2Gate | kSpeakerData | kParityCheckDisable | kChannelCheckDisable;
  static constexpr uint8_t kStoredBits = kWritable & static_cast<uint8_t>(~kTimer2Gate);  // the PIT keeps the gate
  // DRAM refresh requests come every 15.085 us (PIIX4 §4.1.13: "toggles
  // on every rising edge of the refresh request").
  static constexpr int64_t kRefreshPeriodNs = 15'085;

  SystemControlPortB(TimerService& timers, I8254& pit) : timers_(timers), pit_(pit) {}

  uint64_t read(uint64_t offset, unsigned size) override;
  void write(uint64_t offset, unsigned size, uint64_t value) override;

  void reset();
  void serialize(StateStream& s);

 private:
  std::mutex mutex_;
  TimerService& timers_;
  I8254& pit_;
  uint8_t enables_ = 0;  // kStoredBits as last written
};

}  // namespace vireo
