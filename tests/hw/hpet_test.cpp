// The HPET's counter, comparators and interrupt routing, on a clock the
// test moves, programmed the way Linux's arch/x86/kernel/hpet.c does.
#include "hw/timer/hpet.h"

#include <catch2/catch.hpp>

#include <utility>
#include <vector>

using vireo::Hpet;
using vireo::ManualClock;
using vireo::StateStream;
using vireo::TimerService;

namespace {

struct Edge {
  unsigned gsi;
  bool level;
  int64_t at_ns;
};

struct Fixture {
  ManualClock clock{1'000'000'000};
  TimerService timers{clock};
  std::vector<Edge> edges;
  Hpet hpet{timers, [this](unsigned gsi, bool level) { edges.push_back({gsi, level, clock.now_ns()}); }};

  uint64_t read64(uint64_t offset) { return hpet.read(offset, 8); }
  uint32_t read32(uint64_t offset) { return static_cast<uint32_t>(hpet.read(offset, 4)); }
  void write64(uint64_t offset, uint64_t v) { hpet.write(offset, 8, v); }
  void write32(uint64_t offset, uint32_t v) { hpet.write(offset, 4, v); }
  void advance_ns(int64_t ns) { timers.advance(clock, clock.now_ns() + ns); }
  static uint64_t timer(unsigned n, uint64_t reg) { return Hpet::kTimerBlock + 0x20 * n + reg; }
  std::vector<int64_t> rises(unsigned gsi) const {
    std::vector<int64_t> out;
    for (const Edge& e : edges) {
      if (e.gsi == gsi && e.level) out.push_back(e.at_ns);
    }
    return out;
  }
};

}  // namespace

TEST_CASE("hpet: capabilities as Linux reads them", "[hpet]") {
  Fixture f;
  uint64_t caps = f.read64(Hpet::kCapabilities);
  CHECK((caps >> 32) == 10'000'000);        // 10 ns per tick, in femtoseconds
  CHECK(((caps >> 8) & 0x1f) == 2);          // three timers
  CHECK((caps & (1u << 13)) != 0);           // 64-bit counter
  CHECK((caps & (1u << 15)) != 0);           // legacy replacement capable
  CHECK(((caps >> 16) & 0xffff) == 0x8086);
  CHECK(f.read32(Hpet::kCapabilities + 4) == 10'000'000);  // the high half on its own
  uint64_t t0 = f.read64(Fixture::timer(0, Hpet::kTimerConfig));
  CHECK((t0 & Hpet::kPeriodicCapable) != 0);
  CHECK((f.read64(Fixture::timer(1, Hpet::kTimerConfig)) & Hpet::kPeriodicCapable) == 0);
  CHECK((t0 >> 32) == 0x00f00000);  // IOAPIC pins 20-23
  CHECK(f.read64(Fixture::timer(2, Hpet::kTimerComparator)) == ~0ull);
}

TEST_CASE("hpet: the main counter runs at 100 MHz only while enabled", "[hpet]") {
  Fixture f;
  f.advance_ns(1000);
  CHECK(f.read64(Hpet::kMainCounter) == 0);
  f.write64(Hpet::kConfig, Hpet::kEnable);
  f.advance_ns(1'000'000);
  CHECK(f.read64(Hpet::kMainCounter) == 100'000);
  f.write64(Hpet::kConfig, 0);
  f.advance_ns(1'000'000);
  CHECK(f.read64(Hpet::kMainCounter) == 100'000);
  f.write64(Hpet::kMainCounter, 0xffff'fff0);  // written while halted
  f.write64(Hpet::kConfig, Hpet::kEnable);
  f.advance_ns(200);
  CHECK(f.read32(Hpet::kMainCounter) == 4);  // the low half wrapped
  CHECK(f.read32(Hpet::kMainCounter + 4) == 1);
}

TEST_CASE("hpet: legacy replacement one-shot on IRQ 0, as Linux's clockevent programs it", "[hpet]") {
  Fixture f;
  f.write64(Hpet::kConfig, Hpet::kEnable | Hpet::kLegacyReplacement);
  CHECK(f.hpet.legacy_replacement());
  // hpet_clkevt_set_state_oneshot, then set_next_event: comparator = counter + delta.
  f.write32(Fixture::timer(0, Hpet::kTimerConfig), Hpet::kInterruptEnable | Hpet::kForce32Bit);
  const int64_t start = f.clock.now_ns();
  f.write32(Fixture::timer(0, Hpet::kTimerComparator), f.read32(Hpet::kMainCounter) + 5000);
  f.advance_ns(49'990);
  CHECK(f.rises(0).empty());
  f.advance_ns(20);
  REQUIRE(f.rises(0).size() == 1);
  CHECK(f.rises(0)[0] == start + 50'000);
  // A 32-bit one-shot matches again only after the counter wraps (~43 s).
  f.advance_ns(1'000'000'000);
  CHECK(f.rises(0).size() == 1);
  f.advance_ns(43'000'000'000);
  CHECK(f.rises(0).size() == 2);
}

TEST_CASE("hpet: a periodic timer 0 set with Tn_VAL_SET_CNF ticks at its period", "[hpet]") {
  Fixture f;
  f.write64(Hpet::kConfig, Hpet::kLegacyReplacement);
  // hpet_clkevt_set_state_periodic: counter stopped, VAL_SET, comparator
  // then period, counter started.
  f.write64(Fixture::timer(0, Hpet::kTimerConfig), Hpet::kInterruptEnable | Hpet::kPeriodic | Hpet::kValueSet);
  f.write64(Fixture::timer(0, Hpet::kTimerComparator), 1000);
  f.write64(Fixture::timer(0, Hpet::kTimerComparator), 1000);
  CHECK((f.read64(Fixture::timer(0, Hpet::kTimerConfig)) & Hpet::kValueSet) == 0);
  const int64_t start = f.clock.now_ns();
  f.write64(Hpet::kConfig, Hpet::kEnable | Hpet::kLegacyReplacement);
  f.advance_ns(55'000);  // 10 us period: ticks at 10, 20, ... 50 us
  std::vector<int64_t> expected;
  for (int i = 1; i <= 5; ++i) expected.push_back(start + i * 10'000);
  CHECK(f.rises(0) == expected);
  CHECK(f.read64(Fixture::timer(0, Hpet::kTimerComparator)) == 6000);
}

TEST_CASE("hpet: level-triggered routed timer holds its line until GINTR_STA is cleared", "[hpet]") {
  Fixture f;
  f.write64(Hpet::kConfig, Hpet::kEnable);
  const uint64_t route21 = uint64_t{21} << Hpet::kRouteShift;
  f.write64(Fixture::timer(2, Hpet::kTimerConfig), Hpet::kInterruptEnable | Hpet::kLevelTriggered | route21);
  f.write64(Fixture::timer(2, Hpet::kTimerComparator), 100);
  f.advance_ns(1000);
  REQUIRE(f.edges.size() == 1);
  CHECK(f.edges[0].gsi == 21);
  CHECK(f.edges[0].level);
  CHECK(f.read64(Hpet::kInterruptStatus) == 0b100);
  f.write64(Hpet::kInterruptStatus, 0b011);  // other bits: nothing
  CHECK(f.edges.size() == 1);
  f.write64(Hpet::kInterruptStatus, 0b100);
  REQUIRE(f.edges.size() == 2);
  CHECK(f.edges[1].gsi == 21);
  CHECK_FALSE(f.edges[1].level);
  CHECK(f.read64(Hpet::kInterruptStatus) == 0);
  // A route outside INT_ROUTE_CAP is not taken.
  f.write64(Fixture::timer(2, Hpet::kTimerConfig), Hpet::kInterruptEnable | (uint64_t{5} << Hpet::kRouteShift));
  CHECK((f.read64(Fixture::timer(2, Hpet::kTimerConfig)) & Hpet::kRouteMask) == route21);
}

TEST_CASE("hpet: a 64-bit comparator behind the counter never fires; disable stops a timer", "[hpet]") {
  Fixture f;
  f.write64(Hpet::kConfig, Hpet::kEnable | Hpet::kLegacyReplacement);
  f.advance_ns(10'000);
  f.write64(Fixture::timer(1, Hpet::kTimerComparator), 10);  // the counter is at 1000
  f.write64(Fixture::timer(1, Hpet::kTimerConfig), Hpet::kInterruptEnable);
  f.advance_ns(10'000'000);
  CHECK(f.rises(8).empty());
  f.write64(Fixture::timer(1, Hpet::kTimerComparator), f.read64(Hpet::kMainCounter) + 100);
  f.write64(Hpet::kConfig, Hpet::kLegacyReplacement);  // counter halted
  f.advance_ns(10'000'000);
  CHECK(f.rises(8).empty());
  f.write64(Hpet::kConfig, Hpet::kEnable | Hpet::kLegacyReplacement);
  f.advance_ns(1'000);
  CHECK(f.rises(8).size() == 1);  // timer 1 replaces the RTC's IRQ 8
}

TEST_CASE("hpet: state survives a save and load", "[hpet]") {
  Fixture f;
  f.write64(Hpet::kConfig, Hpet::kEnable | Hpet::kLegacyReplacement);
  f.write64(Fixture::timer(0, Hpet::kTimerConfig), Hpet::kInterruptEnable);
  f.write64(Fixture::timer(0, Hpet::kTimerComparator), 5000);
  f.advance_ns(20'000);
  StateStream saved = StateStream::for_saving();
  f.hpet.serialize(saved);

  Fixture g;
  StateStream loading = StateStream::for_loading(saved.bytes());
  g.hpet.serialize(loading);
  CHECK(loading.at_end());
  CHECK(g.read64(Hpet::kMainCounter) == 2000);
  CHECK(g.hpet.legacy_replacement());
  g.advance_ns(30'000);
  CHECK(g.rises(0).size() == 1);

  std::vector<uint8_t> bad = saved.bytes();
  bad[0] = 0xff;  // GEN_CONF with reserved bits
  StateStream before = StateStream::for_saving();
  g.hpet.serialize(before);
  StateStream corrupt = StateStream::for_loading(bad);
  CHECK_THROWS(g.hpet.serialize(corrupt));
  // A refused load leaves the HPET as it was.
  StateStream after = StateStream::for_saving();
  g.hpet.serialize(after);
  CHECK(after.bytes() == before.bytes());
}
