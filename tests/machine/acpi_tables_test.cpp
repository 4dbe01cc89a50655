// The ACPI tables a directly booted kernel reads: every checksum, the
// pointers between tables, and the fields Linux uses to find the PM
// registers, the SCI, the CPUs and the IOAPIC.
#include <catch2/catch.hpp>

#include <cstring>
#include <string>

#include "machine/acpi_tables.h"

using namespace vireo;

namespace {

constexpr uint64_t kBase = AcpiLayout::kRsdpAddress;

template <typename T>
T field(const std::vector<uint8_t>& blob, uint64_t at) {
  REQUIRE(at + sizeof(T) <= blob.size());
  T v;
  std::memcpy(&v, blob.data() + at, sizeof v);
  return v;
}

uint8_t sum(const std::vector<uint8_t>& blob, uint64_t start, uint64_t length) {
  uint8_t s = 0;
  for (uint64_t i = start; i < start + length; ++i) s = static_cast<uint8_t>(s + blob[i]);
  return s;
}

std::string signature(const std::vector<uint8_t>& blob, uint64_t at) {
  return std::string(reinterpret_cast<const char*>(blob.data() + at), 4);
}

// Offset in the blob of a table at guest address `address`, checked.
uint64_t table_at(const std::vector<uint8_t>& blob, uint64_t address, const char* expected) {
  REQUIRE(address >= kBase);
  uint64_t at = address - kBase;
  REQUIRE(signature(blob, at) == expected);
  uint32_t length = field<uint32_t>(blob, at + 4);
  REQUIRE(at + length <= blob.size());
  CHECK(sum(blob, at, length) == 0);
  return at;
}

}  // namespace

TEST_CASE("acpi: RSDP checksums and pointers to RSDT and XSDT", "[acpi]") {
  std::vector<uint8_t> blob = build_acpi_tables(kBase, {.cpu_count = 2});
  REQUIRE(std::string(reinterpret_cast<const char*>(blob.data()), 8) == "RSD PTR ");
  CHECK(sum(blob, 0, 20) == 0);
  CHECK(sum(blob, 0, 36) == 0);
  CHECK(blob[15] == 2);  // ACPI 2.0+ RSDP
  uint64_t rsdt = table_at(blob, field<uint32_t>(blob, 16), "RSDT");
  uint64_t xsdt = table_at(blob, field<uint64_t>(blob, 24), "XSDT");
  // Both list the FADT and the MADT.
  CHECK(field<uint32_t>(blob, rsdt + 4) == 36 + 2 * 4);
  CHECK(field<uint32_t>(blob, xsdt + 4) == 36 + 2 * 8);
  table_at(blob, field<uint32_t>(blob, rsdt + 36), "FACP");
  table_at(blob, field<uint64_t>(blob, xsdt + 44), "APIC");
}

TEST_CASE("acpi: FADT names the PM registers, the SCI and a DSDT with \\_S5", "[acpi]") {
  AcpiConfig config;
  std::vector<uint8_t> blob = build_acpi_tables(kBase, config);
  uint64_t rsdt = field<uint32_t>(blob, 16) - kBase;
  uint64_t fadt = table_at(blob, field<uint32_t>(blob, rsdt + 36), "FACP");
  CHECK(field<uint32_t>(blob, fadt + 4) == 244);
  CHECK(field<uint16_t>(blob, fadt + 46) == config.sci_irq);
  CHECK(field<uint32_t>(blob, fadt + 56) == config.pm_base_port);
  CHECK(field<uint32_t>(blob, fadt + 64) == config.pm_base_port + 4u);
  CHECK(field<uint32_t>(blob, fadt + 76) == config.pm_base_port + 8u);
  CHECK(blob[fadt + 88] == 4);  // PM1_EVT_LEN
  CHECK(blob[fadt + 89] == 2);  // PM1_CNT_LEN
  CHECK(blob[fadt + 91] == 4);  // PM_TMR_LEN
  uint64_t facs = field<uint32_t>(blob, fadt + 36) - kBase;
  CHECK(signature(blob, facs) == "FACS");
  CHECK(facs % 64 == 0);
  CHECK(field<uint64_t>(blob, fadt + 132) == facs + kBase);  // X_FIRMWARE_CTRL
  uint64_t dsdt = table_at(blob, field<uint32_t>(blob, fadt + 40), "DSDT");
  CHECK(field<uint64_t>(blob, fadt + 140) == dsdt + kBase);  // X_DSDT
  // Name (_S5_, Package (4) {0, 0, 0, 0}) as AML.
  const uint8_t s5[] = {0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0, 0, 0, 0};
  REQUIRE(field<uint32_t>(blob, dsdt + 4) == 36 + sizeof s5);
  CHECK(std::memcmp(blob.data() + dsdt + 36, s5, sizeof s5) == 0);
}

TEST_CASE("acpi: MADT lists every CPU, the IOAPIC and the pc interrupt overrides", "[acpi]") {
  std::vector<uint8_t> blob = build_acpi_tables(kBase, {.cpu_count = 4});
  uint64_t xsdt = field<uint64_t>(blob, 24) - kBase;
  uint64_t madt = table_at(blob, field<uint64_t>(blob, xsdt + 44), "APIC");
  CHECK(field<uint32_t>(blob, madt + 36) == 0xfee00000u);
  uint64_t end = madt + field<uint32_t>(blob, madt + 4);
  unsigned cpus = 0, ioapics = 0;
  bool irq0_to_gsi2 = false, sci_level = false;
  for (uint64_t at = madt + 44; at < end; at += blob[at + 1]) {
    REQUIRE(blob[at + 1] >= 2);
    switch (blob[at]) {
      case 0:
        CHECK(blob[at + 3] == cpus);  // APIC IDs 0..n-1
        CHECK(field<uint32_t>(blob, at + 4) == 1);
        ++cpus;
        break;
      case 1:
        CHECK(field<uint32_t>(blob, at + 4) == 0xfec00000u);
        ++ioapics;
        break;
      case 2:
        if (blob[at + 3] == 0 && field<uint32_t>(blob, at + 4) == 2) irq0_to_gsi2 = true;
        if (blob[at + 3] == 9 && field<uint16_t>(blob, at + 8) == 0xd) sci_level = true;
        break;
      default:
        break;
    }
  }
  CHECK(cpus == 4);
  CHECK(ioapics == 1);
  CHECK(irq0_to_gsi2);
  CHECK(sci_level);
}

namespace {

// Just enough of an AML reader (ACPI 6.4 ch. 20) to walk what
// build_dsdt_aml writes.
struct AmlReader {
  const std::vector<uint8_t>& aml;
  size_t at = 0;
  uint8_t byte() {
    REQUIRE(at < aml.size());
    return aml[at++];
  }
  // Returns the end offset of the package that starts here.
  size_t pkg_end() {
    const size_t start = at;
    const uint8_t lead = byte();
    const unsigned extra = lead >> 6;
    size_t length = extra == 0 ? lead & 0x3f : lead & 0x0f;
    for (unsigned i = 0; i < extra; ++i) length |= size_t{byte()} << (4 + 8 * i);
    return start + length;
  }
  uint64_t integer() {
    const uint8_t op = byte();
    if (op == 0x00 || op == 0x01) return op;
    const unsigned bytes = op == 0x0a ? 1 : op == 0x0b ? 2 : op == 0x0c ? 4 : op == 0x0e ? 8 : 0;
    REQUIRE(bytes != 0);
    uint64_t v = 0;
    for (unsigned i = 0; i < bytes; ++i) v |= uint64_t{byte()} << (8 * i);
    return v;
  }
  std::string seg() {
    std::string s;
    for (int i = 0; i < 4; ++i) s += static_cast<char>(byte());
    return s;
  }
  // Moves to just after NameOp + `name`; fails if absent.
  void find_name(const char* name) {
    for (size_t i = 0; i + 5 <= aml.size(); ++i) {
      if (aml[i] == 0x08 && std::memcmp(aml.data() + i + 1, name, 4) == 0) {
        at = i + 5;
        return;
      }
    }
    FAIL(std::string("no Name ") + name);
  }
};

}  // namespace

TEST_CASE("acpi: the DSDT describes PCI0 with its windows and a _PRT", "[acpi]") {
  AcpiConfig config;
  config.pci_mmio_start = 0x20000000;
  const std::vector<uint8_t> aml = build_dsdt_aml(config);
  AmlReader r{aml};
  // _S5 first, then Scope (\_SB) { Device (PCI0) {...} } to the end.
  r.at = 12;
  REQUIRE(r.byte() == 0x10);
  CHECK(r.pkg_end() == aml.size());
  CHECK(r.byte() == 0x5c);
  CHECK(r.seg() == "_SB_");
  CHECK(r.byte() == 0x5b);
  CHECK(r.byte() == 0x82);
  CHECK(r.pkg_end() == aml.size());
  CHECK(r.seg() == "PCI0");

  r.find_name("_HID");
  CHECK(r.integer() == 0x030ad041);  // EISAID ("PNP0A03")
  r.find_name("_BBN");
  CHECK(r.integer() == 0);

  r.find_name("_CRS");
  REQUIRE(r.byte() == 0x11);
  const size_t buffer_end = r.pkg_end();
  const uint64_t length = r.integer();
  CHECK(r.at + length == buffer_end);
  std::vector<uint8_t> kinds;
  uint32_t last_min = 0, last_max = 0;
  while (r.at < buffer_end) {
    const uint8_t tag = r.byte();
    kinds.push_back(tag);
    if (tag == 0x79) {
      r.byte();
      break;
    }
    if (tag & 0x80) {
      const uint16_t len = static_cast<uint16_t>(r.byte() | r.byte() << 8);
      if (tag == 0x87) {
        std::memcpy(&last_min, aml.data() + r.at + 7, 4);
        std::memcpy(&last_max, aml.data() + r.at + 11, 4);
      }
      r.at += len;
    } else {
      r.at += tag & 7;
    }
  }
  CHECK(r.at == buffer_end);
  CHECK(kinds == std::vector<uint8_t>{0x88, 0x47, 0x88, 0x88, 0x87, 0x87, 0x79});
  CHECK(last_min == 0x20000000);
  CHECK(last_max == 0xfebfffff);

  r.find_name("_PRT");
  REQUIRE(r.byte() == 0x12);
  const size_t prt_end = r.pkg_end();
  const unsigned entries = r.byte();
  CHECK(entries == 31 * 4);
  for (unsigned i = 0; i < entries; ++i) {
    REQUIRE(r.byte() == 0x12);
    r.pkg_end();
    REQUIRE(r.byte() == 4);
    const uint64_t address = r.integer();
    const uint64_t pin = r.integer();
    CHECK(r.integer() == 0);  // no link device: the last field is a GSI
    const uint64_t gsi = r.integer();
    CHECK((address & 0xffff) == 0xffff);
    CHECK(gsi == 16 + ((address >> 16) + pin) % 4);
  }
  CHECK(r.at == prt_end);
}

TEST_CASE("acpi: without a PCI window the DSDT holds only \\_S5", "[acpi]") {
  CHECK(build_dsdt_aml(AcpiConfig{}).size() == 12);
}
