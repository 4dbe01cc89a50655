#include "hw/timer/i8254.h"

#include <algorithm>
#include <iterator>
#include <limits>

#include "util/error.h"

namespace vireo {

namespace {

constexpr uint64_t kNoEdge = std::numeric_limits<uint64_t>::max();
// IRQ 0 edges are at least this far apart: a guest programming a count of
// a few clocks would otherwise keep the timer thread spinning; the PIC
// merges such edges anyway.
constexpr int64_t kMinIrqIntervalNs = 20'000;

uint64_t ticks_in(int64_t ns) {
  if (ns <= 0) return 0;
  return static_cast<uint64_t>(static_cast<unsigned __int128>(ns) * I8254::kClockHz / 1'000'000'000);
}

// The first nanosecond at which `ticks` clocks have passed.
int64_t ns_for_ticks(uint64_t ticks) {
  auto ns = (static_cast<unsigned __int128>(ticks) * 1'000'000'000 + I8254::kClockHz - 1) / I8254::kClockHz;
  return static_cast<int64_t>(std::min<unsigned __int128>(ns, std::numeric_limits<int64_t>::max() / 2));
}

uint32_t from_bcd(uint16_t v) {
  uint32_t d = v;
  return (d & 0xf) + ((d >> 4) & 0xf) * 10 + ((d >> 8) & 0xf) * 100 + ((d >> 12) & 0xf) * 1000;
}

uint16_t to_bcd(uint32_t v) {
  return static_cast<uint16_t>((v % 10) | ((v / 10 % 10) << 4) | ((v / 100 % 10) << 8) | ((v / 1000 % 10) << 12));
}

uint32_t modulus(const I8254Counter& c) { return c.bcd ? 10000 : 65536; }

// The count the CE starts from, in binary: a count register of 0 is the
// largest count, 2^16 or 10^4 in BCD.
uint32_t initial_count(const I8254Counter& c) {
  uint32_t n = c.bcd ? from_bcd(c.count_register) : c.count_register;
  return n == 0 ? modulus(c) : n;
}

// In these modes a low GATE stops the count where it is.
bool gate_holds_count(uint8_t mode) { return mode == 0 || mode == 2 || mode == 3 || mode == 4; }

}  // namespace

I8254::I8254(TimerService& timers, IrqLine irq0)
    : timers_(timers), irq0_(std::move(irq0)), irq0_timer_(timers, [this] { update_irq0(); }) {
  reset();
}

void I8254::reset() {
  std::lock_guard lock(mutex_);
  int64_t now = timers_.now_ns();
  for (unsigned i = 0; i < kCounters; ++i) {
    I8254Counter& c = counters_[i];
    c = I8254Counter{};
    c.gate = i != 2 ? 1 : 0;
    c.counting = 1;
    c.count_register_written = 1;
    c.null_count = 0;
    c.load_ns = now;
  }
  restart_irq0(now);
}

uint64_t I8254::elapsed_ticks(const I8254Counter& c, int64_t now) const {
  if (!c.counting) return 0;
  if (!c.gate && gate_holds_count(c.mode)) return c.held_ticks;
  return ticks_in(now - c.load_ns);
}

uint16_t I8254::count_at(const I8254Counter& c, int64_t now) const {
  if (!c.counting) return c.count_register;
  uint32_t n = initial_count(c);
  uint64_t d = elapsed_ticks(c, now);
  uint32_t value;
  switch (c.mode) {
    case 2:  // N, N-1, ..., 1, reload
      value = static_cast<uint32_t>(n - d % n);
      break;
    case 3: {
      // Decrements by two, through each half-period (datasheet "Mode 3").
      uint64_t phase = d % n;
      uint64_t high_clocks = (n + 1) / 2;
      uint64_t into_half = phase < high_clocks ? phase : phase - high_clocks;
      value = static_cast<uint32_t>(n - 2 * into_half) & ~1u;
      break;
    }
    default:  // counts down through zero and wraps
      value = static_cast<uint32_t>((n + modulus(c) - d % modulus(c)) % modulus(c));
      break;
  }
  return c.bcd ? to_bcd(value % 10000) : static_cast<uint16_t>(value);
}

bool I8254::out_at(const I8254Counter& c, int64_t now) const {
  uint32_t n = initial_count(c);
  uint64_t d = elapsed_ticks(c, now);
  switch (c.mode) {
    case 0:  // low from the control word until the terminal count
      return c.counting && d >= n;
    case 1:  // low from the trigger until the terminal count
      return !c.counting || d >= n;
    case 2:  // low for the one clock at count 1
      if (!c.counting || !c.gate) return true;
      return d % n != n - 1;
    case 3:  // high for the first (larger) half of the period
      if (!c.counting || !c.gate) return true;
      return d % n < (n + 1) / 2;
    default:  // modes 4 and 5: low for the one clock at count 0
      return !c.counting || d != n;
  }
}

namespace {

// The clock at which OUT next rises after clock `done`, or kNoEdge.
uint64_t next_rising_edge(const I8254Counter& c, uint64_t done) {
  if (!c.counting || (!c.gate && gate_holds_count(c.mode))) return kNoEdge;
  uint64_t n = initial_count(c);
  switch (c.mode) {
    case 0:
    case 1:
      return done < n ? n : kNoEdge;
    case 2:
    case 3:
      return (done / n + 1) * n;
    default:
      return done < n + 1 ? n + 1 : kNoEdge;
  }
}

}  // namespace

void I8254::restart_irq0(int64_t now) {
  I8254Counter& c = counters_[0];
  c.irq_ticks_done = elapsed_ticks(c, now);
  uint64_t edge = next_rising_edge(c, c.irq_ticks_done);
  if (edge == kNoEdge) {
    irq0_timer_.cancel();
  } else {
    irq0_timer_.arm(c.load_ns + ns_for_ticks(edge));
  }
}

void I8254::update_irq0() {
  std::lock_guard lock(mutex_);
  int64_t now = timers_.now_ns();
  I8254Counter& c = counters_[0];
  uint64_t d = elapsed_ticks(c, now);
  uint64_t edge = next_rising_edge(c, c.irq_ticks_done);
  if (edge == kNoEdge) return;
  bool pulsed = false;
  if (edge <= d) {
    // Edges the host slept through merge into one, as the PIC would.
    irq0_.raise();
    irq0_.lower();
    pulsed = true;
    c.irq_ticks_done = d;
    edge = next_rising_edge(c, d);
    if (edge == kNoEdge) return;
  }
  int64_t when = c.load_ns + ns_for_ticks(edge);
  // The next edge is after now by construction; the guard keeps the timer
  // thread from spinning should the arithmetic ever say otherwise.
  if (pulsed || when <= now) when = std::max(when, now + kMinIrqIntervalNs);
  irq0_timer_.arm(when);
}

void I8254::set_gate(unsigned counter, bool level) {
  if (counter >= kCounters) return;
  std::lock_guard lock(mutex_);
  I8254Counter& c = counters_[counter];
  if (level == static_cast<bool>(c.gate)) return;
  int64_t now = timers_.now_ns();
  if (!level) {
    if (c.counting && gate_holds_count(c.mode)) c.held_ticks = ticks_in(now - c.load_ns);
    c.gate = 0;
  } else {
    c.gate = 1;
    switch (c.mode) {
      case 0:
      case 4:  // counting resumes where it stopped
        if (c.counting) c.load_ns = now - ns_for_ticks(c.held_ticks);
        break;
      case 2:
      case 3:  // a rising GATE reloads the count
        if (c.counting) c.load_ns = now;
        break;
      default:  // modes 1 and 5: a rising GATE triggers (or retriggers)
        if (c.count_register_written) {
          c.counting = 1;
          c.null_count = 0;
          c.load_ns = now;
        }
        break;
    }
  }
  if (counter == 0) restart_irq0(now);
}

bool I8254::gate(unsigned counter) {
  std::lock_guard lock(mutex_);
  return counter < kCounters && counters_[counter].gate;
}

bool I8254::out(unsigned counter) {
  std::lock_guard lock(mutex_);
  return counter < kCounters && out_at(counters_[counter], timers_.now_ns());
}

uint64_t I8254::read(uint64_t offset, unsigned size) {
  std::lock_guard lock(mutex_);
  uint64_t value = 0;
  for (unsigned i = 0; i < size; ++i) {
    uint64_t port = offset + i;
    uint8_t byte = port < kCounters ? read_counter(counters_[port]) : 0xff;  // the control word is write-only
    value |= uint64_t{byte} << (8 * i);
  }
  return value;
}

void I8254::write(uint64_t offset, unsigned size, uint64_t value) {
  std::lock_guard lock(mutex_);
  for (unsigned i = 0; i < size; ++i) {
    uint64_t port = offset + i;
    auto byte = static_cast<uint8_t>(value >> (8 * i));
    switch (port) {
      case kCounter0:
      case kCounter1:
      case kCounter2:
        write_counter(static_cast<unsigned>(port), byte);
        break;
      case kControlWord:
        write_control(byte);
        break;
      default:
        break;
    }
  }
}

uint8_t I8254::read_counter(I8254Counter& c) {
  if (c.status_latched) {
    c.status_latched = 0;
    return c.status;
  }
  uint16_t value = c.count_latched ? c.latched_count : count_at(c, timers_.now_ns());
  switch (c.access) {
    case kAccessLsb:
      c.count_latched = 0;
      return static_cast<uint8_t>(value);
    case kAccessMsb:
      c.count_latched = 0;
      return static_cast<uint8_t>(value >> 8);
    default:
      if (!c.read_msb_next) {
        c.read_msb_next = 1;
        return static_cast<uint8_t>(value);
      }
      c.read_msb_next = 0;
      c.count_latched = 0;  // the latch holds until both bytes are read
      return static_cast<uint8_t>(value >> 8);
  }
}

void I8254::write_counter(unsigned index, uint8_t value) {
  I8254Counter& c = counters_[index];
  int64_t now = timers_.now_ns();
  switch (c.access) {
    case kAccessLsb:
      load_count(index, value, now);
      break;
    case kAccessMsb:
      load_count(index, static_cast<uint16_t>(value << 8), now);
      break;
    default:
      if (!c.write_msb_next) {
        c.write_lsb = value;
        c.write_msb_next = 1;
        if (c.mode == 0) {
          // Mode 0: writing the first byte stops the count and sets OUT low.
          c.counting = 0;
          if (index == 0) restart_irq0(now);
        }
      } else {
        c.write_msb_next = 0;
        load_count(index, static_cast<uint16_t>(c.write_lsb | (value << 8)), now);
      }
      break;
  }
}

void I8254::load_count(unsigned index, uint16_t value, int64_t now) {
  I8254Counter& c = counters_[index];
  c.count_register = value;
  c.count_register_written = 1;
  if (c.mode == 1 || c.mode == 5) {
    // Loaded into the CE by the next GATE trigger.
    c.null_count = 1;
  } else {
    c.counting = 1;
    c.null_count = 0;
    c.load_ns = now;
    c.held_ticks = 0;
  }
  if (index == 0) restart_irq0(now);
}

void I8254::write_control(uint8_t value) {
  int64_t now = timers_.now_ns();
  unsigned select = value >> kSelectShift;
  if (select == kSelectReadBack) {
    for (unsigned i = 0; i < kCounters; ++i) {
      if (!(value & (kReadBackCounter0 << i))) continue;
      if (!(value & kReadBackNoCount)) latch_count(counters_[i], now);
      if (!(value & kReadBackNoStatus)) latch_status(counters_[i], now);
    }
    return;
  }
  I8254Counter& c = counters_[select];
  uint8_t access = (value >> kAccessShift) & 3;
  if (access == kAccessLatch) {
    latch_count(c, now);
    return;
  }
  uint8_t mode = (value >> kModeShift) & 7;
  c.mode = mode > 5 ? static_cast<uint8_t>(mode - 4) : mode;  // 6, 7 are modes 2, 3
  c.access = access;
  c.bcd = value & kBcd;
  // A control word stops the counter until its new count is written;
  // OUT goes to its mode's initial level (low in mode 0, else high).
  c.counting = 0;
  c.count_register_written = 0;
  c.null_count = 1;
  c.read_msb_next = 0;
  c.write_msb_next = 0;
  if (select == 0) restart_irq0(now);
}

void I8254::latch_count(I8254Counter& c, int64_t now) {
  if (c.count_latched) return;  // a second latch before reading is ignored
  c.latched_count = count_at(c, now);
  c.count_latched = 1;
}

void I8254::latch_status(I8254Counter& c, int64_t now) {
  if (c.status_latched) return;
  c.status = static_cast<uint8_t>((out_at(c, now) ? kStatusOut : 0) | (c.null_count ? kStatusNullCount : 0) |
                                  (c.access << kAccessShift) | (c.mode << kModeShift) | c.bcd);
  c.status_latched = 1;
}

void I8254::serialize(StateStream& s) {
  std::lock_guard lock(mutex_);
  // A load fills a copy, which replaces the counters only once it is checked:
  // a refused state leaves the PIT as it was.
  I8254Counter loaded[kCounters];
  std::copy(std::begin(counters_), std::end(counters_), loaded);
  for (I8254Counter& c : s.loading() ? loaded : counters_) {
    s(c.count_register);
    s(c.mode);
    s(c.access);
    s(c.bcd);
    s(c.gate);
    s(c.counting);
    s(c.count_register_written);
    s(c.null_count);
    s(c.load_ns);
    s(c.held_ticks);
    s(c.latched_count);
    s(c.count_latched);
    s(c.status);
    s(c.status_latched);
    s(c.read_msb_next);
    s(c.write_msb_next);
    s(c.write_lsb);
    s(c.irq_ticks_done);
  }
  if (!s.loading()) return;
  for (const I8254Counter& c : loaded) {
    bool flags_ok = true;
    for (uint8_t f : {c.bcd, c.gate, c.counting, c.count_register_written, c.null_count, c.count_latched,
                      c.status_latched, c.read_msb_next, c.write_msb_next}) {
      flags_ok = flags_ok && f <= 1;
    }
    // Times far enough from overflow for the counting arithmetic.
    bool times_ok = c.load_ns > -(int64_t{1} << 61) && c.load_ns < (int64_t{1} << 61) &&
                    c.held_ticks < (uint64_t{1} << 50) && c.irq_ticks_done < (uint64_t{1} << 50);
    if (!flags_ok || !times_ok || c.mode > 5 || c.access == 0 || c.access > 3) {
      throw Error("saved state: inconsistent 8254 PIT counters");
    }
  }
  std::copy(std::begin(loaded), std::end(loaded), counters_);
  uint64_t edge = next_rising_edge(counters_[0], counters_[0].irq_ticks_done);
  if (edge == kNoEdge) {
    irq0_timer_.cancel();
  } else {
    irq0_timer_.arm(counters_[0].load_ns + ns_for_ticks(edge));
  }
}

}  // namespace vireo
