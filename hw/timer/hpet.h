// High Precision Event Timer (IA-PC HPET Specification 1.0a): a 64-bit
// main counter at 100 MHz (QEMU's rate) and three comparators, in one 1 KiB
// MMIO block at 0xfed00000. Timer 0 can be periodic; all are 64-bit. In
// legacy replacement mode (GEN_CONF.LEG_RT_CNF) timer 0 drives IRQ 0 and
// timer 1 IRQ 8 in place of the PIT and the RTC, which the machine then
// disconnects (legacy_replacement()); otherwise a timer drives the IOAPIC
// input its Tn_INT_ROUTE_CNF names, among pins 20-23 (INT_ROUTE_CAP; QEMU's
// pc offers only pin 2, which vireo's pc gives to IRQ 0). No FSB delivery.
//
// The counter is computed from the virtual clock, not stepped: it is
// `base_count` plus the ticks since `base_ns` while enabled.
//
// Threads: vCPU threads (MMIO) and the timer thread (comparator matches);
// mutex_ guards the registers. Lock order: mutex_, then the interrupt
// controllers' lock (through the IRQ callback) and the timer service's.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>

#include "hw/core/io_bus.h"
#include "hw/core/timer.h"
#include "util/serialize.h"

namespace vireo {

class Hpet final : public BusDevice {
 public:
  static constexpr uint64_t kBaseAddress = 0xfed00000;
  static constexpr uint64_t kMmioSize = 0x400;
  static constexpr unsigned kTimers = 3;
  static constexpr int64_t kTickNs = 10;  // 100 MHz
  static constexpr unsigned kFirstRoutablePin = 20;

  // Register offsets (spec §2.3.1).
  static constexpr uint64_t kCapabilities = 0x000;  // GCAP_ID
  static constexpr uint64_t kConfig = 0x010;        // GEN_CONF
  static constexpr uint64_t kInterruptStatus = 0x020;  // GINTR_STA
  static constexpr uint64_t kMainCounter = 0x0f0;   // MAIN_CNT
  static constexpr uint64_t kTimerBlock = 0x100;    // Tn registers, 0x20 apart
  static constexpr uint64_t kTimerConfig = 0x00;    // Tn_CONF_CAP
  static constexpr uint64_t kTimerComparator = 0x08;  // Tn_COMPARATOR
  static constexpr uint64_t kTimerFsbRoute = 0x10;  // Tn_FSB_INT_ROUTE

  // GEN_CONF bits.
  static constexpr uint64_t kEnable = 1u << 0;           // ENABLE_CNF
  static constexpr uint64_t kLegacyReplacement = 1u << 1;  // LEG_RT_CNF

  // Tn_CONF_CAP bits.
  static constexpr uint64_t kLevelTriggered = 1u << 1;   // Tn_INT_TYPE_CNF
  static constexpr uint64_t kInterruptEnable = 1u << 2;  // Tn_INT_ENB_CNF
  static constexpr uint64_t kPeriodic = 1u << 3;         // Tn_TYPE_CNF
  static constexpr uint64_t kPeriodicCapable = 1u << 4;  // Tn_PER_INT_CAP
  static constexpr uint64_t k64BitCapable = 1u << 5;     // Tn_SIZE_CAP
  static constexpr uint64_t kValueSet = 1u << 6;         // Tn_VAL_SET_CNF
  static constexpr uint64_t kForce32Bit = 1u << 8;       // Tn_32MODE_CNF
  static constexpr unsigned kRouteShift = 9;             // Tn_INT_ROUTE_CNF, 5 bits
  static constexpr uint64_t kRouteMask = 0x1full << kRouteShift;

  // `set_gsi(gsi, level)` drives a global system interrupt line.
  Hpet(TimerService& timers, std::function<void(unsigned, bool)> set_gsi);
  ~Hpet() override;

  uint64_t read(uint64_t offset, unsigned size) override;
  void write(uint64_t offset, unsigned size, uint64_t value) override;

  // While set, the PIT's IRQ 0 and the RTC's IRQ 8 are not connected.
  bool legacy_replacement() const { return legacy_.load(std::memory_order_acquire); }

  void reset();
  // Saves or loads the registers; throws Error if loaded state is inconsistent.
  void serialize(StateStream& s);

  // The first 32 bits of GCAP_ID, which the ACPI HPET table repeats.
  static uint32_t capabilities_low();

 private:
  struct Comparator {
    uint64_t config = 0;      // Tn_CONF_CAP's writable bits
    uint64_t comparator = 0;  // Tn_COMPARATOR
    uint64_t period = 0;      // the last value written in periodic mode
    bool asserted = false;    // a level interrupt is being driven
  };

  uint64_t read_register(uint64_t offset, int64_t now);
  void write_register(uint64_t offset, uint64_t value, uint64_t written_mask, int64_t now);
  uint64_t counter_at(int64_t now) const;
  uint64_t timer_capabilities(unsigned index) const;
  bool is_32bit(const Comparator& t) const { return (t.config & kForce32Bit) != 0; }
  int gsi_of(unsigned index) const;  // -1 when it has none
  void rearm(unsigned index, int64_t now);
  void rearm_all(int64_t now);
  void fire(unsigned index);  // a timer's callback
  void set_line(unsigned index, bool level);
  void drop_line(unsigned index);

  std::mutex mutex_;
  TimerService& timers_;
  std::function<void(unsigned, bool)> set_gsi_;
  uint64_t config_ = 0;            // GEN_CONF
  uint64_t interrupt_status_ = 0;  // GINTR_STA
  uint64_t base_count_ = 0;        // MAIN_CNT at base_ns_
  int64_t base_ns_ = 0;
  Comparator comparators_[kTimers];
  std::unique_ptr<Timer> timers_for_[kTimers];
  std::atomic<bool> legacy_{false};
};

}  // namespace vireo
