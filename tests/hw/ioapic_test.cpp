// The IOAPIC's registers and redirection as Linux's io_apic.c programs
// them, with the messages it sends collected by a fake APIC bus.
#include "hw/intc/ioapic.h"

#include <catch2/catch.hpp>

#include <mutex>
#include <vector>

using vireo::ApicDeliveryMode;
using vireo::ApicMessage;
using vireo::Ioapic;
using vireo::StateStream;

namespace {

struct RecordingApics final : vireo::ApicMessageSink {
  std::vector<ApicMessage> messages;
  void deliver_locked(const ApicMessage& m) override { messages.push_back(m); }
};

struct Fixture {
  std::mutex mutex;
  RecordingApics apics;
  Ioapic ioapic{mutex, apics};

  uint32_t read_reg(uint8_t index) {
    ioapic.write(Ioapic::kIoregsel, 4, index);
    return static_cast<uint32_t>(ioapic.read(Ioapic::kIowin, 4));
  }
  void write_reg(uint8_t index, uint32_t value) {
    ioapic.write(Ioapic::kIoregsel, 4, index);
    ioapic.write(Ioapic::kIowin, 4, value);
  }
  void program(unsigned pin, uint64_t entry) {
    // Linux writes the high half first, then the low half that unmasks.
    write_reg(static_cast<uint8_t>(0x11 + 2 * pin), static_cast<uint32_t>(entry >> 32));
    write_reg(static_cast<uint8_t>(0x10 + 2 * pin), static_cast<uint32_t>(entry));
  }
  uint64_t entry(unsigned pin) {
    return read_reg(static_cast<uint8_t>(0x10 + 2 * pin)) |
           (uint64_t{read_reg(static_cast<uint8_t>(0x11 + 2 * pin))} << 32);
  }
  void eoi(uint8_t vector) {
    std::lock_guard lock(mutex);
    ioapic.eoi_locked(vector);
  }
};

constexpr uint64_t kLevel = Ioapic::kTriggerLevel;
constexpr uint64_t kMasked = Ioapic::kMasked;
constexpr uint64_t kRemoteIrr = Ioapic::kRemoteIrr;

uint64_t dest(uint8_t apic) { return uint64_t{apic} << Ioapic::kDestinationShift; }

}  // namespace

TEST_CASE("version 0x11 with 24 pins; ID and arbitration ID; IOREGSEL reads back", "[ioapic]") {
  Fixture f;
  CHECK(f.read_reg(Ioapic::kRegVersion) == 0x00170011);
  CHECK(f.read_reg(Ioapic::kRegId) == 0);
  f.write_reg(Ioapic::kRegId, 0x02000000);
  CHECK(f.read_reg(Ioapic::kRegId) == 0x02000000);
  CHECK(f.read_reg(Ioapic::kRegArbitration) == 0x02000000);
  f.write_reg(Ioapic::kRegVersion, 0);  // read-only
  CHECK(f.read_reg(Ioapic::kRegVersion) == 0x00170011);
  f.ioapic.write(Ioapic::kIoregsel, 4, 0x13);
  CHECK(f.ioapic.read(Ioapic::kIoregsel, 4) == 0x13);
}

TEST_CASE("after reset every pin is masked and delivers nothing", "[ioapic]") {
  Fixture f;
  for (unsigned pin = 0; pin < Ioapic::kPins; ++pin) CHECK(f.entry(pin) == kMasked);
  f.ioapic.set_irq(4, true);
  CHECK(f.apics.messages.empty());
}

TEST_CASE("an edge-triggered pin sends its entry's message once per rising edge", "[ioapic]") {
  Fixture f;
  f.program(2, 0x31 | dest(0));  // the timer: fixed, physical, edge, high
  f.ioapic.set_irq(2, true);
  REQUIRE(f.apics.messages.size() == 1);
  const ApicMessage& m = f.apics.messages[0];
  CHECK(m.vector == 0x31);
  CHECK(m.mode == ApicDeliveryMode::Fixed);
  CHECK_FALSE(m.logical_destination);
  CHECK(m.destination == 0);
  CHECK_FALSE(m.level_triggered);
  f.ioapic.set_irq(2, true);  // still high
  CHECK(f.apics.messages.size() == 1);
  f.ioapic.set_irq(2, false);
  f.ioapic.set_irq(2, true);
  CHECK(f.apics.messages.size() == 2);
  CHECK((f.entry(2) & kRemoteIrr) == 0);
}

TEST_CASE("an edge on a masked pin is lost", "[ioapic]") {
  Fixture f;
  f.program(4, 0x34 | kMasked);
  f.ioapic.set_irq(4, true);
  f.program(4, 0x34);
  CHECK(f.apics.messages.empty());
}

TEST_CASE("level-triggered: remote IRR holds until the EOI; still asserted means again", "[ioapic]") {
  Fixture f;
  f.program(11, 0x41 | kLevel | Ioapic::kPolarityLow | Ioapic::kDestinationLogical | dest(0x01));
  f.ioapic.set_irq(11, true);
  REQUIRE(f.apics.messages.size() == 1);
  CHECK(f.apics.messages[0].level_triggered);
  CHECK(f.apics.messages[0].logical_destination);
  CHECK(f.apics.messages[0].destination == 0x01);
  CHECK(f.entry(11) & kRemoteIrr);
  f.ioapic.set_irq(11, true);
  CHECK(f.apics.messages.size() == 1);
  f.eoi(0x42);  // another vector: no effect
  CHECK(f.entry(11) & kRemoteIrr);
  f.eoi(0x41);  // still asserted: delivered again
  CHECK(f.apics.messages.size() == 2);
  CHECK(f.entry(11) & kRemoteIrr);
  f.ioapic.set_irq(11, false);
  f.eoi(0x41);
  CHECK(f.apics.messages.size() == 2);
  CHECK((f.entry(11) & kRemoteIrr) == 0);
}

TEST_CASE("unmasking an asserted level-triggered pin delivers it", "[ioapic]") {
  Fixture f;
  f.program(10, 0x45 | kLevel | kMasked);
  f.ioapic.set_irq(10, true);
  CHECK(f.apics.messages.empty());
  f.program(10, 0x45 | kLevel);
  CHECK(f.apics.messages.size() == 1);
}

TEST_CASE("remote IRR and delivery status are read-only; switching to edge clears remote IRR",
          "[ioapic]") {
  Fixture f;
  f.program(9, 0x49 | kLevel);
  f.ioapic.set_irq(9, true);
  CHECK(f.entry(9) & kRemoteIrr);
  f.program(9, 0x49 | kLevel | Ioapic::kDeliveryStatus);  // software cannot set or clear either
  CHECK((f.entry(9) & (kRemoteIrr | Ioapic::kDeliveryStatus)) == kRemoteIrr);
  // Linux's workaround for version 0x11 (no EOI register): masked, edge, then back to level.
  f.program(9, 0x49 | kMasked);
  CHECK((f.entry(9) & kRemoteIrr) == 0);
}

TEST_CASE("delivery modes and destination reach the message", "[ioapic]") {
  Fixture f;
  f.program(0, 0x00 | (uint64_t{7} << Ioapic::kDeliveryModeShift) | dest(0));  // ExtINT
  f.program(3, 0x00 | (uint64_t{4} << Ioapic::kDeliveryModeShift) | dest(0xff));  // NMI, broadcast
  f.program(5, 0x55 | (uint64_t{1} << Ioapic::kDeliveryModeShift) | Ioapic::kDestinationLogical | dest(0x03));
  f.ioapic.set_irq(0, true);
  f.ioapic.set_irq(3, true);
  f.ioapic.set_irq(5, true);
  REQUIRE(f.apics.messages.size() == 3);
  CHECK(f.apics.messages[0].mode == ApicDeliveryMode::ExtInt);
  CHECK(f.apics.messages[1].mode == ApicDeliveryMode::Nmi);
  CHECK(f.apics.messages[1].destination == 0xff);
  CHECK(f.apics.messages[2].mode == ApicDeliveryMode::LowestPriority);
  CHECK(f.apics.messages[2].vector == 0x55);
}

TEST_CASE("IOWIN takes only 32-bit writes", "[ioapic]") {
  Fixture f;
  f.ioapic.write(Ioapic::kIoregsel, 4, 0x10);
  f.ioapic.write(Ioapic::kIowin, 1, 0x20);
  CHECK(f.entry(0) == kMasked);
}

TEST_CASE("IOAPIC saved state loads back and is checked", "[ioapic]") {
  Fixture f;
  f.program(7, 0x47 | kLevel | dest(1));
  f.ioapic.set_irq(7, true);
  auto saved = StateStream::for_saving();
  f.ioapic.serialize(saved);
  Fixture g;
  auto loading = StateStream::for_loading(saved.bytes());
  g.ioapic.serialize(loading);
  CHECK(g.entry(7) == f.entry(7));
  g.ioapic.set_irq(7, false);
  g.eoi(0x47);
  CHECK((g.entry(7) & kRemoteIrr) == 0);

  auto bytes = saved.bytes();
  bytes[1] = 0x40;  // ID beyond 4 bits
  Fixture h;
  auto bad = StateStream::for_loading(bytes);
  CHECK_THROWS_AS(h.ioapic.serialize(bad), vireo::Error);
}
