// The 8254 PIT's counting, reading and IRQ 0 timing, on a clock the test
// moves, driven the way Linux's i8253.c, SeaBIOS and DOS-era code do.
#include "hw/timer/i8254.h"

#include <catch2/catch.hpp>

#include <vector>

using vireo::I8254;
using vireo::IrqLine;
using vireo::ManualClock;
using vireo::StateStream;
using vireo::TimerService;

namespace {

// The first nanosecond at which `ticks` PIT clocks have passed.
int64_t ns_for(uint64_t ticks) { return static_cast<int64_t>((ticks * 1'000'000'000 + I8254::kClockHz - 1) / I8254::kClockHz); }

struct Fixture {
  ManualClock clock{5'000'000'000};
  TimerService timers{clock};
  std::vector<int64_t> irq0_rises;  // when IRQ 0 went high
  bool irq0_level = false;
  I8254 pit{timers, IrqLine([this](bool level) {
              if (level && !irq0_level) irq0_rises.push_back(clock.now_ns());
              irq0_level = level;
            })};
  int64_t start = clock.now_ns();

  void out(uint64_t port, uint8_t v) { pit.write(port, 1, v); }
  uint8_t in(uint64_t port) { return static_cast<uint8_t>(pit.read(port, 1)); }
  void advance_to(int64_t t) { timers.advance(clock, t); }
  void advance_ns(int64_t ns) { advance_to(clock.now_ns() + ns); }
  uint16_t latched_count(unsigned counter) {
    out(I8254::kControlWord, static_cast<uint8_t>(counter << 6));  // counter latch command
    uint8_t low = in(counter);
    return static_cast<uint16_t>(low | (in(counter) << 8));
  }
  void program(unsigned counter, uint8_t mode, uint16_t count) {
    out(I8254::kControlWord, static_cast<uint8_t>((counter << 6) | 0x30 | (mode << 1)));
    out(counter, static_cast<uint8_t>(count));
    out(counter, static_cast<uint8_t>(count >> 8));
  }
};

}  // namespace

TEST_CASE("after reset counter 0 runs in mode 3 at 18.2 Hz", "[i8254]") {
  Fixture f;
  f.advance_ns(1'000'000'000);
  CHECK(f.irq0_rises.size() == 18);
  CHECK(f.irq0_rises[0] == f.start + ns_for(65536));
}

TEST_CASE("Linux's periodic PIT (mode 2, HZ=250) raises IRQ 0 every LATCH clocks", "[i8254]") {
  Fixture f;
  const uint16_t latch = (1193182 + 125) / 250;  // 4773
  f.out(I8254::kControlWord, 0x34);  // counter 0, LSB then MSB, mode 2, binary
  f.out(I8254::kCounter0, latch & 0xff);
  f.out(I8254::kCounter0, latch >> 8);
  int64_t loaded = f.clock.now_ns();
  f.advance_ns(1'000'000'000);
  REQUIRE(f.irq0_rises.size() == 249);  // 249.98 periods in a second
  for (size_t k = 0; k < f.irq0_rises.size(); ++k) {
    CHECK(f.irq0_rises[k] == loaded + ns_for((k + 1) * latch));
  }
}

TEST_CASE("mode 2 counts N..1 and reloads; the latch holds a value until both bytes are read", "[i8254]") {
  Fixture f;
  f.program(0, 2, 1000);
  int64_t loaded = f.clock.now_ns();
  f.advance_to(loaded + ns_for(300));
  CHECK(f.latched_count(0) == 700);
  f.advance_to(loaded + ns_for(1999));
  CHECK(f.latched_count(0) == 1);
  f.advance_to(loaded + ns_for(2000));
  CHECK(f.latched_count(0) == 1000);
  // Latched: time passes, the read still returns the latched count.
  f.out(I8254::kControlWord, 0x00);
  f.advance_to(loaded + ns_for(2500));
  f.out(I8254::kControlWord, 0x00);  // a second latch before reading is ignored
  CHECK(f.in(0) == (1000 & 0xff));
  CHECK(f.in(0) == (1000 >> 8));
  // Not latched: the live count.
  uint16_t live = static_cast<uint16_t>(f.in(0) | (f.in(0) << 8));
  CHECK(live == 500);
}

TEST_CASE("mode 3 counts down by two and OUT is high for the first half", "[i8254]") {
  Fixture f;
  f.program(2, 3, 100);
  f.pit.set_gate(2, true);
  int64_t loaded = f.clock.now_ns();
  f.advance_to(loaded + ns_for(10));
  CHECK(f.latched_count(2) == 80);
  CHECK(f.pit.out(2));
  f.advance_to(loaded + ns_for(49));
  CHECK(f.pit.out(2));
  f.advance_to(loaded + ns_for(50));
  CHECK_FALSE(f.pit.out(2));
  CHECK(f.latched_count(2) == 100);
  f.advance_to(loaded + ns_for(75));
  CHECK(f.latched_count(2) == 50);
  f.advance_to(loaded + ns_for(100));
  CHECK(f.pit.out(2));
}

TEST_CASE("mode 0: OUT low until terminal count, then high; IRQ 0 once", "[i8254]") {
  Fixture f;
  f.out(I8254::kControlWord, 0x30);  // counter 0, mode 0
  CHECK_FALSE(f.pit.out(0));
  f.out(I8254::kCounter0, 0x10);
  f.out(I8254::kCounter0, 0x27);     // 10000
  int64_t loaded = f.clock.now_ns();
  f.advance_to(loaded + ns_for(9999));
  CHECK_FALSE(f.pit.out(0));
  CHECK(f.irq0_rises.empty());
  f.advance_to(loaded + ns_for(10000));
  CHECK(f.pit.out(0));
  f.advance_ns(100'000'000);
  REQUIRE(f.irq0_rises.size() == 1);
  CHECK(f.irq0_rises[0] == loaded + ns_for(10000));
  // The count wraps on past zero.
  uint64_t ticks = static_cast<uint64_t>(ns_for(10000) + 100'000'000) * 1193182 / 1'000'000'000;
  CHECK(f.latched_count(0) == static_cast<uint16_t>(10000 - ticks));
}

TEST_CASE("mode 0: writing the first byte of a new count stops the count", "[i8254]") {
  Fixture f;
  f.program(0, 0, 1000);
  f.advance_ns(ns_for(100));
  f.out(I8254::kCounter0, 0x00);  // LSB only so far
  f.advance_ns(ns_for(5000));
  CHECK(f.irq0_rises.empty());
  f.out(I8254::kCounter0, 0x02);  // 512: loaded, counting again
  f.advance_ns(ns_for(512));
  CHECK(f.irq0_rises.size() == 1);
}

TEST_CASE("Linux's one-shot clockevent (mode 4) pulses IRQ 0 after the count", "[i8254]") {
  Fixture f;
  f.out(I8254::kControlWord, 0x38);  // counter 0, mode 4
  f.out(I8254::kCounter0, 0x9b);
  f.out(I8254::kCounter0, 0x2e);     // 11931: 10 ms
  int64_t loaded = f.clock.now_ns();
  f.advance_ns(50'000'000);
  REQUIRE(f.irq0_rises.size() == 1);
  CHECK(f.irq0_rises[0] == loaded + ns_for(11932));
}

TEST_CASE("LSB-only and MSB-only access", "[i8254]") {
  Fixture f;
  f.out(I8254::kControlWord, 0x94);  // counter 2, LSB only, mode 2
  f.out(I8254::kCounter2, 0x80);
  f.pit.set_gate(2, true);
  f.advance_ns(ns_for(16));
  f.out(I8254::kControlWord, 0x80);
  CHECK(f.in(I8254::kCounter2) == 0x70);
  f.out(I8254::kControlWord, 0xa4);  // counter 2, MSB only, mode 2
  f.out(I8254::kCounter2, 0x02);     // 0x200
  f.advance_ns(ns_for(0x100));
  CHECK(f.in(I8254::kCounter2) == 0x01);
}

TEST_CASE("BCD counting", "[i8254]") {
  Fixture f;
  f.out(I8254::kControlWord, 0x35);  // counter 0, word, mode 2, BCD
  f.out(I8254::kCounter0, 0x00);
  f.out(I8254::kCounter0, 0x10);     // 1000 decimal
  int64_t loaded = f.clock.now_ns();
  f.advance_to(loaded + ns_for(1));
  CHECK(f.latched_count(0) == 0x0999);
  f.advance_to(loaded + ns_for(123));
  CHECK(f.latched_count(0) == 0x0877);
  f.advance_to(loaded + ns_for(10 * 1000));
  CHECK(f.irq0_rises.size() == 10);
}

TEST_CASE("read-back: status shows OUT, null count, access and mode; then the count", "[i8254]") {
  Fixture f;
  f.out(I8254::kControlWord, 0xb0);  // counter 2, word, mode 0
  f.out(I8254::kControlWord, 0xe8);  // read-back status of counter 2
  CHECK(f.in(I8254::kCounter2) == (I8254::kStatusNullCount | 0x30 | 0x00));
  f.out(I8254::kCounter2, 0x00);
  f.out(I8254::kCounter2, 0x01);  // 256
  f.pit.set_gate(2, true);
  f.advance_ns(ns_for(300));
  f.out(I8254::kControlWord, 0xc8);  // read-back count and status of counter 2
  f.advance_ns(ns_for(10));
  CHECK(f.in(I8254::kCounter2) == (I8254::kStatusOut | 0x30));  // status first
  uint16_t count = static_cast<uint16_t>(f.in(I8254::kCounter2) | (f.in(I8254::kCounter2) << 8));
  CHECK(count == static_cast<uint16_t>(256 - 300));
}

TEST_CASE("GATE: low holds a mode 0 count, a rising edge reloads mode 2", "[i8254]") {
  Fixture f;
  f.program(2, 0, 1000);
  f.pit.set_gate(2, true);
  int64_t t = f.clock.now_ns();
  f.advance_to(t + ns_for(100));
  f.pit.set_gate(2, false);
  f.advance_ns(ns_for(5000));
  CHECK(f.latched_count(2) == 900);
  f.pit.set_gate(2, true);
  f.advance_ns(ns_for(50));
  CHECK(f.latched_count(2) == 850);

  f.program(2, 2, 1000);
  t = f.clock.now_ns();
  f.advance_to(t + ns_for(400));
  CHECK(f.latched_count(2) == 600);
  f.pit.set_gate(2, false);
  CHECK(f.pit.out(2));  // forced high
  f.pit.set_gate(2, true);
  CHECK(f.latched_count(2) == 1000);
}

TEST_CASE("PIT saved state loads back and keeps IRQ 0 going", "[i8254]") {
  Fixture f;
  f.program(0, 2, 11932);
  f.advance_ns(25'000'000);
  auto saved = StateStream::for_saving();
  f.pit.serialize(saved);

  Fixture g;
  g.clock.set_ns(f.clock.now_ns());
  auto loading = StateStream::for_loading(saved.bytes());
  g.pit.serialize(loading);
  CHECK(g.latched_count(0) == f.latched_count(0));
  g.advance_ns(20'000'000);
  CHECK(g.irq0_rises.size() == 2);

  auto bytes = saved.bytes();
  bytes[2] = 9;  // counter 0 mode
  Fixture h;
  h.program(0, 3, 1000);
  auto before = StateStream::for_saving();
  h.pit.serialize(before);
  auto bad = StateStream::for_loading(bytes);
  CHECK_THROWS_AS(h.pit.serialize(bad), vireo::Error);
  // A refused load leaves the PIT as it was.
  auto after = StateStream::for_saving();
  h.pit.serialize(after);
  CHECK(after.bytes() == before.bytes());
}
