#include "hw/timer/hpet.h"

#include <algorithm>
#include <iterator>

namespace vireo {

namespace {

constexpr uint64_t kFemtosecondsPerTick = uint64_t{Hpet::kTickNs} * 1'000'000;
constexpr uint64_t kGeneralConfigBits = Hpet::kEnable | Hpet::kLegacyReplacement;
constexpr uint64_t kRoutablePins = 0xfull << Hpet::kFirstRoutablePin;  // INT_ROUTE_CAP
// A deadline further away than this (about 3 hours) is armed at this
// distance and re-checked then, which keeps the nanosecond sums in range.
constexpr uint64_t kMaxArmTicks = 1ull << 40;
// A periodic timer fires at most every 10 us (1000 ticks): a guest that
// programs a shorter period gets its interrupts coalesced rather than
// keeping the timer thread busy at 100 MHz.
constexpr uint64_t kMinPeriodicTicks = 1000;

uint64_t size_mask(unsigned bytes) { return bytes >= 8 ? ~0ull : (1ull << (bytes * 8)) - 1; }

}  // namespace

uint32_t Hpet::capabilities_low() {
  return 0x01                        // REV_ID
         | (kTimers - 1) << 8        // NUM_TIM_CAP: the last timer's number
         | 1u << 13                  // COUNT_SIZE_CAP: 64-bit main counter
         | 1u << 15                  // LEG_RT_CAP
         | uint32_t{0x8086} << 16;   // VENDOR_ID, as QEMU's
}

Hpet::Hpet(TimerService& timers, std::function<void(unsigned, bool)> set_gsi)
    : timers_(timers), set_gsi_(std::move(set_gsi)) {
  for (unsigned i = 0; i < kTimers; ++i) {
    timers_for_[i] = std::make_unique<Timer>(timers_, [this, i] { fire(i); });
  }
  reset();
}

Hpet::~Hpet() {
  for (auto& timer : timers_for_) timer.reset();  // before the state they use
}

void Hpet::reset() {
  std::lock_guard lock(mutex_);
  for (unsigned i = 0; i < kTimers; ++i) {
    drop_line(i);
    timers_for_[i]->cancel();
    comparators_[i] = Comparator{};
    comparators_[i].comparator = ~0ull;  // spec §2.3.9.2: comparators reset to all ones
  }
  config_ = 0;
  interrupt_status_ = 0;
  base_count_ = 0;
  base_ns_ = timers_.now_ns();
  legacy_.store(false, std::memory_order_release);
}

uint64_t Hpet::counter_at(int64_t now) const {
  if (!(config_ & kEnable)) return base_count_;
  return base_count_ + static_cast<uint64_t>((now - base_ns_) / kTickNs);
}

uint64_t Hpet::timer_capabilities(unsigned index) const {
  return k64BitCapable | (index == 0 ? kPeriodicCapable : 0) | (kRoutablePins << 32);
}

int Hpet::gsi_of(unsigned index) const {
  if (config_ & kLegacyReplacement) {
    if (index == 0) return 0;  // in place of the PIT
    if (index == 1) return 8;  // in place of the RTC
  }
  unsigned route = static_cast<unsigned>((comparators_[index].config & kRouteMask) >> kRouteShift);
  return (kRoutablePins >> route) & 1 ? static_cast<int>(route) : -1;
}

void Hpet::set_line(unsigned index, bool level) {
  int gsi = gsi_of(index);
  if (gsi >= 0) set_gsi_(static_cast<unsigned>(gsi), level);
}

void Hpet::drop_line(unsigned index) {
  if (!comparators_[index].asserted) return;
  set_line(index, false);
  comparators_[index].asserted = false;
}

// --- Registers ------------------------------------------------------------

uint64_t Hpet::read(uint64_t offset, unsigned size) {
  std::lock_guard lock(mutex_);
  // Registers are 64 bits wide; guests read them whole or by 32-bit halves.
  uint64_t value = read_register(offset & ~7ull, timers_.now_ns());
  return (value >> ((offset & 7) * 8)) & size_mask(size);
}

void Hpet::write(uint64_t offset, unsigned size, uint64_t value) {
  std::lock_guard lock(mutex_);
  const unsigned shift = static_cast<unsigned>(offset & 7) * 8;
  write_register(offset & ~7ull, (value & size_mask(size)) << shift, size_mask(size) << shift,
                 timers_.now_ns());
}

uint64_t Hpet::read_register(uint64_t offset, int64_t now) {
  switch (offset) {
    case kCapabilities: return capabilities_low() | (kFemtosecondsPerTick << 32);
    case kConfig: return config_;
    case kInterruptStatus: return interrupt_status_;
    case kMainCounter: return counter_at(now);
  }
  if (offset < kTimerBlock) return 0;
  const uint64_t index = (offset - kTimerBlock) / 0x20;
  if (index >= kTimers) return 0;
  const Comparator& t = comparators_[index];
  switch ((offset - kTimerBlock) % 0x20) {
    case kTimerConfig: return t.config | timer_capabilities(static_cast<unsigned>(index));
    case kTimerComparator: return is_32bit(t) ? t.comparator & 0xffffffff : t.comparator;
    default: return 0;  // Tn_FSB_INT_ROUTE: no FSB delivery
  }
}

void Hpet::write_register(uint64_t offset, uint64_t value, uint64_t written_mask, int64_t now) {
  auto merge = [&](uint64_t old, uint64_t writable) {
    uint64_t mask = written_mask & writable;
    return (old & ~mask) | (value & mask);
  };
  switch (offset) {
    case kConfig: {
      uint64_t updated = merge(config_, kGeneralConfigBits);
      if ((updated ^ config_) & kEnable) {
        // Stopping freezes the count; starting continues from it.
        base_count_ = counter_at(now);
        base_ns_ = now;
      }
      if ((updated ^ config_) & kLegacyReplacement) {
        drop_line(0);  // from their old lines
        drop_line(1);
      }
      config_ = updated;
      legacy_.store((config_ & kLegacyReplacement) != 0, std::memory_order_release);
      rearm_all(now);
      return;
    }
    case kInterruptStatus:
      // Writing 1 clears a level-triggered timer's status and its line.
      for (unsigned i = 0; i < kTimers; ++i) {
        if (!(value & written_mask & (1ull << i))) continue;
        interrupt_status_ &= ~(1ull << i);
        drop_line(i);
      }
      return;
    case kMainCounter:
      // The spec wants the counter halted for writes; QEMU takes them anyway.
      base_count_ = merge(counter_at(now), ~0ull);
      base_ns_ = now;
      rearm_all(now);
      return;
  }
  if (offset < kTimerBlock) return;
  const uint64_t index64 = (offset - kTimerBlock) / 0x20;
  if (index64 >= kTimers) return;
  const unsigned index = static_cast<unsigned>(index64);
  Comparator& t = comparators_[index];
  switch ((offset - kTimerBlock) % 0x20) {
    case kTimerConfig: {
      uint64_t writable = kLevelTriggered | kInterruptEnable | kValueSet | kForce32Bit | kRouteMask |
                          (index == 0 ? kPeriodic : 0);
      uint64_t updated = merge(t.config, writable);
      unsigned route = static_cast<unsigned>((updated & kRouteMask) >> kRouteShift);
      if (!((kRoutablePins >> route) & 1)) updated = (updated & ~kRouteMask) | (t.config & kRouteMask);
      // A level interrupt ends when its timer is disabled, rerouted or
      // switched to edge.
      if ((updated ^ t.config) & (kLevelTriggered | kInterruptEnable | kRouteMask)) {
        drop_line(index);
        interrupt_status_ &= ~(1ull << index);
      }
      t.config = updated;
      if (is_32bit(t)) t.comparator &= 0xffffffff;
      rearm(index, now);
      return;
    }
    case kTimerComparator: {
      uint64_t updated = merge(is_32bit(t) ? t.comparator & 0xffffffff : t.comparator, ~0ull);
      if (is_32bit(t)) updated &= 0xffffffff;
      // In periodic mode a write sets the period, and the comparator too
      // only while Tn_VAL_SET_CNF is set (spec §2.3.9.2.2: how software
      // starts a periodic timer at a chosen count).
      const bool periodic = (t.config & kPeriodic) != 0;
      if (!periodic || (t.config & kValueSet)) t.comparator = updated;
      if (periodic) t.period = updated;
      t.config &= ~kValueSet;
      rearm(index, now);
      return;
    }
    default:
      return;
  }
}

// --- Comparator matches -----------------------------------------------------

void Hpet::rearm_all(int64_t now) {
  for (unsigned i = 0; i < kTimers; ++i) rearm(i, now);
}

void Hpet::rearm(unsigned index, int64_t now) {
  Comparator& t = comparators_[index];
  Timer& timer = *timers_for_[index];
  if (!(config_ & kEnable) || !(t.config & kInterruptEnable)) {
    timer.cancel();
    return;
  }
  const uint64_t width_mask = is_32bit(t) ? 0xffffffffull : ~0ull;
  const uint64_t count = counter_at(now);
  uint64_t ticks = (t.comparator - count) & width_mask;
  if (!is_32bit(t) && ticks > (1ull << 63)) {
    timer.cancel();  // a 64-bit comparator behind the counter: no match for centuries
    return;
  }
  ticks = std::min(ticks, kMaxArmTicks);
  // The counter reaches count + ticks at this moment (a whole tick boundary).
  const uint64_t target = (count - base_count_) + ticks;
  timer.arm(base_ns_ + static_cast<int64_t>(target) * kTickNs);
}

void Hpet::fire(unsigned index) {
  std::lock_guard lock(mutex_);
  Comparator& t = comparators_[index];
  if (!(config_ & kEnable) || !(t.config & kInterruptEnable)) return;
  const int64_t now = timers_.now_ns();
  const uint64_t width_mask = is_32bit(t) ? 0xffffffffull : ~0ull;
  const uint64_t count = counter_at(now) & width_mask;
  const uint64_t past = (count - t.comparator) & width_mask;
  if (past > width_mask / 2) {  // not there yet: a capped deadline
    rearm(index, now);
    return;
  }
  if (t.config & kLevelTriggered) {
    interrupt_status_ |= 1ull << index;
    if (!t.asserted) set_line(index, true);
    t.asserted = true;
  } else {
    set_line(index, true);  // an edge: the PIC and IOAPIC latch it
    set_line(index, false);
  }
  if ((t.config & kPeriodic) && t.period != 0) {
    // The next multiple of the period after now; periods missed while the
    // host was busy are dropped, as a late tick would be on hardware.
    const uint64_t periods = std::max(past / t.period + 1, (kMinPeriodicTicks + t.period - 1) / t.period);
    t.comparator = (t.comparator + periods * t.period) & width_mask;
    rearm(index, now);
  } else if (is_32bit(t)) {
    // A 32-bit one-shot matches again when the counter wraps around.
    timers_for_[index]->arm(now + static_cast<int64_t>(((t.comparator - count - 1) & width_mask) + 1) * kTickNs);
  }
}

// --- Saved state ------------------------------------------------------------

void Hpet::serialize(StateStream& s) {
  std::lock_guard lock(mutex_);
  const int64_t now = timers_.now_ns();
  uint64_t count = counter_at(now);
  // A load fills copies, which replace the registers only once they are
  // checked: a refused state leaves the HPET as it was.
  uint64_t config = config_;
  uint64_t interrupt_status = interrupt_status_;
  Comparator comparators[kTimers];
  std::copy(std::begin(comparators_), std::end(comparators_), comparators);
  s(config);
  s(interrupt_status);
  s(count);
  for (Comparator& t : comparators) {
    s(t.config);
    s(t.comparator);
    s(t.period);
    s(t.asserted);
  }
  if (!s.loading()) return;
  const uint64_t timer_bits = kLevelTriggered | kInterruptEnable | kPeriodic | kValueSet | kForce32Bit | kRouteMask;
  if (config & ~kGeneralConfigBits) throw Error("hpet: invalid GEN_CONF in saved state");
  for (const Comparator& t : comparators) {
    if (t.config & ~timer_bits) throw Error("hpet: invalid Tn_CONF in saved state");
  }
  config_ = config;
  interrupt_status_ = interrupt_status;
  std::copy(std::begin(comparators), std::end(comparators), comparators_);
  base_count_ = count;
  base_ns_ = now;
  legacy_.store((config_ & kLegacyReplacement) != 0, std::memory_order_release);
  for (unsigned i = 0; i < kTimers; ++i) {
    if (comparators_[i].asserted) set_line(i, true);
  }
  rearm_all(now);
}

}  // namespace vireo
