// Port 0x61 as Linux's TSC calibration uses it (arch/x86/kernel/tsc.c:
// pit_calibrate_tsc polls OUT2 in bit 5, quick_pit_calibrate reads the
// counter-2 MSB with the gate on) and the refresh toggle in bit 4.
#include "hw/misc/system_control_port_b.h"

#include <catch2/catch.hpp>

using vireo::I8254;
using vireo::ManualClock;
using vireo::SystemControlPortB;
using vireo::TimerService;

namespace {

int64_t ns_for(uint64_t ticks) { return static_cast<int64_t>((ticks * 1'000'000'000 + I8254::kClockHz - 1) / I8254::kClockHz); }

struct Fixture {
  ManualClock clock{3'000'000'000};
  TimerService timers{clock};
  I8254 pit{timers, vireo::IrqLine()};
  SystemControlPortB port61{timers, pit};
  uint8_t in61() { return static_cast<uint8_t>(port61.read(0, 1)); }
  void out61(uint8_t v) { port61.write(0, 1, v); }
};

}  // namespace

TEST_CASE("pit_calibrate_tsc: OUT2 in bit 5 rises when the mode 0 count runs out", "[port61]") {
  Fixture f;
  const uint16_t latch = 1193182 / (1000 / 10);  // CAL_LATCH: 10 ms
  f.out61(static_cast<uint8_t>((f.in61() & ~0x02) | 0x01));  // gate high, speaker off
  CHECK((f.in61() & 0x03) == 0x01);
  f.pit.write(I8254::kControlWord, 1, 0xb0);  // counter 2, word, mode 0
  f.pit.write(I8254::kCounter2, 1, latch & 0xff);
  f.pit.write(I8254::kCounter2, 1, latch >> 8);
  int64_t loaded = f.clock.now_ns();
  CHECK((f.in61() & 0x20) == 0);
  f.clock.set_ns(loaded + ns_for(latch) - 1);
  CHECK((f.in61() & 0x20) == 0);
  f.clock.set_ns(loaded + ns_for(latch));
  CHECK((f.in61() & 0x20) == 0x20);
}

TEST_CASE("quick_pit_calibrate: the counter-2 MSB falls every 256 clocks", "[port61]") {
  Fixture f;
  f.out61(static_cast<uint8_t>((f.in61() & ~0x02) | 0x01));
  f.pit.write(I8254::kControlWord, 1, 0xb0);
  f.pit.write(I8254::kCounter2, 1, 0xff);
  f.pit.write(I8254::kCounter2, 1, 0xff);
  int64_t loaded = f.clock.now_ns();
  auto msb = [&] {
    f.pit.read(I8254::kCounter2, 1);  // pit_verify_msb: LSB ignored
    return static_cast<uint8_t>(f.pit.read(I8254::kCounter2, 1));
  };
  CHECK(msb() == 0xff);
  for (unsigned step = 1; step < 20; ++step) {
    f.clock.set_ns(loaded + ns_for(256 * step));
    CHECK(msb() == 0xff - step);
  }
}

TEST_CASE("gate low stops counter 2; the gate bit reads back", "[port61]") {
  Fixture f;
  f.pit.write(I8254::kControlWord, 1, 0xb0);
  f.pit.write(I8254::kCounter2, 1, 0x00);
  f.pit.write(I8254::kCounter2, 1, 0x10);  // 4096
  f.clock.advance_ns(ns_for(5000));
  CHECK((f.in61() & 0x21) == 0);  // gate low since reset: nothing counted
  f.out61(0x01);
  f.clock.advance_ns(ns_for(4096));
  CHECK((f.in61() & 0x21) == 0x21);
}

TEST_CASE("the refresh bit toggles every 15.085 us; read-only bits ignore writes", "[port61]") {
  Fixture f;
  f.clock.set_ns(SystemControlPortB::kRefreshPeriodNs * 1000);
  uint8_t a = f.in61() & 0x10;
  f.clock.advance_ns(SystemControlPortB::kRefreshPeriodNs);
  uint8_t b = f.in61() & 0x10;
  CHECK(a != b);
  f.clock.advance_ns(SystemControlPortB::kRefreshPeriodNs);
  CHECK((f.in61() & 0x10) == a);
  f.out61(0xfe);
  CHECK((f.in61() & 0xcf) == 0x0e);
}
