// The MC146818 RTC as firmware and Linux's mc146818/rtc-cmos code use it:
// the clock registers against a known wall-clock start, the formats of
// register B, UIP timing, SET, register C and the three interrupts, on a
// virtual clock the test moves.
#include "hw/rtc/mc146818.h"

#include <catch2/catch.hpp>

#include <functional>
#include <vector>

using vireo::IrqLine;
using vireo::ManualClock;
using vireo::Mc146818;
using vireo::StateStream;
using vireo::TimerService;
using R = vireo::Mc146818;

namespace {

// 2024-02-29 23:59:58.5 UTC, a Thursday.
constexpr int64_t kStartWallNs = 1'709'251'198'500'000'000;

struct Fixture {
  explicit Fixture(vireo::LostTickPolicy policy = vireo::LostTickPolicy::Discard)
      : rtc{timers, IrqLine([this](bool level) {
              if (level && !irq) irq_rises.push_back(clock.now_ns());
              irq = level;
            }),
            kStartWallNs, policy} {}

  ManualClock clock{7'000'000'000};
  TimerService timers{clock};
  std::vector<int64_t> irq_rises;
  bool irq = false;
  Mc146818 rtc;
  int64_t start = clock.now_ns();

  uint8_t reg(uint8_t index) {
    rtc.write(R::kIndexPort, 1, index);
    return static_cast<uint8_t>(rtc.read(R::kDataPort, 1));
  }
  void set(uint8_t index, uint8_t value) {
    rtc.write(R::kIndexPort, 1, index);
    rtc.write(R::kDataPort, 1, value);
  }
  void advance_to(int64_t t) { timers.advance(clock, t); }
  void advance_ns(int64_t ns) { advance_to(clock.now_ns() + ns); }
};

constexpr int64_t kMs = 1'000'000;

}  // namespace

TEST_CASE("clock registers show the host time in BCD, 24-hour; A, B, D as QEMU starts them", "[rtc]") {
  Fixture f;
  CHECK(f.reg(R::kSeconds) == 0x58);
  CHECK(f.reg(R::kMinutes) == 0x59);
  CHECK(f.reg(R::kHours) == 0x23);
  CHECK(f.reg(R::kDayOfWeek) == 0x05);
  CHECK(f.reg(R::kDayOfMonth) == 0x29);
  CHECK(f.reg(R::kMonth) == 0x02);
  CHECK(f.reg(R::kYear) == 0x24);
  CHECK(f.reg(R::kCentury) == 0x20);
  CHECK(f.reg(R::kRegA) == 0x26);
  CHECK(f.reg(R::kRegB) == 0x02);
  CHECK(f.reg(R::kRegC) == 0x00);
  CHECK(f.reg(R::kRegD) == 0x80);
}

TEST_CASE("the time runs with the virtual clock, through the leap day into March", "[rtc]") {
  Fixture f;
  f.advance_to(f.start + 499 * kMs);
  CHECK(f.reg(R::kSeconds) == 0x58);
  f.advance_to(f.start + 500 * kMs);
  CHECK(f.reg(R::kSeconds) == 0x59);
  f.advance_to(f.start + 1500 * kMs);
  CHECK(f.reg(R::kSeconds) == 0x00);
  CHECK(f.reg(R::kMinutes) == 0x00);
  CHECK(f.reg(R::kHours) == 0x00);
  CHECK(f.reg(R::kDayOfMonth) == 0x01);
  CHECK(f.reg(R::kMonth) == 0x03);
  CHECK(f.reg(R::kDayOfWeek) == 0x06);
}

TEST_CASE("register B selects binary and 12-hour formats", "[rtc]") {
  Fixture f;
  f.set(R::kRegB, R::kBBinary | R::kB24Hour);
  CHECK(f.reg(R::kSeconds) == 58);
  CHECK(f.reg(R::kHours) == 23);
  CHECK(f.reg(R::kYear) == 24);
  CHECK(f.reg(R::kCentury) == 20);
  f.set(R::kRegB, 0);  // 12-hour BCD
  CHECK(f.reg(R::kHours) == 0x91);  // 11 PM
  f.advance_ns(2 * 1000 * kMs);
  CHECK(f.reg(R::kHours) == 0x12);  // 12 AM
  f.set(R::kRegB, R::kBBinary);     // 12-hour binary
  CHECK(f.reg(R::kHours) == 12);
}

TEST_CASE("UIP is set only in the last 244 us before each update", "[rtc]") {
  Fixture f;
  int64_t boundary = f.start + 500 * kMs;  // the next second starts here
  f.clock.set_ns(boundary - 245'000);
  CHECK((f.reg(R::kRegA) & R::kAUpdateInProgress) == 0);
  f.clock.set_ns(boundary - 240'000);
  CHECK(f.reg(R::kRegA) & R::kAUpdateInProgress);
  CHECK(f.reg(R::kSeconds) == 0x58);  // the update has not happened yet
  f.clock.set_ns(boundary);
  CHECK((f.reg(R::kRegA) & R::kAUpdateInProgress) == 0);
  CHECK(f.reg(R::kSeconds) == 0x59);
  f.set(R::kRegB, R::kBSet | R::kB24Hour);  // no updates while SET
  f.clock.set_ns(boundary + 1000 * kMs - 1000);
  CHECK((f.reg(R::kRegA) & R::kAUpdateInProgress) == 0);
}

TEST_CASE("SET freezes the clock for writing; clearing it starts from the written time", "[rtc]") {
  Fixture f;
  f.set(R::kRegB, R::kBSet | R::kB24Hour);
  f.advance_ns(5000 * kMs);
  CHECK(f.reg(R::kSeconds) == 0x58);
  // 2000-01-01 12:34:56 (a Saturday).
  f.set(R::kSeconds, 0x56);
  f.set(R::kMinutes, 0x34);
  f.set(R::kHours, 0x12);
  f.set(R::kDayOfMonth, 0x01);
  f.set(R::kMonth, 0x01);
  f.set(R::kYear, 0x00);
  f.set(R::kCentury, 0x20);
  f.advance_ns(700 * kMs);
  CHECK(f.reg(R::kSeconds) == 0x56);
  f.set(R::kRegB, R::kB24Hour);
  CHECK(f.reg(R::kSeconds) == 0x56);
  CHECK(f.reg(R::kDayOfWeek) == 0x07);
  f.advance_ns(999 * kMs);
  CHECK(f.reg(R::kSeconds) == 0x56);
  f.advance_ns(1 * kMs);
  CHECK(f.reg(R::kSeconds) == 0x57);
  CHECK(f.reg(R::kYear) == 0x00);
}

TEST_CASE("writing a clock register while running takes effect at once", "[rtc]") {
  Fixture f;
  f.set(R::kMinutes, 0x10);
  CHECK(f.reg(R::kMinutes) == 0x10);
  CHECK(f.reg(R::kSeconds) == 0x58);
  f.advance_ns(500 * kMs);  // the second's phase is kept
  CHECK(f.reg(R::kSeconds) == 0x59);
  CHECK(f.reg(R::kMinutes) == 0x10);
}

TEST_CASE("update-ended interrupt: IRQ 8 at the second, register C clears on read", "[rtc]") {
  Fixture f;
  f.set(R::kRegA, 0x20);  // no periodic flag in the way
  f.set(R::kRegB, R::kBUpdateEndedEnable | R::kB24Hour);
  f.advance_ns(499 * kMs);
  CHECK(f.irq_rises.empty());
  f.advance_ns(1 * kMs);
  REQUIRE(f.irq_rises.size() == 1);
  CHECK(f.irq_rises[0] == f.start + 500 * kMs);
  CHECK(f.irq);
  CHECK(f.reg(R::kRegC) == (R::kCIrq | R::kCUpdateEnded));
  CHECK_FALSE(f.irq);
  CHECK(f.reg(R::kRegC) == 0);
  f.advance_ns(3000 * kMs);
  CHECK(f.irq_rises.size() == 2);  // unread: no further edges
  f.reg(R::kRegC);
  f.advance_ns(1000 * kMs);
  CHECK(f.irq_rises.size() == 3);
}

TEST_CASE("flags are set even with their interrupts disabled, without IRQF", "[rtc]") {
  Fixture f;
  f.advance_ns(2000 * kMs);
  // Updates passed, the 1024 Hz rate from register A ran, and midnight
  // matched the alarm registers' 00:00:00.
  CHECK(f.reg(R::kRegC) == (R::kCUpdateEnded | R::kCPeriodic | R::kCAlarm));
  CHECK(f.irq_rises.empty());
  // Enabling an interrupt whose flag is already set raises IRQF at once.
  f.advance_ns(1000 * kMs);
  f.set(R::kRegB, R::kBUpdateEndedEnable | R::kB24Hour);
  CHECK(f.irq);
}

TEST_CASE("periodic interrupt at the rate register A selects", "[rtc]") {
  Fixture f;
  f.reg(R::kRegC);
  f.set(R::kRegA, 0x26);  // 1024 Hz
  f.set(R::kRegB, R::kBPeriodicEnable | R::kB24Hour);
  int handled = 0;
  for (int64_t t = 0; t < 100 * kMs; t += 50'000) {
    f.advance_ns(50'000);
    if (f.irq) {
      ++handled;
      CHECK((f.reg(R::kRegC) & (R::kCIrq | R::kCPeriodic)) == (R::kCIrq | R::kCPeriodic));
    }
  }
  CHECK(handled >= 102);
  CHECK(handled <= 103);
  f.set(R::kRegA, 0x2f);  // 2 Hz
  f.reg(R::kRegC);
  size_t before = f.irq_rises.size();
  for (int i = 0; i < 10; ++i) {
    f.advance_ns(250 * kMs);
    f.reg(R::kRegC);
  }
  CHECK(f.irq_rises.size() - before == 5);
}

TEST_CASE("alarm interrupt when the time matches; 0xc0-0xff bytes match anything", "[rtc]") {
  Fixture f;
  f.set(R::kSecondsAlarm, 0x01);
  f.set(R::kMinutesAlarm, 0x00);
  f.set(R::kHoursAlarm, 0x00);
  f.set(R::kRegB, R::kBAlarmEnable | R::kB24Hour);
  f.advance_ns(2499 * kMs);
  CHECK(f.irq_rises.empty());
  f.advance_ns(1 * kMs);  // 00:00:01
  REQUIRE(f.irq_rises.size() == 1);
  CHECK((f.reg(R::kRegC) & (R::kCIrq | R::kCAlarm)) == (R::kCIrq | R::kCAlarm));
  f.advance_ns(10'000 * kMs);
  CHECK(f.irq_rises.size() == 1);
  f.set(R::kSecondsAlarm, 0xff);
  f.set(R::kMinutesAlarm, 0xc0);
  f.set(R::kHoursAlarm, 0xc5);
  for (int i = 0; i < 3; ++i) {
    f.advance_ns(1000 * kMs);
    CHECK((f.reg(R::kRegC) & R::kCAlarm) == R::kCAlarm);
  }
  CHECK(f.irq_rises.size() == 4);
}

TEST_CASE("bit 7 of port 0x70 (NMI mask) does not change the index", "[rtc]") {
  Fixture f;
  f.rtc.write(R::kIndexPort, 1, 0x80 | R::kRegB);
  CHECK(f.rtc.read(R::kDataPort, 1) == 0x02);
}

TEST_CASE("NVRAM holds what is written; reset clears interrupt enables, keeps time and NVRAM", "[rtc]") {
  Fixture f;
  f.set(0x40, 0x5a);
  f.rtc.set_nvram(0x5f, 3);
  CHECK(f.reg(0x40) == 0x5a);
  CHECK(f.reg(0x5f) == 3);
  f.set(R::kRegB, R::kBPeriodicEnable | R::kBUpdateEndedEnable | R::kB24Hour | R::kBBinary);
  f.advance_ns(600 * kMs);
  CHECK(f.irq);
  f.rtc.reset();
  CHECK_FALSE(f.irq);
  CHECK(f.reg(R::kRegB) == (R::kB24Hour | R::kBBinary));
  CHECK(f.reg(0x40) == 0x5a);
  CHECK(f.reg(R::kSeconds) == 59);
  f.set(R::kRegD, 0);  // read-only
  CHECK(f.reg(R::kRegD) == 0x80);
}

TEST_CASE("divider reset stops the clock; the first update comes 500 ms after release", "[rtc]") {
  Fixture f;
  f.set(R::kRegA, 0x70);
  f.advance_ns(3000 * kMs);
  CHECK(f.reg(R::kSeconds) == 0x58);
  f.set(R::kRegA, 0x26);
  f.advance_ns(499 * kMs);
  CHECK(f.reg(R::kSeconds) == 0x58);
  f.advance_ns(1 * kMs);
  CHECK(f.reg(R::kSeconds) == 0x59);
}

TEST_CASE("RTC saved state loads back", "[rtc]") {
  Fixture f;
  f.set(0x33, 0x77);
  f.set(R::kRegB, R::kBUpdateEndedEnable | R::kB24Hour);
  auto saved = StateStream::for_saving();
  f.rtc.serialize(saved);
  Fixture g;
  g.clock.set_ns(f.clock.now_ns());
  auto loading = StateStream::for_loading(saved.bytes());
  g.rtc.serialize(loading);
  CHECK(g.reg(0x33) == 0x77);
  CHECK(g.reg(R::kSeconds) == 0x58);
  g.advance_ns(500 * kMs);
  CHECK(g.irq_rises.size() == 1);

  auto bytes = saved.bytes();
  bytes[128] = 0x80;  // index beyond 7 bits
  Fixture h;
  h.set(0x33, 0x11);
  auto before = StateStream::for_saving();
  h.rtc.serialize(before);
  auto bad = StateStream::for_loading(bytes);
  CHECK_THROWS_AS(h.rtc.serialize(bad), vireo::Error);
  // A refused load leaves the RTC as it was.
  auto after = StateStream::for_saving();
  h.rtc.serialize(after);
  CHECK(after.bytes() == before.bytes());
  CHECK(h.reg(0x33) == 0x11);
}

namespace {

// A guest that counts periodic interrupts as its clock, as Windows does:
// while IRQ 8 is up and it is not busy elsewhere, its handler reads C and
// counts PF. `busy(t)`: the guest has interrupts disabled at time t.
struct TickCountingGuest {
  Fixture& f;
  int ticks = 0;
  void run_for(int64_t ns, const std::function<bool(int64_t)>& busy) {
    int64_t end = f.clock.now_ns() + ns;
    while (f.clock.now_ns() < end) {
      f.advance_ns(50'000);
      handle_pending(busy);
    }
  }
  void handle_pending(const std::function<bool(int64_t)>& busy = [](int64_t) { return false; }) {
    while (f.irq && !busy(f.clock.now_ns() - f.start)) {
      if (f.reg(R::kRegC) & R::kCPeriodic) ++ticks;
    }
  }
};

// 64 Hz periodic interrupts only; returns the ticks a guest counts in 2 s
// when it keeps interrupts disabled for 60 ms out of every 100 ms.
int ticks_with_interrupts_often_disabled(vireo::LostTickPolicy policy) {
  Fixture f(policy);
  f.set(R::kRegA, 0x2a);  // 64 Hz
  f.set(R::kRegB, R::kBPeriodicEnable | R::kB24Hour);
  f.reg(R::kRegC);
  f.start = f.clock.now_ns();
  TickCountingGuest guest{f};
  guest.run_for(2000 * kMs, [](int64_t t) { return t % (100 * kMs) < 60 * kMs; });
  return guest.ticks;
}

}  // namespace

TEST_CASE("discard: periodic interrupts that end before C is read merge into one", "[rtc]") {
  // 128 periods end in 2 s; a 60 ms stretch covers 3-4 of them, of which
  // the guest sees one.
  int ticks = ticks_with_interrupts_often_disabled(vireo::LostTickPolicy::Discard);
  CHECK(ticks < 100);
  CHECK(ticks > 60);
}

TEST_CASE("slew: the guest counts every period although it missed some", "[rtc]") {
  int ticks = ticks_with_interrupts_often_disabled(vireo::LostTickPolicy::Slew);
  // The last stretch's merged periods may still be owed when the 2 s end.
  CHECK(ticks >= 124);
  CHECK(ticks <= 128);
}

TEST_CASE("slew: 20 re-raises on reads of C in a row, then a timer paces the rest", "[rtc]") {
  Fixture f(vireo::LostTickPolicy::Slew);
  f.set(R::kRegA, 0x2a);  // 64 Hz: 15.625 ms
  f.set(R::kRegB, R::kBPeriodicEnable | R::kB24Hour);
  f.reg(R::kRegC);
  f.start = f.clock.now_ns();
  TickCountingGuest guest{f};
  // Interrupts off for 1 s: 64 periods end, the guest will see one of them.
  guest.run_for(1000 * kMs, [](int64_t) { return true; });
  guest.handle_pending();
  CHECK(guest.ticks == 1 + R::kReinjectOnAckLimit);
  // The other 43 come faster than the periodic rate (8 per period while
  // more than 7 are owed) and no faster: not within the next 15 ms.
  guest.run_for(15 * kMs, [](int64_t) { return false; });
  CHECK(guest.ticks > 1 + 20 + 1);
  CHECK(guest.ticks < 64);
  guest.run_for(200 * kMs, [](int64_t) { return false; });
  // 64 owed and regular ones for 1.215 s at 64 Hz: 77 or 78 periods ended.
  CHECK(guest.ticks >= 77);
  CHECK(guest.ticks <= 78);
}

TEST_CASE("slew: turning the periodic interrupt off forgets what is owed", "[rtc]") {
  Fixture f(vireo::LostTickPolicy::Slew);
  f.set(R::kRegA, 0x2a);
  f.set(R::kRegB, R::kBPeriodicEnable | R::kB24Hour);
  f.reg(R::kRegC);
  f.advance_ns(500 * kMs);
  f.reg(R::kRegC);  // one seen, ~31 owed; the first is re-raised at once
  CHECK(f.irq);
  f.set(R::kRegB, R::kB24Hour);
  f.reg(R::kRegC);
  f.set(R::kRegB, R::kBPeriodicEnable | R::kB24Hour);
  // Only the regular period's interrupt comes, not 30 owed ones.
  size_t before = f.irq_rises.size();
  for (int i = 0; i < 40; ++i) {
    f.advance_ns(kMs);
    if (f.irq) f.reg(R::kRegC);
  }
  CHECK(f.irq_rises.size() - before >= 2);
  CHECK(f.irq_rises.size() - before <= 3);
}

TEST_CASE("slew: what is owed is saved and loaded; a count under discard is refused", "[rtc]") {
  Fixture f(vireo::LostTickPolicy::Slew);
  f.set(R::kRegA, 0x2a);
  f.set(R::kRegB, R::kBPeriodicEnable | R::kB24Hour);
  f.reg(R::kRegC);
  f.advance_ns(300 * kMs);  // 19 periods end unread
  auto saved = StateStream::for_saving();
  f.rtc.serialize(saved);
  Fixture g(vireo::LostTickPolicy::Slew);
  g.clock.set_ns(f.clock.now_ns());
  g.start = f.start;
  auto loading = StateStream::for_loading(saved.bytes());
  g.rtc.serialize(loading);
  g.irq = f.irq;  // the line's level is the interrupt controller's state, loaded with it
  TickCountingGuest guest{g};
  guest.handle_pending();
  CHECK(guest.ticks == 19);

  Fixture h(vireo::LostTickPolicy::Discard);
  // f's state after the read owes periods: a discarding RTC cannot take it.
  f.reg(R::kRegC);
  auto owing = StateStream::for_saving();
  f.rtc.serialize(owing);
  auto bad = StateStream::for_loading(owing.bytes());
  CHECK_THROWS_AS(h.rtc.serialize(bad), vireo::Error);
}
