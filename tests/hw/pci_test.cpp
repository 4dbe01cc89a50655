// PCI configuration mechanism #1, the type-0 header, BAR sizing and
// mapping, PIIX3 PIRQ routing, INTx swizzling, MSI and MSI-X, as Linux's
// arch/x86/pci/direct.c and drivers/pci probe them.
#include <catch2/catch.hpp>

#include <vector>

#include "hw/pci/i440fx.h"
#include "hw/pci/msix.h"
#include "hw/pci/pci_bus.h"
#include "hw/pci/piix3.h"

using namespace vireo;

namespace {

// Counts accesses so a test can tell where a BAR is decoded.
struct CountingRegion final : BusDevice {
  uint64_t reads = 0;
  uint64_t last_write = 0;
  uint64_t read(uint64_t offset, unsigned) override {
    ++reads;
    return 0x1000 + offset;
  }
  void write(uint64_t, unsigned, uint64_t value) override { last_write = value; }
};

// A device with one of each BAR kind, an MSI capability and INTA#.
class TestDevice final : public PciDevice {
 public:
  CountingRegion io, mem32, mem64;
  TestDevice() : PciDevice("test") {
    set_identity(0x1234, 0x5678, 0x020000, 3, 0x1af4, 0x1100);
    declare_bar(0, PciBarKind::Io, 0x20, &io);
    declare_bar(1, PciBarKind::Memory32, 0x1000, &mem32);
    declare_bar(2, PciBarKind::Memory64, 0x4000, &mem64, true);
    add_msi_capability();
    add_capability(pci::kCapVendor, 8);
    set_interrupt_pin(1);
  }
  using PciDevice::notify_msi;
  using PciDevice::set_intx;
};

struct Machine {
  IoBus pio{"ioport", IoBus::UnclaimedReads::AllOnes};
  IoBus mmio{"mmio", IoBus::UnclaimedReads::Zero};
  RunControl control;
  PciBus bus{pio, mmio};
  PciConfigPorts ports{bus, control};
  I440fxHostBridge host;
  std::vector<std::pair<unsigned, bool>> isa_irqs;
  Piix3 piix3{[this](unsigned irq, bool level) { isa_irqs.push_back({irq, level}); }};
  TestDevice device;
  std::vector<std::pair<unsigned, bool>> pirqs;
  std::vector<std::pair<uint64_t, uint32_t>> msis;

  Machine() {
    pio.add(PciConfigPorts::kBasePort, PciConfigPorts::kSize, &ports, "pci-conf");
    bus.attach(&host, PciBus::devfn(0, 0));
    bus.attach(&piix3, PciBus::devfn(1, 0));
    bus.attach(&device, PciBus::devfn(3, 0));
    bus.set_pirq_handler([this](unsigned pirq, bool level) {
      pirqs.push_back({pirq, level});
      piix3.set_pirq(pirq, level);
    });
    device.set_msi_sender([this](uint64_t a, uint32_t d) { msis.push_back({a, d}); });
  }
  static uint32_t address(unsigned slot, unsigned function, unsigned reg) {
    return 0x80000000u | slot << 11 | function << 8 | (reg & 0xfc);
  }
  uint32_t cfg_read(unsigned slot, unsigned reg, unsigned size = 4) {
    pio.write(0xcf8, 4, address(slot, 0, reg));
    return static_cast<uint32_t>(pio.read(0xcfc + (reg & 3), size));
  }
  void cfg_write(unsigned slot, unsigned reg, unsigned size, uint32_t value) {
    pio.write(0xcf8, 4, address(slot, 0, reg));
    pio.write(0xcfc + (reg & 3), size, value);
  }
};

}  // namespace

TEST_CASE("CONFIG_ADDRESS reads back and type 1 detection works as Linux probes it") {
  Machine m;
  // pci_check_type1(): a byte at 0xCFB, then the dword at 0xCF8 reads back.
  m.pio.write(0xcfb, 1, 0x01);
  m.pio.write(0xcf8, 4, 0x80000000);
  CHECK(m.pio.read(0xcf8, 4) == 0x80000000);
  // Reserved bits 30:24 and 1:0 do not stick.
  m.pio.write(0xcf8, 4, 0xffffffff);
  CHECK(m.pio.read(0xcf8, 4) == 0x80fffffc);
}

TEST_CASE("Host bridge and PIIX3 carry QEMU pc's IDs; absent slots read all ones") {
  Machine m;
  CHECK(m.cfg_read(0, pci::kVendorId) == 0x12378086);
  CHECK(m.cfg_read(0, pci::kRevisionId) == 0x06000002);
  CHECK(m.cfg_read(1, pci::kVendorId) == 0x70008086);
  CHECK(m.cfg_read(1, pci::kHeaderType, 1) == 0x80);
  CHECK(m.cfg_read(1, pci::kSubsystemVendorId) == 0x11001af4);
  CHECK(m.cfg_read(7, pci::kVendorId) == 0xffffffff);
  CHECK(m.cfg_read(7, pci::kVendorId, 2) == 0xffff);
  // Config disabled (bit 31 clear): nothing answers.
  m.pio.write(0xcf8, 4, 0x00000000);
  CHECK(m.pio.read(0xcfc, 4) == 0xffffffff);
  // Another bus: no bridges, nothing there.
  m.pio.write(0xcf8, 4, 0x80010000);
  CHECK(m.pio.read(0xcfc, 4) == 0xffffffff);
}

TEST_CASE("Byte and word accesses reach the right config bytes") {
  Machine m;
  CHECK(m.cfg_read(3, pci::kDeviceId, 2) == 0x5678);
  CHECK(m.cfg_read(3, pci::kDeviceId + 1, 1) == 0x56);
  m.cfg_write(3, pci::kInterruptLine, 1, 11);
  CHECK(m.cfg_read(3, pci::kInterruptLine, 1) == 11);
  CHECK(m.cfg_read(3, pci::kInterruptPin, 1) == 1);
  // Read-only identity does not change.
  m.cfg_write(3, pci::kVendorId, 4, 0);
  CHECK(m.cfg_read(3, pci::kVendorId) == 0x56781234);
}

TEST_CASE("BAR sizing returns the size mask with the type bits") {
  Machine m;
  m.cfg_write(3, pci::kBar0, 4, 0xffffffff);
  CHECK(m.cfg_read(3, pci::kBar0) == (0xffffffe0u | pci::kBarIo));
  m.cfg_write(3, pci::kBar0 + 4, 4, 0xffffffff);
  CHECK(m.cfg_read(3, pci::kBar0 + 4) == 0xfffff000u);
  m.cfg_write(3, pci::kBar0 + 8, 4, 0xffffffff);
  m.cfg_write(3, pci::kBar0 + 12, 4, 0xffffffff);
  CHECK(m.cfg_read(3, pci::kBar0 + 8) == (0xffffc000u | pci::kBarMem64 | pci::kBarPrefetchable));
  CHECK(m.cfg_read(3, pci::kBar0 + 12) == 0xffffffffu);
  // Unimplemented BARs and the expansion ROM read as zero.
  m.cfg_write(3, pci::kBar0 + 16, 4, 0xffffffff);
  CHECK(m.cfg_read(3, pci::kBar0 + 16) == 0);
  m.cfg_write(3, pci::kExpansionRom, 4, 0xffffffff);
  CHECK(m.cfg_read(3, pci::kExpansionRom) == 0);
  // Sizing with decode on maps nothing at the all-ones address.
  m.cfg_write(3, pci::kCommand, 2, pci::kCommandIoEnable | pci::kCommandMemoryEnable);
  CHECK(m.mmio.ranges().empty());
}

TEST_CASE("BARs are decoded only while enabled, and move when rewritten") {
  Machine m;
  m.cfg_write(3, pci::kBar0, 4, 0xc040);
  m.cfg_write(3, pci::kBar0 + 4, 4, 0xfe001000);
  m.cfg_write(3, pci::kBar0 + 8, 4, 0xfe004000);
  m.cfg_write(3, pci::kBar0 + 12, 4, 0);
  CHECK(m.pio.read(0xc040, 1) == 0xff);  // decode off
  CHECK(m.mmio.read(0xfe001000, 4) == 0);

  m.cfg_write(3, pci::kCommand, 2, pci::kCommandIoEnable);
  CHECK(m.pio.read(0xc044, 1) == ((0x1000 + 4) & 0xff));
  CHECK(m.mmio.read(0xfe001000, 4) == 0);  // memory still off

  m.cfg_write(3, pci::kCommand, 2, pci::kCommandIoEnable | pci::kCommandMemoryEnable);
  CHECK(m.mmio.read(0xfe001010, 4) == 0x1010);
  CHECK(m.mmio.read(0xfe004008, 4) == 0x1008);

  // Moving the 64-bit BAR above 4 GiB: both halves count.
  m.cfg_write(3, pci::kBar0 + 12, 4, 0x1);
  CHECK(m.mmio.read(0xfe004008, 4) == 0);
  CHECK(m.mmio.read(0x1fe004008, 4) == 0x1008);
  CHECK(m.device.bar(2).address == 0x1fe004000);

  m.cfg_write(3, pci::kCommand, 2, 0);
  CHECK(m.mmio.read(0x1fe004008, 4) == 0);
  CHECK(m.pio.read(0xc040, 1) == 0xff);
}

TEST_CASE("A BAR placed over another device stays unmapped, and the machine keeps going") {
  Machine m;
  CountingRegion other;
  m.mmio.add(0xfec00000, 0x1000, &other, "ioapic");
  m.cfg_write(3, pci::kBar0 + 4, 4, 0xfec00000);
  m.cfg_write(3, pci::kCommand, 2, pci::kCommandMemoryEnable);
  CHECK_FALSE(m.device.bar(1).enabled);
  CHECK(m.mmio.read(0xfec00000, 4) == 0x1000);  // still the other device
  // Moving it somewhere free maps it.
  m.cfg_write(3, pci::kBar0 + 4, 4, 0xfe100000);
  CHECK(m.device.bar(1).enabled);
}

TEST_CASE("The capability list is walkable and ends") {
  Machine m;
  CHECK((m.cfg_read(3, pci::kStatus, 2) & pci::kStatusCapabilities) != 0);
  unsigned at = m.cfg_read(3, pci::kCapabilitiesPointer, 1);
  std::vector<unsigned> ids;
  for (int guard = 0; at != 0 && guard < 48; ++guard) {
    CHECK(at % 4 == 0);
    CHECK(at >= 0x40);
    ids.push_back(m.cfg_read(3, at, 1));
    at = m.cfg_read(3, at + 1, 1);
  }
  CHECK(ids == std::vector<unsigned>{pci::kCapMsi, pci::kCapVendor});
}

TEST_CASE("INTx# is swizzled onto PIRQs and honours the interrupt-disable bit") {
  Machine m;
  // Slot 3, INTA# -> PIRQ (3 + 1 - 1) % 4 = 3 (PIRQD#).
  m.device.set_intx(true);
  REQUIRE(m.pirqs.size() == 1);
  CHECK(m.pirqs.back() == std::pair<unsigned, bool>{3, true});
  CHECK((m.cfg_read(3, pci::kStatus, 2) & pci::kStatusInterrupt) != 0);
  m.cfg_write(3, pci::kCommand, 2, pci::kCommandInterruptDisable);
  CHECK(m.pirqs.back() == std::pair<unsigned, bool>{3, false});
  // The status bit still shows the device wants service.
  CHECK((m.cfg_read(3, pci::kStatus, 2) & pci::kStatusInterrupt) != 0);
  m.cfg_write(3, pci::kCommand, 2, 0);
  CHECK(m.pirqs.back() == std::pair<unsigned, bool>{3, true});
  m.device.set_intx(false);
  CHECK(m.pirqs.back() == std::pair<unsigned, bool>{3, false});
  CHECK(PciBus::pirq_for(0, 1) == 0);
  CHECK(PciBus::pirq_for(2, 4) == 1);
}

TEST_CASE("PIIX3 PIRQRC routes a PIRQ to the ISA IRQ the guest chooses") {
  Machine m;
  CHECK(m.cfg_read(1, Piix3::kPirqRouteControl) == 0x80808080);
  m.device.set_intx(true);
  CHECK(m.isa_irqs.empty());  // routing disabled at reset
  // PIRQD# -> IRQ 11: the asserted line appears at once.
  m.cfg_write(1, Piix3::kPirqRouteControl + 3, 1, 11);
  REQUIRE(m.isa_irqs.size() == 1);
  CHECK(m.isa_irqs.back() == std::pair<unsigned, bool>{11, true});
  // Re-routing moves it: 11 drops, 10 rises.
  m.cfg_write(1, Piix3::kPirqRouteControl + 3, 1, 10);
  CHECK(m.isa_irqs[1] == std::pair<unsigned, bool>{11, false});
  CHECK(m.isa_irqs[2] == std::pair<unsigned, bool>{10, true});
  // Reserved IRQs (0-2, 8, 13) are refused: the line drops.
  m.cfg_write(1, Piix3::kPirqRouteControl + 3, 1, 8);
  CHECK(m.isa_irqs.back() == std::pair<unsigned, bool>{10, false});
  CHECK(m.piix3.routed_irq(3) == -1);
  m.cfg_write(1, Piix3::kPirqRouteControl + 3, 1, 10);
  m.device.set_intx(false);
  CHECK(m.isa_irqs.back() == std::pair<unsigned, bool>{10, false});
}

TEST_CASE("MSI is sent only when enabled and bus mastering is on") {
  Machine m;
  unsigned msi = m.cfg_read(3, pci::kCapabilitiesPointer, 1);
  REQUIRE(m.cfg_read(3, msi, 1) == pci::kCapMsi);
  CHECK_FALSE(m.device.notify_msi());
  m.cfg_write(3, msi + 4, 4, 0xfee01000);
  m.cfg_write(3, msi + 8, 2, 0x4041);
  m.cfg_write(3, msi + 2, 2, 1);
  CHECK(m.device.notify_msi());
  CHECK(m.msis.empty());  // no bus master: no memory write
  m.cfg_write(3, pci::kCommand, 2, pci::kCommandBusMaster);
  CHECK(m.device.notify_msi());
  REQUIRE(m.msis.size() == 1);
  CHECK(m.msis[0] == std::pair<uint64_t, uint32_t>{0xfee01000, 0x4041});
  // Reset disables it again.
  m.device.reset();
  CHECK_FALSE(m.device.notify_msi());
}

TEST_CASE("MSI-X: masked vectors pend and are sent on unmask") {
  std::vector<std::pair<uint64_t, uint32_t>> sent;
  MsixTable table(3, 0x800, [&](uint64_t a, uint32_t d) { sent.push_back({a, d}); });
  CHECK_FALSE(table.notify(0));  // disabled: caller falls back to INTx
  table.set_control(MsixTable::kControlEnable);
  table.write(0x10 + MsixTable::kAddressLow, 4, 0xfee00000);
  table.write(0x10 + MsixTable::kData, 4, 0x31);
  CHECK(table.read(0x10 + MsixTable::kVectorControl, 4) == 1);  // masked at reset
  CHECK(table.notify(1));
  CHECK(sent.empty());
  CHECK(table.pending(1));
  CHECK(table.read(0x800, 8) == 0x2);  // PBA bit 1
  table.write(0x10 + MsixTable::kVectorControl, 4, 0);
  REQUIRE(sent.size() == 1);
  CHECK(sent[0] == std::pair<uint64_t, uint32_t>{0xfee00000, 0x31});
  CHECK_FALSE(table.pending(1));
  // Function mask holds everything back, and releases it.
  table.set_control(MsixTable::kControlEnable | MsixTable::kControlFunctionMask);
  CHECK(table.notify(1));
  CHECK(sent.size() == 1);
  table.set_control(MsixTable::kControlEnable);
  CHECK(sent.size() == 2);
  // Out of range: no vector, nothing sent, nothing written.
  CHECK_FALSE(table.notify(7));
  table.write(0x100, 4, 0x1234);
  CHECK(table.read(0x100, 4) == 0);
  table.write(0x800, 8, ~0ull);  // the PBA is read-only
  CHECK(table.read(0x800, 8) == 0);
}

TEST_CASE("Saved PCI state reprograms BARs and PIRQ routes when loaded") {
  Machine source;
  source.cfg_write(3, pci::kBar0 + 4, 4, 0xfe001000);
  source.cfg_write(3, pci::kCommand, 2, pci::kCommandMemoryEnable);
  source.cfg_write(1, Piix3::kPirqRouteControl + 3, 1, 11);
  StateStream saved = StateStream::for_saving();
  source.device.serialize(saved);
  source.piix3.serialize(saved);

  Machine destination;
  StateStream loading = StateStream::for_loading(saved.bytes());
  destination.device.serialize(loading);
  destination.piix3.serialize(loading);
  CHECK(loading.at_end());
  CHECK(destination.mmio.read(0xfe001010, 4) == 0x1010);
  CHECK(destination.piix3.routed_irq(3) == 11);

  // A header whose read-only bytes differ belongs to another device.
  std::vector<uint8_t> bytes = saved.bytes();
  bytes[pci::kDeviceId] ^= 1;
  Machine other;
  StateStream corrupt = StateStream::for_loading(bytes);
  CHECK_THROWS_AS(other.device.serialize(corrupt), Error);
}
