// Local APICs as Linux's apic.c, smpboot.c and io_apic.c use them: priority
// and EOI, IPIs by every destination form, INIT/SIPI, the timer in each
// mode on a clock the test moves, and the 8259A's virtual wire. The APICs
// sit on a real ApicBus with a real IOAPIC and PIC; fake vCPUs record the
// events they are posted.
#include "hw/intc/lapic.h"

#include <catch2/catch.hpp>

#include <atomic>
#include <chrono>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "hw/intc/i8259.h"
#include "hw/intc/ioapic.h"

using vireo::ApicBus;
using vireo::I8259Pair;
using vireo::Ioapic;
using vireo::LocalApic;
using vireo::ManualClock;
using vireo::StateStream;
using vireo::TimerService;
using vireo::VcpuEvent;
using L = vireo::LocalApic;

namespace {

struct FakeVcpu final : vireo::Vcpu {
  explicit FakeVcpu(unsigned i) : idx(i) {}
  unsigned idx;
  std::vector<std::pair<VcpuEvent, uint8_t>> events;
  unsigned index() const override { return idx; }
  vireo::VcpuStop run() override { return vireo::VcpuStop::Kicked; }
  void kick() override {}
  void post_event(VcpuEvent event, uint8_t vector) override { events.push_back({event, vector}); }
  vireo::X86CpuState state() override { return {}; }
  vireo::X86DumpState dump_state() override { return {}; }
  void set_state(const vireo::X86CpuState&) override {}
  std::string error() const override { return {}; }
  int count(VcpuEvent e) const {
    int n = 0;
    for (auto& [event, v] : events) n += event == e;
    return n;
  }
};

struct Machine {
  std::mutex mutex;
  ManualClock clock{1'000'000'000};
  TimerService timers{clock};
  ApicBus bus;
  I8259Pair pic{mutex, [this](bool level) { bus.set_lint0_locked(level); }};
  Ioapic ioapic{mutex, bus};
  std::vector<std::unique_ptr<FakeVcpu>> vcpus;
  std::vector<std::unique_ptr<LocalApic>> apics;

  explicit Machine(unsigned cpus) {
    bus.set_eoi_listener([this](uint8_t v) { ioapic.eoi_locked(v); });
    for (unsigned i = 0; i < cpus; ++i) {
      apics.push_back(std::make_unique<LocalApic>(i, mutex, timers, bus));
      bus.attach(apics.back().get());
      vcpus.push_back(std::make_unique<FakeVcpu>(i));
      apics[i]->set_pic({[this] { return pic.acknowledge_locked(); }, [this] { return pic.peek_vector_locked(); }});
      apics[i]->set_vcpu(vcpus[i].get());
    }
  }
  LocalApic& apic(unsigned i) { return *apics[i]; }
  uint32_t rd(unsigned i, uint64_t reg) { return static_cast<uint32_t>(apics[i]->read(reg, 4)); }
  void wr(unsigned i, uint64_t reg, uint32_t v) { apics[i]->write(reg, 4, v); }
  void enable(unsigned i, uint8_t spurious = 0xff) { wr(i, L::kRegSvr, L::kSvrSoftwareEnable | spurious); }
  void ipi(unsigned from, uint32_t low, uint8_t destination = 0) {
    wr(from, L::kRegIcrHigh, uint32_t{destination} << 24);
    wr(from, L::kRegIcrLow, low);
  }
  // The CPU's side: what it would take now, and the INTA.
  int pending(unsigned i) { return apics[i]->pending_vector(); }
  int inta(unsigned i) { return apics[i]->acknowledge(); }
  bool irr(unsigned i, uint8_t v) { return rd(i, L::kRegIrr + (v / 32) * 0x10) & (1u << (v % 32)); }
  bool isr(unsigned i, uint8_t v) { return rd(i, L::kRegIsr + (v / 32) * 0x10) & (1u << (v % 32)); }
  bool tmr(unsigned i, uint8_t v) { return rd(i, L::kRegTmr + (v / 32) * 0x10) & (1u << (v % 32)); }
  void advance_ns(int64_t ns) { timers.advance(clock, clock.now_ns() + ns); }
  void io_entry(unsigned pin, uint64_t entry) {
    ioapic.write(Ioapic::kIoregsel, 4, 0x11 + 2 * pin);
    ioapic.write(Ioapic::kIowin, 4, entry >> 32);
    ioapic.write(Ioapic::kIoregsel, 4, 0x10 + 2 * pin);
    ioapic.write(Ioapic::kIowin, 4, static_cast<uint32_t>(entry));
  }
  uint64_t io_entry_low(unsigned pin) {
    ioapic.write(Ioapic::kIoregsel, 4, 0x10 + 2 * pin);
    return ioapic.read(Ioapic::kIowin, 4);
  }
};

constexpr uint32_t kFixed = 0 << 8, kLowest = 1 << 8, kNmi = 4 << 8, kInit = 5 << 8, kStartup = 6 << 8;
constexpr uint32_t kAssert = L::kIcrLevelAssert, kLevelTrig = L::kIcrLevelTriggered, kLogical = L::kIcrLogical;
constexpr uint32_t kSelf = 1u << 18, kAllIncl = 2u << 18, kAllExcl = 3u << 18;

}  // namespace

TEST_CASE("power-up registers: version 0x50014, SVR 0xff, every LVT masked", "[lapic]") {
  Machine m(2);
  CHECK(m.rd(0, L::kRegVersion) == 0x00050014);
  CHECK(m.rd(1, L::kRegId) == 0x01000000);
  CHECK(m.rd(0, L::kRegSvr) == 0xff);
  CHECK(m.rd(0, L::kRegDfr) == 0xffffffff);
  CHECK(m.rd(0, L::kRegLdr) == 0);
  CHECK(m.rd(0, L::kRegTpr) == 0);
  for (uint64_t reg : {L::kRegLvtTimer, L::kRegLvtThermal, L::kRegLvtPerf, L::kRegLvtLint0, L::kRegLvtLint1,
                       L::kRegLvtError}) {
    CHECK(m.rd(0, reg) == 0x10000);
    CHECK(m.rd(1, reg) == 0x10000);
  }
  CHECK(m.pending(0) == -1);
}

TEST_CASE("a fixed interrupt: IRR, the vCPU woken, INTA moves it to ISR, EOI ends it", "[lapic]") {
  Machine m(1);
  m.enable(0);
  m.io_entry(2, 0x31);  // IOAPIC pin 2 to APIC 0, vector 0x31
  m.ioapic.set_irq(2, true);
  CHECK(m.irr(0, 0x31));
  CHECK(m.pending(0) == 0x31);
  CHECK(m.vcpus[0]->count(VcpuEvent::Interrupt) == 1);
  CHECK(m.inta(0) == 0x31);
  CHECK_FALSE(m.irr(0, 0x31));
  CHECK(m.isr(0, 0x31));
  CHECK(m.rd(0, L::kRegPpr) == 0x30);
  CHECK(m.pending(0) == -1);
  m.wr(0, L::kRegEoi, 0);
  CHECK_FALSE(m.isr(0, 0x31));
  CHECK(m.rd(0, L::kRegPpr) == 0);
}

TEST_CASE("TPR holds back vectors of its priority class and below", "[lapic]") {
  Machine m(1);
  m.enable(0);
  m.wr(0, L::kRegTpr, 0x50);
  m.ipi(0, kSelf | kFixed | 0x45);
  m.ipi(0, kSelf | kFixed | 0x5f);
  CHECK(m.pending(0) == -1);
  CHECK(m.rd(0, L::kRegPpr) == 0x50);
  m.ipi(0, kSelf | kFixed | 0x61);
  CHECK(m.pending(0) == 0x61);
  CHECK(m.inta(0) == 0x61);
  m.wr(0, L::kRegEoi, 0);
  size_t woken = m.vcpus[0]->events.size();
  m.wr(0, L::kRegTpr, 0x00);
  CHECK(m.pending(0) == 0x5f);  // the highest waiting vector first
  CHECK(m.vcpus[0]->events.size() == woken + 1);
  // CR8 is TPR[7:4].
  m.apic(0).write_cr8(0x6);
  CHECK(m.rd(0, L::kRegTpr) == 0x60);
  CHECK(m.apic(0).read_cr8() == 0x6);
  CHECK(m.pending(0) == -1);
}

TEST_CASE("an interrupt in service blocks its class and below, not higher ones", "[lapic]") {
  Machine m(1);
  m.enable(0);
  m.ipi(0, kSelf | 0x50);
  CHECK(m.inta(0) == 0x50);
  m.ipi(0, kSelf | 0x41);
  m.ipi(0, kSelf | 0x55);
  CHECK(m.pending(0) == -1);
  m.ipi(0, kSelf | 0x61);
  CHECK(m.inta(0) == 0x61);
  m.wr(0, L::kRegEoi, 0);  // ends 0x61, the highest in service
  CHECK(m.isr(0, 0x50));
  m.wr(0, L::kRegEoi, 0);
  CHECK(m.inta(0) == 0x55);
}

TEST_CASE("a level-triggered IOAPIC interrupt: TMR set, the EOI clears remote IRR", "[lapic]") {
  Machine m(1);
  m.enable(0);
  m.io_entry(10, 0x4a | Ioapic::kTriggerLevel);
  m.ioapic.set_irq(10, true);
  CHECK(m.tmr(0, 0x4a));
  CHECK(m.io_entry_low(10) & Ioapic::kRemoteIrr);
  CHECK(m.inta(0) == 0x4a);
  m.ioapic.set_irq(10, false);
  m.wr(0, L::kRegEoi, 0);
  CHECK_FALSE(m.io_entry_low(10) & Ioapic::kRemoteIrr);
  CHECK(m.pending(0) == -1);
  // Still asserted at the EOI: delivered again.
  m.ioapic.set_irq(10, true);
  CHECK(m.inta(0) == 0x4a);
  m.wr(0, L::kRegEoi, 0);
  CHECK(m.pending(0) == 0x4a);
}

TEST_CASE("software-disabled: no delivery, and every LVT is masked", "[lapic]") {
  Machine m(1);
  m.enable(0);
  m.wr(0, L::kRegLvtTimer, 0x20030);
  CHECK(m.rd(0, L::kRegLvtTimer) == 0x20030);
  m.wr(0, L::kRegSvr, 0xff);  // software disable
  CHECK(m.rd(0, L::kRegLvtTimer) == 0x30030);
  m.wr(0, L::kRegLvtTimer, 0x20030);  // cannot be unmasked now
  CHECK(m.rd(0, L::kRegLvtTimer) == 0x30030);
  m.ipi(0, kSelf | 0x40);
  CHECK(m.pending(0) == -1);
  m.enable(0);
  CHECK(m.pending(0) == 0x40);
}

TEST_CASE("IPIs reach physical, flat logical and cluster logical destinations", "[lapic]") {
  Machine m(4);
  for (unsigned i = 0; i < 4; ++i) m.enable(i);
  SECTION("physical") {
    m.ipi(0, kFixed | 0x40, 2);
    CHECK(m.irr(2, 0x40));
    CHECK_FALSE(m.irr(1, 0x40));
    m.ipi(0, kFixed | 0x41, 0xff);  // physical broadcast
    for (unsigned i = 0; i < 4; ++i) CHECK(m.irr(i, 0x41));
  }
  SECTION("flat logical") {
    for (unsigned i = 0; i < 4; ++i) m.wr(i, L::kRegLdr, (1u << i) << 24);  // as Linux's flat mode
    m.ipi(0, kLogical | 0x42, 0x0a);
    CHECK(m.irr(1, 0x42));
    CHECK(m.irr(3, 0x42));
    CHECK_FALSE(m.irr(0, 0x42));
    CHECK_FALSE(m.irr(2, 0x42));
  }
  SECTION("cluster logical") {
    for (unsigned i = 0; i < 4; ++i) {
      m.wr(i, L::kRegDfr, 0x0fffffff);
      m.wr(i, L::kRegLdr, (((i / 2) << 4) | (1u << (i % 2))) << 24);  // clusters 0 and 1, two each
    }
    CHECK(m.rd(0, L::kRegDfr) == 0x0fffffff);
    m.ipi(0, kLogical | 0x43, 0x12);  // cluster 1, member bit 1: APIC 3
    CHECK(m.irr(3, 0x43));
    for (unsigned i = 0; i < 3; ++i) CHECK_FALSE(m.irr(i, 0x43));
  }
}

TEST_CASE("IPI shorthands: self, all including self, all excluding self", "[lapic]") {
  Machine m(3);
  for (unsigned i = 0; i < 3; ++i) m.enable(i);
  m.ipi(1, kSelf | 0x50, 0);
  CHECK(m.irr(1, 0x50));
  CHECK_FALSE(m.irr(0, 0x50));
  m.ipi(1, kAllIncl | 0x51);
  for (unsigned i = 0; i < 3; ++i) CHECK(m.irr(i, 0x51));
  m.ipi(1, kAllExcl | 0x52);
  CHECK(m.irr(0, 0x52));
  CHECK_FALSE(m.irr(1, 0x52));
  CHECK(m.irr(2, 0x52));
}

TEST_CASE("lowest priority goes to exactly one target, the one with the lowest priority", "[lapic]") {
  Machine m(3);
  for (unsigned i = 0; i < 3; ++i) {
    m.enable(i);
    m.wr(i, L::kRegLdr, (1u << i) << 24);
  }
  m.wr(0, L::kRegTpr, 0x20);
  m.wr(1, L::kRegTpr, 0x10);
  m.wr(2, L::kRegTpr, 0x30);
  m.ipi(0, kLowest | kLogical | 0x60, 0x07);
  CHECK_FALSE(m.irr(0, 0x60));
  CHECK(m.irr(1, 0x60));
  CHECK_FALSE(m.irr(2, 0x60));
}

TEST_CASE("Linux's AP start-up: INIT assert, INIT de-assert, two SIPIs", "[lapic]") {
  Machine m(2);
  m.enable(0);
  m.enable(1);
  m.wr(1, L::kRegTpr, 0x70);
  m.ipi(0, kInit | kAssert | kLevelTrig, 1);
  CHECK(m.vcpus[1]->count(VcpuEvent::Init) == 1);
  CHECK(m.rd(1, L::kRegTpr) == 0);     // INIT resets the APIC...
  CHECK(m.rd(1, L::kRegSvr) == 0xff);
  CHECK(m.rd(1, L::kRegId) == 0x01000000);  // ...but its ID
  m.ipi(0, kInit | kLevelTrig, 1);      // de-assert: nothing happens
  CHECK(m.vcpus[1]->count(VcpuEvent::Init) == 1);
  m.ipi(0, kStartup | 0x9a, 1);
  m.ipi(0, kStartup | 0x9a, 1);
  REQUIRE(m.vcpus[1]->count(VcpuEvent::Sipi) == 2);
  CHECK(m.vcpus[1]->events.back().second == 0x9a);
  CHECK(m.vcpus[0]->count(VcpuEvent::Sipi) == 0);
}

TEST_CASE("NMI IPIs become NMI events", "[lapic]") {
  Machine m(2);
  m.enable(0);
  m.enable(1);
  m.ipi(0, kNmi | kAllExcl);
  CHECK(m.vcpus[1]->count(VcpuEvent::Nmi) == 1);
  CHECK(m.vcpus[0]->count(VcpuEvent::Nmi) == 0);
}

TEST_CASE("illegal vectors and registers are reported in ESR after a write", "[lapic]") {
  Machine m(2);
  m.enable(0);
  m.enable(1);
  m.wr(0, L::kRegLvtError, 0xfe);
  m.ipi(0, kFixed | 0x05, 1);  // vectors 0-15 are illegal
  CHECK_FALSE(m.irr(1, 0x05));
  CHECK(m.rd(0, L::kRegEsr) == 0);   // not latched yet
  m.wr(0, L::kRegEsr, 0);
  CHECK(m.rd(0, L::kRegEsr) == L::kEsrSendIllegalVector);
  CHECK(m.irr(0, 0xfe));             // the error LVT fired
  m.wr(0, L::kRegEsr, 0);
  CHECK(m.rd(0, L::kRegEsr) == 0);
  m.io_entry(5, 0x03 | (uint64_t{1} << 56));  // an IOAPIC entry with vector 3, to APIC 1
  m.ioapic.set_irq(5, true);
  m.wr(1, L::kRegEsr, 0);
  CHECK(m.rd(1, L::kRegEsr) == L::kEsrReceiveIllegalVector);
  m.rd(1, 0x2f0);  // no CMCI entry with five LVTs
  m.wr(1, L::kRegEsr, 0);
  CHECK(m.rd(1, L::kRegEsr) == L::kEsrIllegalRegister);
}

TEST_CASE("timer one-shot: counts down at bus clock / divide and fires once", "[lapic]") {
  Machine m(1);
  m.enable(0);
  m.wr(0, L::kRegTimerDivide, 0xb);  // divide by 1: one tick per ns
  m.wr(0, L::kRegLvtTimer, 0xec);    // one-shot, vector 0xec
  m.wr(0, L::kRegTimerInitialCount, 1000);
  CHECK(m.rd(0, L::kRegTimerInitialCount) == 1000);
  m.advance_ns(400);
  CHECK(m.rd(0, L::kRegTimerCurrentCount) == 600);
  m.advance_ns(599);
  CHECK(m.pending(0) == -1);
  m.advance_ns(1);
  CHECK(m.pending(0) == 0xec);
  CHECK(m.rd(0, L::kRegTimerCurrentCount) == 0);
  CHECK(m.inta(0) == 0xec);
  m.wr(0, L::kRegEoi, 0);
  m.advance_ns(10'000);
  CHECK(m.pending(0) == -1);
}

TEST_CASE("timer periodic: reloads and fires every period; divide 16", "[lapic]") {
  Machine m(1);
  m.enable(0);
  m.wr(0, L::kRegTimerDivide, 0x3);  // divide by 16
  m.wr(0, L::kRegLvtTimer, 0x20000 | 0xef);
  m.wr(0, L::kRegTimerInitialCount, 62'500);  // 1 ms
  int fired = 0;
  for (int ms = 0; ms < 10; ++ms) {
    m.advance_ns(1'000'000);
    if (m.pending(0) == 0xef) {
      ++fired;
      m.inta(0);
      m.wr(0, L::kRegEoi, 0);
    }
  }
  CHECK(fired == 10);
  m.advance_ns(250'000);
  CHECK(m.rd(0, L::kRegTimerCurrentCount) == 62'500 - 250'000 / 16);
  // Writing 0 stops it.
  m.wr(0, L::kRegTimerInitialCount, 0);
  m.advance_ns(5'000'000);
  CHECK(m.pending(0) == -1);
  CHECK(m.rd(0, L::kRegTimerCurrentCount) == 0);
}

TEST_CASE("timer divide configuration values", "[lapic]") {
  Machine m(1);
  m.enable(0);
  m.wr(0, L::kRegLvtTimer, 0x10000 | 0x30);  // masked one-shot
  const std::pair<uint32_t, uint32_t> divides[] = {{0x0, 2},  {0x1, 4},  {0x2, 8},  {0x3, 16},
                                                   {0x8, 32}, {0x9, 64}, {0xa, 128}, {0xb, 1}};
  for (auto [config, divisor] : divides) {
    m.wr(0, L::kRegTimerDivide, config);
    m.wr(0, L::kRegTimerInitialCount, 1'000'000);
    m.advance_ns(1280);
    CHECK(m.rd(0, L::kRegTimerCurrentCount) == 1'000'000 - 1280 / divisor);
  }
}

TEST_CASE("a masked timer counts on without interrupting", "[lapic]") {
  Machine m(1);
  m.enable(0);
  m.wr(0, L::kRegTimerDivide, 0xb);
  m.wr(0, L::kRegLvtTimer, 0x30000 | 0xe0);  // periodic, masked
  m.wr(0, L::kRegTimerInitialCount, 1'000'000);  // 1 ms
  m.advance_ns(5'500'000);
  CHECK(m.pending(0) == -1);
  CHECK(m.rd(0, L::kRegTimerCurrentCount) == 500'000);
  m.wr(0, L::kRegLvtTimer, 0x20000 | 0xe0);  // the expiries while masked are gone
  CHECK(m.pending(0) == -1);
  m.advance_ns(499'999);
  CHECK(m.pending(0) == -1);
  m.advance_ns(1);
  CHECK(m.pending(0) == 0xe0);
}

TEST_CASE("TSC-deadline mode: IA32_TSC_DEADLINE arms, fires once, then reads 0", "[lapic]") {
  Machine m(1);
  m.enable(0);
  // Outside TSC-deadline mode the MSR is ignored.
  m.apic(0).write_tsc_deadline(5000, 1000, 1'000'000'000);
  CHECK(m.apic(0).read_tsc_deadline() == 0);
  m.wr(0, L::kRegLvtTimer, 0x40000 | 0xd0);
  m.wr(0, L::kRegTimerInitialCount, 1234);  // ignored in this mode
  CHECK(m.rd(0, L::kRegTimerInitialCount) == 0);
  // A 2 GHz TSC: 10000 ticks are 5 us.
  m.apic(0).write_tsc_deadline(11'000, 1'000, 2'000'000'000);
  CHECK(m.apic(0).read_tsc_deadline() == 11'000);
  m.advance_ns(4999);
  CHECK(m.pending(0) == -1);
  m.advance_ns(1);
  CHECK(m.pending(0) == 0xd0);
  CHECK(m.apic(0).read_tsc_deadline() == 0);
  m.inta(0);
  m.wr(0, L::kRegEoi, 0);
  // A deadline in the past fires at once; 0 disarms.
  m.apic(0).write_tsc_deadline(10, 20, 1'000'000'000);
  m.advance_ns(0);
  CHECK(m.pending(0) == 0xd0);
  m.inta(0);
  m.wr(0, L::kRegEoi, 0);
  m.apic(0).write_tsc_deadline(1'000'000, 0, 1'000'000'000);
  m.apic(0).write_tsc_deadline(0, 0, 1'000'000'000);
  m.advance_ns(2'000'000);
  CHECK(m.pending(0) == -1);
  // Leaving the mode disarms it too.
  m.apic(0).write_tsc_deadline(1'000'000, 0, 1'000'000'000);
  m.wr(0, L::kRegLvtTimer, 0xd0);
  m.advance_ns(2'000'000);
  CHECK(m.pending(0) == -1);
}

TEST_CASE("virtual wire: the 8259A reaches the BSP through LINT0 ExtINT", "[lapic]") {
  Machine m(2);
  // Linux's init_8259A, IRQ 1 unmasked.
  for (auto [port, value] : std::vector<std::pair<uint64_t, uint8_t>>{
           {0, 0x11}, {1, 0x30}, {1, 0x04}, {1, 0x01}, {2, 0x11}, {3, 0x38}, {3, 0x02}, {3, 0x01}, {1, 0xfd}, {3, 0xff}}) {
    m.pic.write(port, 1, value);
  }
  m.pic.set_irq(1, true);
  CHECK(m.pending(0) == -1);  // LINT0 is masked after reset: nothing yet
  // SeaBIOS's virtual wire set-up: APIC on, LINT0 ExtINT (level), LINT1 NMI.
  m.enable(0);
  m.wr(0, L::kRegLvtLint0, 0x8700);
  m.wr(0, L::kRegLvtLint1, 0x0400);
  CHECK(m.pending(0) == 0x31);  // the request already waiting comes through
  CHECK(m.pending(1) == -1);    // the AP's LINT0 stays masked
  CHECK(m.vcpus[0]->count(VcpuEvent::Interrupt) == 1);
  CHECK(m.inta(0) == 0x31);
  CHECK(m.pending(0) == -1);
  m.pic.write(0, 1, 0x20);  // EOI
  // The APIC's own interrupts go before the PIC's; ExtINT ignores the
  // APIC's priorities.
  m.ipi(0, kSelf | 0x80);
  m.pic.set_irq(1, false);
  m.pic.set_irq(1, true);
  CHECK(m.inta(0) == 0x80);
  CHECK(m.inta(0) == 0x31);
  m.pic.write(0, 1, 0x20);
  // LINT0 masked again: the PIC no longer gets through.
  m.wr(0, L::kRegLvtLint0, 0x18700);
  m.pic.set_irq(1, false);
  m.pic.set_irq(1, true);
  CHECK(m.pending(0) == -1);
}

TEST_CASE("with the APIC globally disabled the PIC drives the CPU directly", "[lapic]") {
  Machine m(1);
  m.enable(0);
  m.wr(0, L::kRegLvtLint0, 0x10700);  // masked: irrelevant once the APIC is off
  m.wr(0, L::kRegTpr, 0x40);
  m.apic(0).apic_base_changed(0xfee00000 | (1u << 8));  // bit 11 clear
  CHECK(m.rd(0, L::kRegTpr) == 0);  // disabling resets the APIC
  for (auto [port, value] : std::vector<std::pair<uint64_t, uint8_t>>{
           {0, 0x11}, {1, 0x08}, {1, 0x04}, {1, 0x01}, {1, 0xfe}}) {
    m.pic.write(port, 1, value);
  }
  m.pic.set_irq(0, true);
  CHECK(m.pending(0) == 0x08);
  CHECK(m.inta(0) == 0x08);
  // Messages are not accepted while it is off.
  m.ipi(0, kSelf | 0x90);
  CHECK(m.pending(0) == -1);
}

TEST_CASE("saved state restores registers and a running timer", "[lapic]") {
  Machine m(1);
  m.enable(0);
  m.wr(0, L::kRegTpr, 0x20);
  m.wr(0, L::kRegTimerDivide, 0xb);
  m.wr(0, L::kRegLvtTimer, 0x20000 | 0xe5);
  m.wr(0, L::kRegTimerInitialCount, 1'000'000);
  m.ipi(0, kSelf | 0x70);
  m.advance_ns(250'000);
  auto saved = StateStream::for_saving();
  m.apic(0).serialize(saved);

  Machine n(1);
  n.clock.set_ns(m.clock.now_ns());
  auto loading = StateStream::for_loading(saved.bytes());
  n.apic(0).serialize(loading);
  CHECK(loading.at_end());
  CHECK(n.rd(0, L::kRegTpr) == 0x20);
  CHECK(n.rd(0, L::kRegTimerCurrentCount) == 750'000);
  CHECK(n.pending(0) == 0x70);
  n.advance_ns(749'999);
  CHECK_FALSE(n.irr(0, 0xe5));
  n.advance_ns(1);
  CHECK(n.irr(0, 0xe5));

  auto bytes = saved.bytes();
  bytes[3] = 0x5;  // DFR model neither flat nor cluster
  Machine o(1);
  auto bad = StateStream::for_loading(bytes);
  CHECK_THROWS_AS(o.apic(0).serialize(bad), vireo::Error);
}

namespace {

// A vCPU as the interpreter behaves towards its interrupt controller: it
// posts events under its own wait lock and, holding that lock, asks
// pending_vector() (interp.cpp's HLT predicate), while its own thread takes
// interrupts, EOIs them and sends IPIs.
struct ThreadedVcpu final : vireo::Vcpu {
  explicit ThreadedVcpu(unsigned i) : idx(i) {}
  unsigned idx;
  LocalApic* apic = nullptr;
  std::mutex wait_mutex;
  std::atomic<int> posted{0};
  unsigned index() const override { return idx; }
  vireo::VcpuStop run() override { return vireo::VcpuStop::Kicked; }
  void kick() override {}
  void post_event(VcpuEvent, uint8_t) override {
    std::lock_guard lock(wait_mutex);
    ++posted;
  }
  vireo::X86CpuState state() override { return {}; }
  vireo::X86DumpState dump_state() override { return {}; }
  void set_state(const vireo::X86CpuState&) override {}
  std::string error() const override { return {}; }
};

}  // namespace

TEST_CASE("stress: vCPUs, IPIs, the timer thread and IRQ lines together do not deadlock", "[lapic][stress]") {
  std::mutex mutex;
  vireo::VirtualClock clock;
  TimerService timers(clock);
  ApicBus bus;
  I8259Pair pic(mutex, [&](bool level) { bus.set_lint0_locked(level); });
  Ioapic ioapic(mutex, bus);
  bus.set_eoi_listener([&](uint8_t v) { ioapic.eoi_locked(v); });
  ThreadedVcpu vcpu0(0), vcpu1(1);
  LocalApic apic0(0, mutex, timers, bus), apic1(1, mutex, timers, bus);
  ThreadedVcpu* vcpus[2] = {&vcpu0, &vcpu1};
  LocalApic* apics[2] = {&apic0, &apic1};
  for (int i = 0; i < 2; ++i) {
    bus.attach(apics[i]);
    apics[i]->set_pic({[&] { return pic.acknowledge_locked(); }, [&] { return pic.peek_vector_locked(); }});
    apics[i]->set_vcpu(vcpus[i]);
    vcpus[i]->apic = apics[i];
    apics[i]->write(L::kRegSvr, 4, 0x1ff);
    apics[i]->write(L::kRegTimerDivide, 4, 0xb);
    apics[i]->write(L::kRegLvtTimer, 4, 0x20000 | 0xe0);
    apics[i]->write(L::kRegTimerInitialCount, 4, 150'000);  // 150 us, periodic
  }
  // A level-triggered IOAPIC pin to APIC 1, with EOI broadcasts.
  ioapic.write(Ioapic::kIoregsel, 4, 0x10 + 2 * 10);
  ioapic.write(Ioapic::kIowin, 4, 0x4a | Ioapic::kTriggerLevel);
  ioapic.write(Ioapic::kIoregsel, 4, 0x11 + 2 * 10);
  ioapic.write(Ioapic::kIowin, 4, 1u << 24);
  timers.start();

  std::atomic<bool> stop{false};
  std::atomic<int> taken[2] = {0, 0};
  auto cpu = [&](int i) {
    LocalApic& a = *apics[i];
    int n = 0;
    while (!stop) {
      {
        // The HLT predicate's call, under the vCPU's wait lock.
        std::lock_guard lock(vcpus[i]->wait_mutex);
        (void)a.pending_vector();
      }
      if (a.pending_vector() >= 0 && a.acknowledge() >= 0) {
        ++taken[i];
        if (i == 1) ioapic.set_irq(10, false);  // the device quiets before the EOI
        a.write(L::kRegEoi, 4, 0);
      }
      if (++n % 16 == 0) {
        a.write(L::kRegIcrHigh, 4, uint32_t(1 - i) << 24);
        a.write(L::kRegIcrLow, 4, 0x50 + i);  // fixed IPI to the other one
      }
      if (n % 64 == 0) a.write_cr8(n & 0x3);
    }
  };
  std::thread t0(cpu, 0), t1(cpu, 1);
  std::thread device([&] {
    for (int k = 0; !stop; ++k) {
      ioapic.set_irq(10, true);
      pic.set_irq(1, k & 1);
      std::this_thread::sleep_for(std::chrono::microseconds(200));
    }
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(400));
  stop = true;
  t0.join();
  t1.join();
  device.join();
  timers.stop();
  CHECK(taken[0] > 10);
  CHECK(taken[1] > 10);
  CHECK(vcpu0.posted > 0);
  CHECK(vcpu1.posted > 0);
  for (LocalApic* a : apics) a->set_vcpu(nullptr);
}
