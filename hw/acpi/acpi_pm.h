// ACPI fixed-hardware power management registers (ACPI 6.4 §4.8): the PM1
// event and control blocks and the PM timer, at the ports QEMU's PIIX4 PM
// uses (0x600 event, 0x604 control, 0x608 timer), so the FADT vireo builds
// matches. Writing SLP_EN with SLP_TYP 0 (vireo's \_S5, as QEMU's) powers the
// machine off; the power button raises PWRBTN_STS and the SCI.
//
// Threads: vCPU threads access the registers; the monitor presses the power
// button. mutex_ guards the state.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>

#include "hw/core/io_bus.h"
#include "hw/core/irq.h"
#include "hw/core/run_control.h"
#include "util/serialize.h"

namespace vireo {

class AcpiPm final : public BusDevice {
 public:
  // Port layout (offsets within the 12-byte block at kBasePort).
  static constexpr uint16_t kBasePort = 0x600;
  static constexpr uint64_t kSize = 12;
  static constexpr uint64_t kPm1Status = 0;   // PM1a_STS, 16 bits
  static constexpr uint64_t kPm1Enable = 2;   // PM1a_EN, 16 bits
  static constexpr uint64_t kPm1Control = 4;  // PM1a_CNT, 16 bits
  static constexpr uint64_t kPmTimer = 8;     // PM_TMR, 32 bits (24 significant)

  // PM1_STS / PM1_EN bits.
  static constexpr uint16_t kTimerStatus = 1u << 0;
  static constexpr uint16_t kGlobalStatus = 1u << 5;
  static constexpr uint16_t kPowerButton = 1u << 8;
  static constexpr uint16_t kSleepButton = 1u << 9;
  static constexpr uint16_t kRtcStatus = 1u << 10;
  static constexpr uint16_t kWakeStatus = 1u << 15;
  static constexpr uint16_t kEnableMask = kTimerStatus | kGlobalStatus | kPowerButton | kSleepButton | kRtcStatus;

  // PM1_CNT bits.
  static constexpr uint16_t kSciEnable = 1u << 0;
  static constexpr unsigned kSleepTypeShift = 10;
  static constexpr uint16_t kSleepTypeMask = 7u << kSleepTypeShift;
  static constexpr uint16_t kSleepEnable = 1u << 13;  // write-only
  static constexpr unsigned kSoftOffSleepType = 0;    // the value \_S5 holds

  static constexpr uint64_t kTimerHz = 3579545;  // ACPI PM timer frequency

  // `now_ns` returns monotonic time in nanoseconds (injectable for tests).
  AcpiPm(IrqLine sci, RunControl& control, std::function<uint64_t()> now_ns = {});

  uint64_t read(uint64_t offset, unsigned size) override;
  void write(uint64_t offset, unsigned size, uint64_t value) override;

  // The guest-visible power button (system_powerdown).
  void press_power_button();
  void reset();
  void serialize(StateStream& s);

 private:
  uint16_t read16(uint64_t offset);
  void write16(uint64_t offset, uint16_t value);
  uint32_t timer_value() const;
  void update_sci();  // with mutex_ held

  std::mutex mutex_;
  IrqLine sci_;
  RunControl& control_;
  std::function<uint64_t()> now_ns_;
  uint16_t pm1_status_ = 0;
  uint16_t pm1_enable_ = 0;
  uint16_t pm1_control_ = 0;
  bool sci_level_ = false;
};

}  // namespace vireo
