#include "hw/acpi/acpi_pm.h"

#include <chrono>

namespace vireo {

namespace {
uint64_t monotonic_ns() {
  return static_cast<uint64_t>(std::chrono::duration_cast<std::chrono::nanoseconds>(
                                   std::chrono::steady_clock::now().time_since_epoch())
                                   .count());
}
}  // namespace

AcpiPm::AcpiPm(IrqLine sci, RunControl& control, std::function<uint64_t()> now_ns)
    : sci_(std::move(sci)), control_(control), now_ns_(now_ns ? std::move(now_ns) : monotonic_ns) {}

void AcpiPm::reset() {
  std::lock_guard lock(mutex_);
  pm1_status_ = pm1_enable_ = pm1_control_ = 0;
  update_sci();
}

uint32_t AcpiPm::timer_value() const {
  // A free-running 24-bit counter at 3.579545 MHz (ACPI 6.4 §4.8.2.1).
  unsigned __int128 ticks = static_cast<unsigned __int128>(now_ns_()) * kTimerHz / 1000000000u;
  return static_cast<uint32_t>(ticks) & 0xffffff;
}

void AcpiPm::update_sci() {
  // The SCI is level triggered: asserted while an enabled status bit is set.
  bool level = (pm1_status_ & pm1_enable_ & kEnableMask) != 0;
  if (level != sci_level_) {
    sci_level_ = level;
    sci_.set(level);
  }
}

uint16_t AcpiPm::read16(uint64_t offset) {
  switch (offset) {
    case kPm1Status: return pm1_status_;
    case kPm1Enable: return pm1_enable_;
    case kPm1Control: return static_cast<uint16_t>(pm1_control_ & ~kSleepEnable);
    default: return 0;
  }
}

uint64_t AcpiPm::read(uint64_t offset, unsigned size) {
  if (offset >= kPmTimer) {
    uint32_t value = timer_value() >> (8 * (offset - kPmTimer));
    return size >= 4 ? value : value & ((1u << (8 * size)) - 1);
  }
  std::lock_guard lock(mutex_);
  // Registers are 16 bits wide; byte accesses see the addressed half.
  uint64_t aligned = offset & ~1ull;
  uint32_t value = read16(aligned);
  if (size >= 4 && aligned + 2 < kPmTimer) value |= uint32_t{read16(aligned + 2)} << 16;
  return (offset & 1) ? value >> 8 : value;
}

void AcpiPm::write16(uint64_t offset, uint16_t value) {
  switch (offset) {
    case kPm1Status:
      // Write-one-to-clear (ACPI 6.4 §4.8.3.1.1).
      pm1_status_ = static_cast<uint16_t>(pm1_status_ & ~value);
      break;
    case kPm1Enable:
      pm1_enable_ = value & kEnableMask;
      break;
    case kPm1Control: {
      pm1_control_ = value & static_cast<uint16_t>(~kSleepEnable);
      unsigned sleep_type = (value & kSleepTypeMask) >> kSleepTypeShift;
      if ((value & kSleepEnable) && sleep_type == kSoftOffSleepType) control_.request_power_off();
      // Other sleep states (S1-S4) are not offered in \_Sx, so a guest
      // asking for them is ignored, as on hardware without them.
      break;
    }
    default:
      break;  // the timer is read-only
  }
}

void AcpiPm::write(uint64_t offset, unsigned size, uint64_t value) {
  std::lock_guard lock(mutex_);
  if (offset >= kPmTimer) return;
  uint64_t aligned = offset & ~1ull;
  if (size == 1) {
    // Merge a byte into its register.
    uint16_t current = read16(aligned);
    uint16_t merged = (offset & 1) ? static_cast<uint16_t>((current & 0x00ff) | (value << 8))
                                   : static_cast<uint16_t>((current & 0xff00) | (value & 0xff));
    // Status bits are write-one-to-clear: writing back unchanged set bits
    // must not clear them, so only the written byte's ones count.
    if (aligned == kPm1Status) merged = static_cast<uint16_t>((offset & 1) ? (value & 0xff) << 8 : value & 0xff);
    write16(aligned, merged);
  } else {
    write16(aligned, static_cast<uint16_t>(value));
    if (size >= 4 && aligned + 2 < kPmTimer) write16(aligned + 2, static_cast<uint16_t>(value >> 16));
  }
  update_sci();
}

void AcpiPm::press_power_button() {
  std::lock_guard lock(mutex_);
  pm1_status_ |= kPowerButton;
  update_sci();
}

void AcpiPm::serialize(StateStream& s) {
  std::lock_guard lock(mutex_);
  s(pm1_status_);
  s(pm1_enable_);
  s(pm1_control_);
  if (s.loading()) {
    pm1_enable_ &= kEnableMask;
    sci_level_ = !sci_level_;  // drive the line to its real level
    update_sci();
  }
}

}  // namespace vireo
