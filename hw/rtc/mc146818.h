// Motorola MC146818A real-time clock and its CMOS RAM at ports 0x70
// (index) and 0x71 (data), on IRQ 8. Register names follow the MC146818A
// datasheet (and the Dallas DS12887's, which PCs carry).
//
// The time runs from the host's wall clock at construction (QEMU's default
// -rtc base=utc) and then with the machine's virtual clock, so it stops
// when the machine pauses. Nothing steps it: the clock registers, the
// update-in-progress window and the interrupt flags are derived from the
// virtual time when read, and a timer runs only while an enabled interrupt
// is due.
//
// Lost periodic interrupts (-rtc driftfix=slew): a guest that keeps time by
// counting periodic interrupts (Windows does) falls behind when it does not
// read register C before the next period ends, because the interrupts merge
// into one. With the slew policy the RTC counts the periods that merged and
// owes them to the guest: each read of C that ends an interrupt re-raises
// one owed interrupt at once, up to kReinjectOnAckLimit in a row; beyond
// that a timer re-raises them at 2-8 times the periodic rate. The default
// policy (QEMU's "discard") lets them merge, as the hardware does.
//
// Threads: vCPU threads (ports) and the timer thread; mutex_ guards the
// registers. Lock order: mutex_, then the interrupt controllers' lock (IRQ
// 8) and the timer service's.
#pragma once

#include <cstdint>
#include <mutex>

#include "hw/core/io_bus.h"
#include "hw/core/irq.h"
#include "hw/core/timer.h"
#include "util/serialize.h"

namespace vireo {

struct Mc146818Registers {
  static constexpr unsigned kSize = 128;
  uint8_t cmos[kSize] = {};  // 0x00-0x0d clock registers, 0x0e-0x7f NVRAM
  uint8_t index = 0;         // as written to port 0x70
  // Time keeping: the RTC's seconds count `anchor_seconds` (Unix time)
  // began at virtual time anchor_ns; while the clock runs, the time is that
  // plus the whole seconds since. While it is stopped (SET, divider reset)
  // the clock registers hold the time.
  int64_t anchor_seconds = 0;
  int64_t anchor_ns = 0;
  int64_t updates_done_ns = 0;   // update-ended and alarm flags evaluated up to here
  int64_t periodic_done_ns = 0;  // periodic flag evaluated up to here
  uint8_t irq_level = 0;
  // Slew policy only: periodic interrupts owed to the guest, the ones
  // re-raised on reads of C since the last regular one, and when the
  // re-injection timer is due (TimerService::kNever: not armed).
  uint32_t owed_periodic = 0;
  uint32_t reinjected_on_ack = 0;
  int64_t reinject_due_ns = TimerService::kNever;
};

// What happens to periodic interrupts the guest did not take in time
// (QEMU's lost_tick_policy for its mc146818rtc).
enum class LostTickPolicy { Discard, Slew };

class Mc146818 final : public BusDevice {
 public:
  // Port offsets from 0x70.
  static constexpr uint64_t kIndexPort = 0;
  static constexpr uint64_t kDataPort = 1;
  static constexpr uint64_t kPortCount = 2;
  static constexpr uint8_t kIndexMask = 0x7f;  // bit 7 of port 0x70 gates NMI on a PC; ignored

  // Register indexes (datasheet figure 3).
  static constexpr uint8_t kSeconds = 0x00;
  static constexpr uint8_t kSecondsAlarm = 0x01;
  static constexpr uint8_t kMinutes = 0x02;
  static constexpr uint8_t kMinutesAlarm = 0x03;
  static constexpr uint8_t kHours = 0x04;
  static constexpr uint8_t kHoursAlarm = 0x05;
  static constexpr uint8_t kDayOfWeek = 0x06;  // 1 = Sunday
  static constexpr uint8_t kDayOfMonth = 0x07;
  static constexpr uint8_t kMonth = 0x08;
  static constexpr uint8_t kYear = 0x09;
  static constexpr uint8_t kRegA = 0x0a;
  static constexpr uint8_t kRegB = 0x0b;
  static constexpr uint8_t kRegC = 0x0c;
  static constexpr uint8_t kRegD = 0x0d;
  static constexpr uint8_t kCentury = 0x32;  // the PC's century byte (ACPI FADT CENTURY)

  // Register A.
  static constexpr uint8_t kAUpdateInProgress = 0x80;
  static constexpr uint8_t kADividerMask = 0x70;   // DV2-DV0: 010 = 32.768 kHz time base
  static constexpr uint8_t kADividerReset = 0x60;  // DV2-DV1 both set: divider chain held in reset
  static constexpr uint8_t kARateMask = 0x0f;      // RS3-RS0: periodic interrupt rate
  // Register B.
  static constexpr uint8_t kBSet = 0x80;
  static constexpr uint8_t kBPeriodicEnable = 0x40;
  static constexpr uint8_t kBAlarmEnable = 0x20;
  static constexpr uint8_t kBUpdateEndedEnable = 0x10;
  static constexpr uint8_t kBSquareWaveEnable = 0x08;
  static constexpr uint8_t kBBinary = 0x04;   // DM: binary, not BCD
  static constexpr uint8_t kB24Hour = 0x02;
  static constexpr uint8_t kBDaylightSaving = 0x01;  // stored, not applied (as QEMU)
  // Register C (read-only, cleared by reading).
  static constexpr uint8_t kCIrq = 0x80;       // IRQF
  static constexpr uint8_t kCPeriodic = 0x40;  // PF
  static constexpr uint8_t kCAlarm = 0x20;     // AF
  static constexpr uint8_t kCUpdateEnded = 0x10;  // UF
  static constexpr uint8_t kCFlags = kCPeriodic | kCAlarm | kCUpdateEnded;
  // Register D.
  static constexpr uint8_t kDValidRamAndTime = 0x80;
  // An alarm byte with bits 7:6 set matches every value.
  static constexpr uint8_t kAlarmDontCare = 0xc0;

  // Register values after the firmware's set-up, as QEMU starts them:
  // 32.768 kHz time base at 1024 Hz periodic rate; 24-hour BCD.
  static constexpr uint8_t kInitialRegA = 0x26;
  static constexpr uint8_t kInitialRegB = kB24Hour;

  // UIP rises this long before each update: 8 cycles of 32.768 kHz
  // (datasheet "Update Cycle": "at least 244 us").
  static constexpr int64_t kUpdateInProgressNs = 244'141;

  // Re-injections on reads of register C in a row before the timer takes
  // over, and the most interrupts owed (64 s at 1024 Hz) so that a guest
  // that masks IRQ 8 for good cannot make the count grow without bound.
  static constexpr uint32_t kReinjectOnAckLimit = 20;
  static constexpr uint32_t kMaxOwedPeriodic = 1u << 16;

  // `wall_clock_ns`: the time the RTC starts at, in ns since the Unix epoch.
  Mc146818(TimerService& timers, IrqLine irq8, int64_t wall_clock_ns,
           LostTickPolicy lost_ticks = LostTickPolicy::Discard);

  LostTickPolicy lost_tick_policy() const { return lost_ticks_; }

  uint64_t read(uint64_t offset, unsigned size) override;
  void write(uint64_t offset, unsigned size, uint64_t value) override;

  // The machine's NVRAM contents (memory sizes and the like); and for tests.
  void set_nvram(uint8_t index, uint8_t value);
  uint8_t nvram(uint8_t index);

  // The RESET pin (machine reset): interrupt enables and flags clear; the
  // time, register A and the NVRAM stay (datasheet "RESET").
  void reset();
  // Saves or loads the registers; throws Error if loaded state is inconsistent.
  void serialize(StateStream& s);

 private:
  uint8_t read_register(uint8_t index);
  void write_register(uint8_t index, uint8_t value);
  bool divider_running() const;
  bool clock_running() const;
  bool is_clock_register(uint8_t index) const;
  void refresh_clock_registers(int64_t now);  // from the running time
  int64_t parse_clock_registers() const;      // the registers' time in Unix seconds
  void start_clock(int64_t now, int64_t first_update_delay_ns);
  void catch_up(int64_t now);                 // sets PF/UF/AF for what passed
  bool alarm_matches_between(int64_t first_seconds, int64_t last_seconds) const;
  bool periodic_wanted() const;           // PIE on with a running divider and a rate
  int64_t periodic_period_ns() const;     // the current rate's period, rounded
  void forget_owed_periodic();
  void reinject_owed_periodic(int64_t now, bool on_ack);
  void update_irq();
  void arm_timer(int64_t now);
  void timer_expired();
  uint8_t encode(int value) const;
  int decode(uint8_t value) const;
  int decode_hour(uint8_t value) const;  // 12- or 24-hour register to 0-23

  std::mutex mutex_;
  TimerService& timers_;
  IrqLine irq8_;
  const LostTickPolicy lost_ticks_;
  Mc146818Registers regs_;
  Timer timer_;
};

}  // namespace vireo
