#include "machine/acpi_tables.h"

#include <cstring>
#include <string>

#include "util/error.h"

namespace vireo {

namespace {

constexpr char kOemId[7] = "VIREO ";
constexpr char kOemTableId[9] = "VIREOPC ";

// Appends little-endian fields to a growing blob.
class Blob {
 public:
  size_t size() const { return bytes_.size(); }
  std::vector<uint8_t>& bytes() { return bytes_; }
  void align(size_t alignment) {
    while (bytes_.size() % alignment) bytes_.push_back(0);
  }
  void u8(uint8_t v) { bytes_.push_back(v); }
  void u16(uint16_t v) { put(v); }
  void u32(uint32_t v) { put(v); }
  void u64(uint64_t v) { put(v); }
  void text(const char* s, size_t n) {
    for (size_t i = 0; i < n; ++i) bytes_.push_back(static_cast<uint8_t>(s[i]));
  }
  void zeros(size_t n) { bytes_.insert(bytes_.end(), n, 0); }
  void set_u32(size_t at, uint32_t v) { std::memcpy(bytes_.data() + at, &v, sizeof v); }
  // The byte at `checksum_at` makes bytes [start, start + length) sum to 0.
  void checksum(size_t start, size_t length, size_t checksum_at) {
    uint8_t sum = 0;
    bytes_[checksum_at] = 0;
    for (size_t i = start; i < start + length; ++i) sum = static_cast<uint8_t>(sum + bytes_[i]);
    bytes_[checksum_at] = static_cast<uint8_t>(-sum);
  }

 private:
  template <typename T>
  void put(T v) {
    uint8_t b[sizeof v];
    std::memcpy(b, &v, sizeof v);
    bytes_.insert(bytes_.end(), b, b + sizeof v);
  }
  std::vector<uint8_t> bytes_;
};

// The common 36-byte header of every table but the RSDP and FACS
// (ACPI 6.4 §5.2.6); returns the table's start for finish_table().
size_t begin_table(Blob& b, const char signature[4], uint8_t revision) {
  b.align(8);
  size_t start = b.size();
  b.text(signature, 4);
  b.u32(0);  // length, filled in by finish_table
  b.u8(revision);
  b.u8(0);   // checksum
  b.text(kOemId, 6);
  b.text(kOemTableId, 8);
  b.u32(1);  // OEM revision
  b.text("VIRO", 4);
  b.u32(1);  // creator revision
  return start;
}

void finish_table(Blob& b, size_t start) {
  size_t length = b.size() - start;
  b.set_u32(start + 4, static_cast<uint32_t>(length));
  b.checksum(start, length, start + 9);
}

// A Generic Address Structure for a system-I/O register (§5.2.3.2).
void io_gas(Blob& b, uint16_t port, uint8_t bit_width) {
  b.u8(1);  // system I/O space
  b.u8(bit_width);
  b.u8(0);  // bit offset
  b.u8(port ? (bit_width <= 8 ? 1 : bit_width <= 16 ? 2 : 3) : 0);  // access size
  b.u64(port);
}

// AML encoding (ACPI 6.4 ch. 20), enough for names, devices, buffers and
// packages of integers.
using Aml = std::vector<uint8_t>;

void append(Aml& to, const Aml& bytes) { to.insert(to.end(), bytes.begin(), bytes.end()); }

// PkgLength (§20.2.4): the length of the package including the PkgLength
// bytes themselves; one byte below 64, else a lead byte holding the low
// nibble and the count of following bytes.
Aml with_pkg_length(const Aml& body) {
  Aml out;
  for (unsigned extra = 0; extra < 4; ++extra) {
    const size_t n = body.size() + 1 + extra;
    if (extra == 0 && n < 0x40) {
      out.push_back(static_cast<uint8_t>(n));
      break;
    }
    if (extra > 0 && n < (size_t{1} << (4 + 8 * extra))) {
      out.push_back(static_cast<uint8_t>((extra << 6) | (n & 0xf)));
      for (unsigned i = 0; i < extra; ++i) out.push_back(static_cast<uint8_t>(n >> (4 + 8 * i)));
      break;
    }
  }
  append(out, body);
  return out;
}

Aml aml_integer(uint64_t v) {
  if (v == 0) return {0x00};  // ZeroOp
  if (v == 1) return {0x01};  // OneOp
  Aml out;
  unsigned bytes = v <= 0xff ? 1 : v <= 0xffff ? 2 : v <= 0xffffffff ? 4 : 8;
  out.push_back(bytes == 1 ? 0x0a : bytes == 2 ? 0x0b : bytes == 4 ? 0x0c : 0x0e);
  for (unsigned i = 0; i < bytes; ++i) out.push_back(static_cast<uint8_t>(v >> (8 * i)));
  return out;
}

Aml aml_name(const char seg[5], const Aml& value) {
  Aml out = {0x08};  // NameOp
  out.insert(out.end(), seg, seg + 4);
  append(out, value);
  return out;
}

Aml aml_device(const char seg[5], const Aml& body) {
  Aml inner(seg, seg + 4);
  append(inner, body);
  Aml out = {0x5b, 0x82};  // DeviceOp
  append(out, with_pkg_length(inner));
  return out;
}

Aml aml_scope(const Aml& path, const Aml& body) {
  Aml inner = path;
  append(inner, body);
  Aml out = {0x10};  // ScopeOp
  append(out, with_pkg_length(inner));
  return out;
}

Aml aml_buffer(const Aml& bytes) {
  Aml inner = aml_integer(bytes.size());
  append(inner, bytes);
  Aml out = {0x11};  // BufferOp
  append(out, with_pkg_length(inner));
  return out;
}

Aml aml_package(const std::vector<Aml>& elements) {
  Aml inner = {static_cast<uint8_t>(elements.size())};
  for (const Aml& e : elements) append(inner, e);
  Aml out = {0x12};  // PackageOp
  append(out, with_pkg_length(inner));
  return out;
}

template <typename T>
void le(Aml& out, T v) {
  for (size_t i = 0; i < sizeof v; ++i) out.push_back(static_cast<uint8_t>(static_cast<uint64_t>(v) >> (8 * i)));
}

// Resource descriptors for _CRS (§6.4). Producer ranges (what the root
// bridge decodes for its children) with fixed minimum and maximum.
constexpr uint8_t kProducerFixed = 0x0c;  // _MAF | _MIF, positive decode, producer

void word_range(Aml& out, uint8_t type, uint8_t type_flags, uint16_t min, uint16_t max) {
  out.push_back(0x88);  // Word Address Space Descriptor (§6.4.3.5.3)
  le<uint16_t>(out, 13);
  out.push_back(type);  // 1 = I/O, 2 = bus number
  out.push_back(kProducerFixed);
  out.push_back(type_flags);
  le<uint16_t>(out, 0);  // granularity
  le<uint16_t>(out, min);
  le<uint16_t>(out, max);
  le<uint16_t>(out, 0);  // translation offset
  le<uint16_t>(out, static_cast<uint16_t>(max - min + 1));
}

void dword_memory(Aml& out, uint32_t min, uint32_t max) {
  out.push_back(0x87);  // DWord Address Space Descriptor (§6.4.3.5.2)
  le<uint16_t>(out, 23);
  out.push_back(0);     // memory
  out.push_back(kProducerFixed);
  out.push_back(0x03);  // read-write, cacheable (as QEMU's pc)
  le<uint32_t>(out, 0);
  le<uint32_t>(out, min);
  le<uint32_t>(out, max);
  le<uint32_t>(out, 0);
  le<uint32_t>(out, max - min + 1);
}

}  // namespace

std::vector<uint8_t> build_dsdt_aml(const AcpiConfig& config) {
  // Name (_S5, Package (4) {0, 0, 0, 0}): SLP_TYP 0 is soft-off, as in
  // QEMU's tables and AcpiPm.
  Aml aml = aml_name("_S5_", aml_package({aml_integer(0), aml_integer(0), aml_integer(0), aml_integer(0)}));
  if (config.pci_mmio_start == 0) return aml;

  // \_SB.PCI0: the i440FX root bridge. Linux scans PCI only below a
  // PNP0A03 device when ACPI is on, taking its windows from _CRS.
  Aml crs;
  word_range(crs, 2, 0, 0x00, 0xff);  // WordBusNumber: buses 0-255
  // IO (Decode16, 0x0CF8, 0x0CF8, 1, 8): the configuration ports themselves.
  crs.insert(crs.end(), {0x47, 0x01, 0xf8, 0x0c, 0xf8, 0x0c, 0x01, 0x08});
  word_range(crs, 1, 0x03, 0x0000, 0x0cf7);  // WordIO around them (entire range)
  word_range(crs, 1, 0x03, 0x0d00, 0xffff);
  dword_memory(crs, 0x000a0000, 0x000bffff);  // the VGA window
  dword_memory(crs, static_cast<uint32_t>(config.pci_mmio_start), static_cast<uint32_t>(config.pci_mmio_end));
  crs.insert(crs.end(), {0x79, 0x00});  // End Tag, checksum 0 = none

  // _PRT (§6.2.13): slot N's INTA#-INTD# on PIRQ (N + pin) mod 4, each
  // PIRQ on its own IOAPIC pin given directly as a GSI (Source 0). QEMU's
  // pc instead routes through link devices LNKA-D whose _SRS programs
  // PIIX3's PIRQRC; direct GSIs need no AML methods and no PCI config
  // operation region, and IOAPIC pins 16-19 are free on this machine.
  // The catch: a guest booted with "noapic" (8259 mode) gets no working
  // INTx from these entries.
  std::vector<Aml> routes;
  for (unsigned slot = 1; slot < 32; ++slot) {
    for (unsigned pin = 0; pin < 4; ++pin) {
      const uint64_t gsi = config.pci_pirq_gsi_base + (slot + pin) % 4;
      routes.push_back(aml_package({aml_integer((uint64_t{slot} << 16) | 0xffff), aml_integer(pin),
                                    aml_integer(0), aml_integer(gsi)}));
    }
  }

  Aml pci0;
  append(pci0, aml_name("_HID", {0x0c, 0x41, 0xd0, 0x0a, 0x03}));  // EISAID ("PNP0A03")
  append(pci0, aml_name("_ADR", aml_integer(0)));
  append(pci0, aml_name("_UID", aml_integer(0)));
  append(pci0, aml_name("_BBN", aml_integer(0)));
  append(pci0, aml_name("_SEG", aml_integer(0)));
  append(pci0, aml_name("_CRS", aml_buffer(crs)));
  append(pci0, aml_name("_PRT", aml_package(routes)));
  append(aml, aml_scope({0x5c, '_', 'S', 'B', '_'}, aml_device("PCI0", pci0)));
  return aml;
}

std::vector<uint8_t> build_acpi_tables(uint64_t base, const AcpiConfig& config) {
  Blob b;
  // RSDP (ACPI 2.0+ form, 36 bytes); addresses filled in below.
  b.text("RSD PTR ", 8);
  b.u8(0);               // checksum of the first 20 bytes
  b.text(kOemId, 6);
  b.u8(2);               // revision: 2.0+
  b.u32(0);              // RSDT address (offset 16)
  b.u32(36);             // length
  b.u64(0);              // XSDT address (offset 24)
  b.u8(0);               // extended checksum
  b.zeros(3);

  // FACS: 64-byte aligned, no header checksum (§5.2.10).
  b.align(64);
  size_t facs = b.size();
  b.text("FACS", 4);
  b.u32(64);
  b.u32(0);  // hardware signature
  b.u32(0);  // firmware waking vector
  b.u32(0);  // global lock
  b.u32(0);  // flags
  b.u64(0);  // X firmware waking vector
  b.u8(2);   // version
  b.zeros(64 - 33);

  size_t dsdt = begin_table(b, "DSDT", 2);
  for (uint8_t byte : build_dsdt_aml(config)) b.u8(byte);
  finish_table(b, dsdt);

  // FADT, revision 3 (244 bytes) (§5.2.9).
  size_t fadt = begin_table(b, "FACP", 3);
  b.u32(static_cast<uint32_t>(base + facs));  // FIRMWARE_CTRL
  b.u32(static_cast<uint32_t>(base + dsdt));  // DSDT
  b.u8(0);                                    // reserved (INT_MODEL)
  b.u8(0);                                    // preferred PM profile: unspecified
  b.u16(config.sci_irq);                      // SCI_INT
  b.u32(0);                                   // SMI_CMD: none, ACPI mode is always on
  b.u8(0);                                    // ACPI_ENABLE
  b.u8(0);                                    // ACPI_DISABLE
  b.u8(0);                                    // S4BIOS_REQ
  b.u8(0);                                    // PSTATE_CNT
  b.u32(config.pm_base_port);                 // PM1a_EVT_BLK
  b.u32(0);                                   // PM1b_EVT_BLK
  b.u32(config.pm_base_port + 4u);            // PM1a_CNT_BLK
  b.u32(0);                                   // PM1b_CNT_BLK
  b.u32(0);                                   // PM2_CNT_BLK
  b.u32(config.pm_base_port + 8u);            // PM_TMR_BLK
  b.u32(0);                                   // GPE0_BLK
  b.u32(0);                                   // GPE1_BLK
  b.u8(4);                                    // PM1_EVT_LEN
  b.u8(2);                                    // PM1_CNT_LEN
  b.u8(0);                                    // PM2_CNT_LEN
  b.u8(4);                                    // PM_TMR_LEN
  b.u8(0);                                    // GPE0_BLK_LEN
  b.u8(0);                                    // GPE1_BLK_LEN
  b.u8(0);                                    // GPE1_BASE
  b.u8(0);                                    // CST_CNT
  b.u16(0xfff);                               // P_LVL2_LAT: C2 not supported
  b.u16(0xfff);                               // P_LVL3_LAT: C3 not supported
  b.u16(0);                                   // FLUSH_SIZE
  b.u16(0);                                   // FLUSH_STRIDE
  b.u8(0);                                    // DUTY_OFFSET
  b.u8(0);                                    // DUTY_WIDTH
  b.u8(0);                                    // DAY_ALRM
  b.u8(0);                                    // MON_ALRM
  b.u8(0x32);                                 // CENTURY: the RTC's century byte
  b.u16(0x3);                                 // IAPC_BOOT_ARCH: legacy devices, 8042
  b.u8(0);                                    // reserved
  // Flags: WBINVD works, C1 supported, no fixed sleep button.
  b.u32((1u << 0) | (1u << 2) | (1u << 5));
  io_gas(b, 0, 0);                            // RESET_REG: none
  b.u8(0);                                    // RESET_VALUE
  b.zeros(3);                                 // reserved
  b.u64(base + facs);                         // X_FIRMWARE_CTRL
  b.u64(base + dsdt);                         // X_DSDT
  io_gas(b, config.pm_base_port, 32);         // X_PM1a_EVT_BLK
  io_gas(b, 0, 0);                            // X_PM1b_EVT_BLK
  io_gas(b, static_cast<uint16_t>(config.pm_base_port + 4), 16);  // X_PM1a_CNT_BLK
  io_gas(b, 0, 0);                            // X_PM1b_CNT_BLK
  io_gas(b, 0, 0);                            // X_PM2_CNT_BLK
  io_gas(b, static_cast<uint16_t>(config.pm_base_port + 8), 32);  // X_PM_TMR_BLK
  io_gas(b, 0, 0);                            // X_GPE0_BLK
  io_gas(b, 0, 0);                            // X_GPE1_BLK
  finish_table(b, fadt);

  // MADT (§5.2.12).
  size_t madt = begin_table(b, "APIC", 3);
  b.u32(static_cast<uint32_t>(config.local_apic_address));
  b.u32(1);  // PCAT_COMPAT: dual 8259s present
  for (unsigned cpu = 0; cpu < config.cpu_count; ++cpu) {
    b.u8(0);  // processor local APIC
    b.u8(8);
    b.u8(static_cast<uint8_t>(cpu));  // ACPI processor UID
    b.u8(static_cast<uint8_t>(cpu));  // APIC ID
    b.u32(1);                          // enabled
  }
  b.u8(1);  // I/O APIC
  b.u8(12);
  b.u8(0);  // I/O APIC ID, as QEMU's pc
  b.u8(0);
  b.u32(static_cast<uint32_t>(config.ioapic_address));
  b.u32(0);  // GSI base
  // ISA IRQ 0 (the PIT) arrives on IOAPIC pin 2, as on QEMU's pc.
  b.u8(2);
  b.u8(10);
  b.u8(0);   // bus: ISA
  b.u8(0);   // source IRQ
  b.u32(2);  // GSI
  b.u16(0);  // conforms to the bus
  // The SCI is level triggered, active high.
  b.u8(2);
  b.u8(10);
  b.u8(0);
  b.u8(config.sci_irq);
  b.u32(config.sci_irq);
  b.u16(0x000d);
  // LINT1 of every local APIC is the NMI input.
  b.u8(4);
  b.u8(6);
  b.u8(0xff);  // all processors
  b.u16(0);
  b.u8(1);     // LINT1
  finish_table(b, madt);

  // HPET (IA-PC HPET specification 1.0a §3.2.4): where the event timer
  // block is and what it can do.
  std::vector<size_t> tables = {fadt, madt};
  if (config.hpet_address != 0) {
    size_t hpet = begin_table(b, "HPET", 1);
    b.u32(config.hpet_block_id);
    b.u8(0);   // address space: system memory (a generic address structure)
    b.u8(64);  // register width
    b.u8(0);   // bit offset
    b.u8(0);   // access size: undefined (legacy)
    b.u64(config.hpet_address);
    b.u8(0);   // HPET number
    b.u16(0);  // minimum periodic tick, in counter ticks (no minimum)
    b.u8(0);   // page protection: none
    finish_table(b, hpet);
    tables.push_back(hpet);
  }

  // RSDT (32-bit pointers) and XSDT (64-bit) list the tables above.
  size_t rsdt = begin_table(b, "RSDT", 1);
  for (size_t t : tables) b.u32(static_cast<uint32_t>(base + t));
  finish_table(b, rsdt);
  size_t xsdt = begin_table(b, "XSDT", 1);
  for (size_t t : tables) b.u64(base + t);
  finish_table(b, xsdt);

  b.set_u32(16, static_cast<uint32_t>(base + rsdt));
  uint64_t xsdt_address = base + xsdt;
  std::memcpy(b.bytes().data() + 24, &xsdt_address, sizeof xsdt_address);
  b.checksum(0, 20, 8);
  b.checksum(0, 36, 32);

  if (b.size() > AcpiLayout::kMaxBytes) throw Error("ACPI tables do not fit in the BIOS area");
  return std::move(b.bytes());
}

}  // namespace vireo
