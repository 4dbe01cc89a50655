#include "hw/rtc/mc146818.h"

#include <algorithm>
#include <ctime>

#include "util/error.h"

namespace vireo {

namespace {

constexpr int64_t kNsPerSecond = 1'000'000'000;
constexpr int64_t kTimeBaseHz = 32768;

int64_t floor_div(int64_t a, int64_t b) {
  int64_t q = a / b;
  return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

// Whole 32.768 kHz cycles in `ns` (floor), and the first ns at which `cycles` have passed.
int64_t time_base_cycles(int64_t ns) {
  return static_cast<int64_t>(floor_div(ns, kNsPerSecond) * kTimeBaseHz +
                              (((ns % kNsPerSecond) + kNsPerSecond) % kNsPerSecond) * kTimeBaseHz / kNsPerSecond);
}
int64_t ns_for_time_base_cycles(int64_t cycles) {
  int64_t seconds = floor_div(cycles, kTimeBaseHz);
  int64_t rest = cycles - seconds * kTimeBaseHz;
  return seconds * kNsPerSecond + (rest * kNsPerSecond + kTimeBaseHz - 1) / kTimeBaseHz;
}

// The periodic interrupt's period as a power of two of time-base cycles
// (datasheet table 5: RS = 3..15 is 2^(RS-1) cycles; 1 and 2 repeat 8 and 9).
unsigned periodic_shift(uint8_t rate) { return (rate <= 2 ? rate + 7u : rate) - 1u; }

}  // namespace

Mc146818::Mc146818(TimerService& timers, IrqLine irq8, int64_t wall_clock_ns, LostTickPolicy lost_ticks)
    : timers_(timers), irq8_(std::move(irq8)), lost_ticks_(lost_ticks), timer_(timers, [this] { timer_expired(); }) {
  std::lock_guard lock(mutex_);
  int64_t now = timers_.now_ns();
  regs_.cmos[kRegA] = kInitialRegA;
  regs_.cmos[kRegB] = kInitialRegB;
  regs_.cmos[kRegD] = kDValidRamAndTime;
  regs_.anchor_seconds = floor_div(wall_clock_ns, kNsPerSecond);
  regs_.anchor_ns = now - (wall_clock_ns - regs_.anchor_seconds * kNsPerSecond);
  regs_.updates_done_ns = now;
  regs_.periodic_done_ns = now;
  refresh_clock_registers(now);
}

void Mc146818::reset() {
  std::lock_guard lock(mutex_);
  int64_t now = timers_.now_ns();
  catch_up(now);
  regs_.cmos[kRegB] &= static_cast<uint8_t>(~(kBPeriodicEnable | kBAlarmEnable | kBUpdateEndedEnable | kBSquareWaveEnable));
  regs_.cmos[kRegC] = 0;
  forget_owed_periodic();
  update_irq();
  arm_timer(now);
}

void Mc146818::set_nvram(uint8_t index, uint8_t value) {
  std::lock_guard lock(mutex_);
  if (index < Mc146818Registers::kSize && index > kRegD) regs_.cmos[index] = value;
}

uint8_t Mc146818::nvram(uint8_t index) {
  std::lock_guard lock(mutex_);
  return index < Mc146818Registers::kSize ? regs_.cmos[index] : 0xff;
}

// --- Ports -----------------------------------------------------------------------

uint64_t Mc146818::read(uint64_t offset, unsigned size) {
  (void)size;
  std::lock_guard lock(mutex_);
  switch (offset) {
    case kIndexPort:
      return 0xff;  // write-only on a PC; QEMU reads 0xff too
    case kDataPort:
      return read_register(regs_.index);
    default:
      return 0xff;
  }
}

void Mc146818::write(uint64_t offset, unsigned size, uint64_t value) {
  (void)size;
  std::lock_guard lock(mutex_);
  switch (offset) {
    case kIndexPort:
      regs_.index = static_cast<uint8_t>(value) & kIndexMask;
      break;
    case kDataPort:
      write_register(regs_.index, static_cast<uint8_t>(value));
      break;
    default:
      break;
  }
}

bool Mc146818::is_clock_register(uint8_t index) const {
  return index == kSeconds || index == kMinutes || index == kHours || index == kDayOfWeek ||
         index == kDayOfMonth || index == kMonth || index == kYear || index == kCentury;
}

uint8_t Mc146818::read_register(uint8_t index) {
  int64_t now = timers_.now_ns();
  if (is_clock_register(index)) {
    if (clock_running()) refresh_clock_registers(now);
    return regs_.cmos[index];
  }
  switch (index) {
    case kRegA: {
      uint8_t value = regs_.cmos[kRegA] & static_cast<uint8_t>(~kAUpdateInProgress);
      int64_t into_second = now - regs_.anchor_ns - floor_div(now - regs_.anchor_ns, kNsPerSecond) * kNsPerSecond;
      if (clock_running() && into_second >= kNsPerSecond - kUpdateInProgressNs) value |= kAUpdateInProgress;
      return value;
    }
    case kRegC: {
      // Reading C returns the flags and clears them, ending the interrupt.
      catch_up(now);
      uint8_t value = regs_.cmos[kRegC];
      regs_.cmos[kRegC] = 0;
      update_irq();
      if (value & kCIrq) reinject_owed_periodic(now, /*on_ack=*/true);
      arm_timer(now);
      return value;
    }
    default:
      return regs_.cmos[index];
  }
}

void Mc146818::write_register(uint8_t index, uint8_t value) {
  int64_t now = timers_.now_ns();
  if (is_clock_register(index)) {
    if (!clock_running()) {
      regs_.cmos[index] = value;  // taken when SET clears
      return;
    }
    // The clock runs: the new field takes effect at once, in the current
    // second's phase (QEMU sets the time immediately as well).
    catch_up(now);
    refresh_clock_registers(now);
    regs_.cmos[index] = value;
    regs_.anchor_seconds = parse_clock_registers();
    regs_.anchor_ns += floor_div(now - regs_.anchor_ns, kNsPerSecond) * kNsPerSecond;
    regs_.updates_done_ns = now;
    arm_timer(now);
    return;
  }
  switch (index) {
    case kRegA: {
      catch_up(now);
      int64_t old_period = periodic_wanted() ? periodic_period_ns() : 0;
      bool was_running = clock_running();
      bool divider_was_running = divider_running();
      if (was_running) refresh_clock_registers(now);
      regs_.cmos[kRegA] = value & static_cast<uint8_t>(~kAUpdateInProgress);
      if (!divider_was_running && divider_running() && !(regs_.cmos[kRegB] & kBSet)) {
        // Leaving divider reset: the first update comes 500 ms later
        // (datasheet "Divider Chain Reset").
        start_clock(now, kNsPerSecond / 2);
      }
      regs_.periodic_done_ns = now;
      if (!periodic_wanted()) {
        forget_owed_periodic();
      } else if (old_period != 0 && regs_.owed_periodic != 0) {
        // A new rate: owe the same time in the new periods.
        int64_t owed = regs_.owed_periodic * old_period / periodic_period_ns();
        regs_.owed_periodic = static_cast<uint32_t>(std::min<int64_t>(owed, kMaxOwedPeriodic));
      }
      update_irq();
      arm_timer(now);
      break;
    }
    case kRegB: {
      catch_up(now);
      uint8_t old = regs_.cmos[kRegB];
      if (clock_running() && (value & kBSet)) refresh_clock_registers(now);  // freeze the time
      // SET going high ends update-ended interrupts (DS12887: "UIE is
      // cleared when the SET bit goes high").
      if ((value & kBSet) && !(old & kBSet)) value &= static_cast<uint8_t>(~kBUpdateEndedEnable);
      regs_.cmos[kRegB] = value;
      if ((old & kBSet) && !(value & kBSet) && divider_running()) start_clock(now, kNsPerSecond);
      if (!periodic_wanted()) forget_owed_periodic();
      update_irq();
      arm_timer(now);
      break;
    }
    case kRegC:
    case kRegD:
      break;  // read-only
    default:
      regs_.cmos[index] = value;  // alarms and NVRAM
      if (index == kSecondsAlarm || index == kMinutesAlarm || index == kHoursAlarm) {
        catch_up(now);
        arm_timer(now);
      }
      break;
  }
}

// --- Time ------------------------------------------------------------------------

bool Mc146818::divider_running() const {
  return (regs_.cmos[kRegA] & kADividerReset) != kADividerReset;
}

bool Mc146818::clock_running() const { return divider_running() && !(regs_.cmos[kRegB] & kBSet); }

uint8_t Mc146818::encode(int value) const {
  if (regs_.cmos[kRegB] & kBBinary) return static_cast<uint8_t>(value);
  return static_cast<uint8_t>(((value / 10) << 4) | (value % 10));
}

int Mc146818::decode(uint8_t value) const {
  if (regs_.cmos[kRegB] & kBBinary) return value;
  return (value >> 4) * 10 + (value & 0xf);
}

void Mc146818::refresh_clock_registers(int64_t now) {
  int64_t seconds = regs_.anchor_seconds + floor_div(now - regs_.anchor_ns, kNsPerSecond);
  time_t t = static_cast<time_t>(seconds);
  tm fields{};
  gmtime_r(&t, &fields);
  uint8_t* r = regs_.cmos;
  r[kSeconds] = encode(fields.tm_sec);
  r[kMinutes] = encode(fields.tm_min);
  if (regs_.cmos[kRegB] & kB24Hour) {
    r[kHours] = encode(fields.tm_hour);
  } else {
    // 12-hour mode: 12, 1-11 with bit 7 for PM.
    int hour = fields.tm_hour % 12;
    r[kHours] = static_cast<uint8_t>(encode(hour == 0 ? 12 : hour) | (fields.tm_hour >= 12 ? 0x80 : 0));
  }
  r[kDayOfWeek] = encode(fields.tm_wday + 1);
  r[kDayOfMonth] = encode(fields.tm_mday);
  r[kMonth] = encode(fields.tm_mon + 1);
  int year = fields.tm_year + 1900;
  r[kYear] = encode(year % 100);
  r[kCentury] = encode(year / 100);
}

int Mc146818::decode_hour(uint8_t value) const {
  if (regs_.cmos[kRegB] & kB24Hour) return decode(value);
  return decode(value & 0x7f) % 12 + ((value & 0x80) ? 12 : 0);  // 12 AM is hour 0
}

int64_t Mc146818::parse_clock_registers() const {
  const uint8_t* r = regs_.cmos;
  tm fields{};
  fields.tm_sec = decode(r[kSeconds] & 0x7f);
  fields.tm_min = decode(r[kMinutes]);
  fields.tm_hour = decode_hour(r[kHours]);
  fields.tm_mday = decode(r[kDayOfMonth]);
  fields.tm_mon = decode(r[kMonth]) - 1;
  fields.tm_year = decode(r[kYear]) + decode(r[kCentury]) * 100 - 1900;
  return static_cast<int64_t>(timegm(&fields));
}

void Mc146818::start_clock(int64_t now, int64_t first_update_delay_ns) {
  regs_.anchor_seconds = parse_clock_registers();
  regs_.anchor_ns = now + first_update_delay_ns - kNsPerSecond;
  regs_.updates_done_ns = now;
  regs_.periodic_done_ns = now;
}

bool Mc146818::alarm_matches_between(int64_t first_seconds, int64_t last_seconds) const {
  const uint8_t* r = regs_.cmos;
  auto dont_care = [](uint8_t v) { return (v & kAlarmDontCare) == kAlarmDontCare; };
  int alarm_second = dont_care(r[kSecondsAlarm]) ? -1 : decode(r[kSecondsAlarm]);
  int alarm_minute = dont_care(r[kMinutesAlarm]) ? -1 : decode(r[kMinutesAlarm]);
  int alarm_hour = dont_care(r[kHoursAlarm]) ? -1 : decode_hour(r[kHoursAlarm]);
  // A day covers every time of day; no need to look further.
  int64_t last = std::min(last_seconds, first_seconds + 86400 - 1);
  for (int64_t t = first_seconds; t <= last; ++t) {
    int64_t of_day = ((t % 86400) + 86400) % 86400;
    if ((alarm_second < 0 || alarm_second == of_day % 60) && (alarm_minute < 0 || alarm_minute == of_day / 60 % 60) &&
        (alarm_hour < 0 || alarm_hour == of_day / 3600)) {
      return true;
    }
  }
  return false;
}

void Mc146818::catch_up(int64_t now) {
  uint8_t rate = regs_.cmos[kRegA] & kARateMask;
  if (divider_running() && rate != 0 && now > regs_.periodic_done_ns) {
    // Periodic flag: a period boundary (aligned to the divider chain's
    // seconds) passed since the last look.
    unsigned shift = periodic_shift(rate);
    int64_t done = time_base_cycles(regs_.periodic_done_ns - regs_.anchor_ns) >> shift;
    int64_t passed = time_base_cycles(now - regs_.anchor_ns) >> shift;
    if (passed > done) {
      // Periods that end while PF is still set merge into one interrupt.
      int64_t merged = passed - done - ((regs_.cmos[kRegC] & kCPeriodic) ? 0 : 1);
      if (lost_ticks_ == LostTickPolicy::Slew && (regs_.cmos[kRegB] & kBPeriodicEnable)) {
        regs_.owed_periodic = static_cast<uint32_t>(std::min<int64_t>(regs_.owed_periodic + merged, kMaxOwedPeriodic));
        if (!(regs_.cmos[kRegC] & kCPeriodic)) regs_.reinjected_on_ack = 0;  // a regular interrupt
      }
      regs_.cmos[kRegC] |= kCPeriodic;
    }
  }
  regs_.periodic_done_ns = std::max(regs_.periodic_done_ns, now);
  if (clock_running() && now > regs_.updates_done_ns) {
    int64_t done = floor_div(regs_.updates_done_ns - regs_.anchor_ns, kNsPerSecond);
    int64_t passed = floor_div(now - regs_.anchor_ns, kNsPerSecond);
    if (passed > done) {
      regs_.cmos[kRegC] |= kCUpdateEnded;
      if (alarm_matches_between(regs_.anchor_seconds + done + 1, regs_.anchor_seconds + passed)) {
        regs_.cmos[kRegC] |= kCAlarm;
      }
    }
  }
  regs_.updates_done_ns = std::max(regs_.updates_done_ns, now);
  update_irq();
}

// --- Interrupts ------------------------------------------------------------------

bool Mc146818::periodic_wanted() const {
  return (regs_.cmos[kRegB] & kBPeriodicEnable) && divider_running() && (regs_.cmos[kRegA] & kARateMask) != 0;
}

int64_t Mc146818::periodic_period_ns() const {
  return ns_for_time_base_cycles(int64_t{1} << periodic_shift(regs_.cmos[kRegA] & kARateMask));
}

void Mc146818::forget_owed_periodic() {
  regs_.owed_periodic = 0;
  regs_.reinjected_on_ack = 0;
  regs_.reinject_due_ns = TimerService::kNever;
}

// Raises one owed periodic interrupt if the line is free, or schedules it.
// `on_ack`: the guest just ended an interrupt by reading register C.
void Mc146818::reinject_owed_periodic(int64_t now, bool on_ack) {
  if (regs_.owed_periodic == 0 || !periodic_wanted()) {
    regs_.reinject_due_ns = TimerService::kNever;
    return;
  }
  bool line_free = !(regs_.cmos[kRegC] & kCPeriodic);
  bool may_raise = on_ack ? regs_.reinjected_on_ack < kReinjectOnAckLimit : now >= regs_.reinject_due_ns;
  if (line_free && may_raise) {
    if (on_ack) ++regs_.reinjected_on_ack;
    --regs_.owed_periodic;
    regs_.cmos[kRegC] |= kCPeriodic;
    update_irq();
  }
  if (regs_.owed_periodic == 0) {
    regs_.reinject_due_ns = TimerService::kNever;
  } else if (regs_.reinject_due_ns == TimerService::kNever || now >= regs_.reinject_due_ns) {
    // Split each period into 2-8 slots, more the more is owed.
    int64_t slots = std::min<int64_t>(regs_.owed_periodic, 7) + 1;
    regs_.reinject_due_ns = now + std::max<int64_t>(periodic_period_ns() / slots, 1);
  }
}

void Mc146818::update_irq() {
  // IRQF = PF.PIE + AF.AIE + UF.UIE (the C flags and B enables share bit positions).
  bool irqf = regs_.cmos[kRegC] & regs_.cmos[kRegB] & kCFlags;
  if (irqf) {
    regs_.cmos[kRegC] |= kCIrq;
  } else {
    regs_.cmos[kRegC] &= static_cast<uint8_t>(~kCIrq);
  }
  if (irqf != static_cast<bool>(regs_.irq_level)) {
    regs_.irq_level = irqf ? 1 : 0;
    irq8_.set(irqf);
  }
}

void Mc146818::arm_timer(int64_t now) {
  // Only an interrupt that could raise IRQ 8 needs a wakeup; flags are
  // otherwise computed when register C is read.
  int64_t next = TimerService::kNever;
  uint8_t b = regs_.cmos[kRegB];
  if (!(regs_.cmos[kRegC] & kCIrq)) {
    uint8_t rate = regs_.cmos[kRegA] & kARateMask;
    if ((b & kBPeriodicEnable) && divider_running() && rate != 0) {
      unsigned shift = periodic_shift(rate);
      int64_t period = (time_base_cycles(now - regs_.anchor_ns) >> shift) + 1;
      next = regs_.anchor_ns + ns_for_time_base_cycles(period << shift);
    }
    if ((b & (kBUpdateEndedEnable | kBAlarmEnable)) && clock_running()) {
      int64_t second = floor_div(now - regs_.anchor_ns, kNsPerSecond) + 1;
      next = std::min(next, regs_.anchor_ns + second * kNsPerSecond);
    }
    if (regs_.owed_periodic != 0) next = std::min(next, regs_.reinject_due_ns);
  }
  if (next == TimerService::kNever) {
    timer_.cancel();
  } else {
    timer_.arm(next);
  }
}

void Mc146818::timer_expired() {
  std::lock_guard lock(mutex_);
  int64_t now = timers_.now_ns();
  catch_up(now);
  if (regs_.owed_periodic != 0) reinject_owed_periodic(now, /*on_ack=*/false);
  arm_timer(now);
}

void Mc146818::serialize(StateStream& s) {
  std::lock_guard lock(mutex_);
  // A load fills a copy, which replaces the registers only once it is
  // checked: a refused state leaves the RTC as it was.
  Mc146818Registers loaded = regs_;
  Mc146818Registers& r = s.loading() ? loaded : regs_;
  s(r.cmos);
  s(r.index);
  s(r.anchor_seconds);
  s(r.anchor_ns);
  s(r.updates_done_ns);
  s(r.periodic_done_ns);
  s(r.irq_level);
  s(r.owed_periodic);
  s(r.reinjected_on_ack);
  s(r.reinject_due_ns);
  if (!s.loading()) return;
  auto sane_ns = [](int64_t t) { return t > -(int64_t{1} << 61) && t < (int64_t{1} << 61); };
  bool times_ok = sane_ns(loaded.anchor_ns) && sane_ns(loaded.updates_done_ns) && sane_ns(loaded.periodic_done_ns) &&
                  loaded.anchor_seconds > -(int64_t{1} << 40) && loaded.anchor_seconds < (int64_t{1} << 40);
  bool owed_ok = loaded.owed_periodic <= kMaxOwedPeriodic && loaded.reinjected_on_ack <= kReinjectOnAckLimit &&
                 (loaded.owed_periodic == 0 || lost_ticks_ == LostTickPolicy::Slew) &&
                 (loaded.reinject_due_ns == TimerService::kNever || sane_ns(loaded.reinject_due_ns));
  if (!times_ok || !owed_ok || loaded.index > kIndexMask || loaded.irq_level > 1 ||
      static_cast<bool>(loaded.irq_level) != static_cast<bool>(loaded.cmos[kRegC] & kCIrq)) {
    throw Error("saved state: inconsistent MC146818 RTC registers");
  }
  regs_ = loaded;
  arm_timer(timers_.now_ns());
}

}  // namespace vireo
