// The 8259A pair as Linux drives it (arch/x86/kernel/i8259.c: init_8259A,
// mask_and_ack_8259A, the spurious-IRQ checks), through the ports the bus
// maps: master 0x20/0x21 at offsets 0/1, slave 0xa0/0xa1 at 2/3, ELCR
// 0x4d0/0x4d1 at 4/5.
#include "hw/intc/i8259.h"

#include <catch2/catch.hpp>

#include <mutex>
#include <vector>

using vireo::I8259Pair;
using vireo::StateStream;
using P = vireo::I8259Pair;

namespace {

struct Fixture {
  std::mutex mutex;
  std::vector<bool> intr_changes;
  I8259Pair pic{mutex, [this](bool level) { intr_changes.push_back(level); }};

  void out(uint64_t port, uint8_t v) { pic.write(port, 1, v); }
  uint8_t in(uint64_t port) { return static_cast<uint8_t>(pic.read(port, 1)); }
  bool intr() {
    std::lock_guard lock(mutex);
    return pic.intr_locked();
  }
  int inta() {
    std::lock_guard lock(mutex);
    return pic.acknowledge_locked();
  }

  // Linux's init_8259A(auto_eoi): vectors 0x30 and 0x38, cascade on IR2,
  // then the cached masks restored.
  void init_like_linux(bool auto_eoi = false, uint8_t master_mask = 0xfb, uint8_t slave_mask = 0xff) {
    out(P::kMasterData, 0xff);
    out(P::kSlaveData, 0xff);
    out(P::kMasterCommand, 0x11);  // ICW1: edge, cascade, ICW4
    out(P::kMasterData, 0x30);     // ICW2
    out(P::kMasterData, 0x04);     // ICW3: slave on IR2
    out(P::kMasterData, auto_eoi ? 0x03 : 0x01);  // ICW4: 8086, (auto) EOI
    out(P::kSlaveCommand, 0x11);
    out(P::kSlaveData, 0x38);
    out(P::kSlaveData, 0x02);      // ICW3: slave ID 2
    out(P::kSlaveData, 0x01);
    out(P::kMasterData, master_mask);
    out(P::kSlaveData, slave_mask);
  }
  uint8_t read_isr(uint64_t command_port) {
    out(command_port, 0x0b);  // OCW3: read ISR
    uint8_t v = in(command_port);
    out(command_port, 0x0a);  // back to IRR
    return v;
  }
};

}  // namespace

TEST_CASE("Linux's init sequence programs vectors and masks; IMR reads back", "[i8259]") {
  Fixture f;
  f.init_like_linux(false, 0xfa, 0xfe);
  CHECK(f.in(P::kMasterData) == 0xfa);
  CHECK(f.in(P::kSlaveData) == 0xfe);
  auto master = f.pic.chip(false);
  auto slave = f.pic.chip(true);
  CHECK(master.vector_base == 0x30);
  CHECK(slave.vector_base == 0x38);
  CHECK(master.init_step == 0);
  CHECK(slave.init_step == 0);
  CHECK_FALSE(f.intr());
}

TEST_CASE("IRQ 0: edge raises INTR, INTA gives the vector and sets ISR, EOI clears it", "[i8259]") {
  Fixture f;
  f.init_like_linux(false, 0xfa);  // IRQ 0 and the cascade unmasked
  f.pic.set_irq(0, true);
  CHECK(f.intr());
  CHECK(f.in(P::kMasterCommand) == 0x01);  // IRR
  CHECK(f.inta() == 0x30);
  CHECK_FALSE(f.intr());
  CHECK(f.read_isr(P::kMasterCommand) == 0x01);
  CHECK(f.in(P::kMasterCommand) == 0x00);  // the edge request is consumed
  f.pic.set_irq(0, false);
  f.out(P::kMasterCommand, 0x60);  // specific EOI IR0, as mask_and_ack_8259A
  CHECK(f.read_isr(P::kMasterCommand) == 0);
  CHECK(f.intr_changes == std::vector<bool>{true, false});
}

TEST_CASE("a slave IRQ cascades through IR2 and needs EOIs on both chips", "[i8259]") {
  Fixture f;
  f.init_like_linux(false, 0xfb, 0xfe);  // IRQ 8 unmasked
  f.pic.set_irq(8, true);
  CHECK(f.intr());
  CHECK(f.inta() == 0x38);
  CHECK(f.read_isr(P::kMasterCommand) == 0x04);
  CHECK(f.read_isr(P::kSlaveCommand) == 0x01);
  f.pic.set_irq(8, false);
  // mask_and_ack_8259A for a slave IRQ: specific EOI on the slave, then IR2 on the master.
  f.out(P::kSlaveCommand, 0x60);
  f.out(P::kMasterCommand, 0x62);
  CHECK(f.read_isr(P::kMasterCommand) == 0);
  CHECK(f.read_isr(P::kSlaveCommand) == 0);
  // Another slave IRQ goes through again.
  f.pic.set_irq(8, true);
  CHECK(f.inta() == 0x38);
}

TEST_CASE("masked IRQs stay in IRR and interrupt once unmasked", "[i8259]") {
  Fixture f;
  f.init_like_linux(false, 0xff);
  f.pic.set_irq(3, true);
  CHECK_FALSE(f.intr());
  CHECK(f.in(P::kMasterCommand) == 0x08);
  f.out(P::kMasterData, 0xf7);
  CHECK(f.intr());
  CHECK(f.inta() == 0x33);
}

TEST_CASE("priority: lower IR first; an in-service IRQ blocks lower ones, not higher", "[i8259]") {
  Fixture f;
  f.init_like_linux(false, 0x00);
  f.pic.set_irq(5, true);
  f.pic.set_irq(3, true);
  CHECK(f.inta() == 0x33);
  CHECK_FALSE(f.intr());  // IR5 waits for IR3's EOI
  f.pic.set_irq(1, true);
  CHECK(f.intr());        // IR1 outranks IR3: nested
  CHECK(f.inta() == 0x31);
  f.out(P::kMasterCommand, 0x20);  // non-specific EOI ends IR1, the highest in service
  CHECK(f.read_isr(P::kMasterCommand) == 0x08);
  CHECK_FALSE(f.intr());
  f.out(P::kMasterCommand, 0x20);
  CHECK(f.intr());
  CHECK(f.inta() == 0x35);
}

TEST_CASE("an edge input held high requests once; it must fall and rise again", "[i8259]") {
  Fixture f;
  f.init_like_linux(false, 0x00);
  f.pic.set_irq(4, true);
  CHECK(f.inta() == 0x34);
  f.out(P::kMasterCommand, 0x20);
  f.pic.set_irq(4, true);  // still high: no new edge
  CHECK_FALSE(f.intr());
  f.pic.set_irq(4, false);
  f.pic.set_irq(4, true);
  CHECK(f.intr());
}

TEST_CASE("ELCR: level-triggered IRQs follow the line and fire again after EOI while high", "[i8259]") {
  Fixture f;
  f.init_like_linux(false, 0x00, 0x00);
  f.out(P::kElcrMaster, 0xff);
  f.out(P::kElcrSlave, 0xff);
  // IRQ 0, 1, 2, 8 and 13 cannot be level-triggered.
  CHECK(f.in(P::kElcrMaster) == 0xf8);
  CHECK(f.in(P::kElcrSlave) == 0xde);
  f.pic.set_irq(11, true);
  CHECK(f.inta() == 0x3b);
  f.out(P::kSlaveCommand, 0x20);
  f.out(P::kMasterCommand, 0x20);
  CHECK(f.intr());  // still asserted
  CHECK(f.inta() == 0x3b);
  f.pic.set_irq(11, false);  // the handler quiets the device, then EOIs
  f.out(P::kSlaveCommand, 0x20);
  f.out(P::kMasterCommand, 0x20);
  CHECK_FALSE(f.intr());
  CHECK((f.in(P::kSlaveCommand) & 0x08) == 0);  // IRR dropped with the line
}

TEST_CASE("no request at INTA is spurious IRQ 7, with no ISR bit", "[i8259]") {
  Fixture f;
  f.init_like_linux(false, 0x00);
  CHECK(f.inta() == 0x37);
  CHECK(f.read_isr(P::kMasterCommand) == 0);
}

TEST_CASE("a slave request that vanishes before INTA is spurious IRQ 15; the master needs its EOI",
          "[i8259]") {
  Fixture f;
  f.init_like_linux(false, 0x00, 0x00);
  f.out(P::kElcrSlave, 0x04);  // IRQ 10 level-triggered
  f.pic.set_irq(10, true);
  f.pic.set_irq(10, false);  // gone; the master latched the cascade edge
  CHECK(f.intr());
  CHECK(f.inta() == 0x3f);
  CHECK(f.read_isr(P::kSlaveCommand) == 0);
  CHECK(f.read_isr(P::kMasterCommand) == 0x04);
}

TEST_CASE("rotate on non-specific EOI makes the serviced IR the lowest priority", "[i8259]") {
  Fixture f;
  f.init_like_linux(false, 0x00);
  f.pic.set_irq(3, true);
  CHECK(f.inta() == 0x33);
  f.out(P::kMasterCommand, 0xa0);  // rotate on non-specific EOI
  f.pic.set_irq(4, true);
  f.pic.set_irq(3, false);
  f.pic.set_irq(3, true);
  CHECK(f.inta() == 0x34);  // IR4 now outranks IR3
  f.out(P::kMasterCommand, 0x64);
  CHECK(f.inta() == 0x33);
}

TEST_CASE("set priority makes the given IR the lowest", "[i8259]") {
  Fixture f;
  f.init_like_linux(false, 0x00);
  f.out(P::kMasterCommand, 0xc4);  // IR4 lowest, so IR5 highest
  f.pic.set_irq(0, true);
  f.pic.set_irq(6, true);
  CHECK(f.inta() == 0x36);
}

TEST_CASE("special mask mode lets lower IRQs through while one is in service and masked", "[i8259]") {
  Fixture f;
  f.init_like_linux(false, 0x00);
  f.pic.set_irq(3, true);
  CHECK(f.inta() == 0x33);
  f.pic.set_irq(6, true);
  CHECK_FALSE(f.intr());
  f.out(P::kMasterData, 0x08);      // mask IR3
  f.out(P::kMasterCommand, 0x68);   // OCW3: set special mask
  CHECK(f.intr());
  CHECK(f.inta() == 0x36);
  f.out(P::kMasterCommand, 0x48);   // reset special mask
  CHECK(f.read_isr(P::kMasterCommand) == 0x48);
}

TEST_CASE("poll mode: the command-port read acknowledges and reports the IR", "[i8259]") {
  Fixture f;
  f.init_like_linux(false, 0x00);
  f.pic.set_irq(5, true);
  f.out(P::kMasterCommand, 0x0c);  // OCW3: poll
  CHECK(f.in(P::kMasterCommand) == 0x85);
  CHECK(f.read_isr(P::kMasterCommand) == 0x20);
  f.out(P::kMasterCommand, 0x0c);
  CHECK(f.in(P::kMasterCommand) == 0x00);  // nothing left
}

TEST_CASE("auto-EOI: INTA leaves nothing in service", "[i8259]") {
  Fixture f;
  f.init_like_linux(true, 0x00);
  f.pic.set_irq(0, true);
  CHECK(f.inta() == 0x30);
  CHECK(f.read_isr(P::kMasterCommand) == 0);
  f.pic.set_irq(0, false);
  f.pic.set_irq(0, true);
  CHECK(f.intr());
}

TEST_CASE("special fully nested mode: a higher slave IRQ interrupts a slave one in service", "[i8259]") {
  Fixture f;
  f.init_like_linux(false, 0x00, 0x00);
  f.out(P::kMasterCommand, 0x11);
  f.out(P::kMasterData, 0x30);
  f.out(P::kMasterData, 0x04);
  f.out(P::kMasterData, 0x11);  // ICW4: SFNM
  f.out(P::kMasterData, 0x00);
  f.pic.set_irq(12, true);
  CHECK(f.inta() == 0x3c);
  f.pic.set_irq(9, true);
  CHECK(f.intr());
  CHECK(f.inta() == 0x39);
}

TEST_CASE("ICW1 clears IMR and ISR and forgets edge requests", "[i8259]") {
  Fixture f;
  f.init_like_linux(false, 0x00);
  f.pic.set_irq(1, true);
  f.pic.set_irq(2, true);
  CHECK(f.inta() == 0x31);
  f.out(P::kMasterCommand, 0x11);
  auto m = f.pic.chip(false);
  CHECK(m.isr == 0);
  CHECK(m.imr == 0);
  CHECK(m.irr == 0);
  CHECK(m.init_step == 2);
}

TEST_CASE("saved state loads back; inconsistent state is refused", "[i8259]") {
  Fixture f;
  f.init_like_linux(false, 0x12, 0x34);
  f.pic.set_irq(0, true);
  auto saved = StateStream::for_saving();
  f.pic.serialize(saved);

  Fixture g;
  auto loading = StateStream::for_loading(saved.bytes());
  g.pic.serialize(loading);
  CHECK(loading.at_end());
  CHECK(g.in(P::kMasterData) == 0x12);
  CHECK(g.in(P::kSlaveData) == 0x34);
  CHECK(g.intr());
  CHECK(g.inta() == 0x30);

  auto bad_bytes = saved.bytes();
  bad_bytes[7] = 9;  // master lowest_priority out of range
  Fixture h;
  auto bad = StateStream::for_loading(bad_bytes);
  CHECK_THROWS_AS(h.pic.serialize(bad), vireo::Error);
}
