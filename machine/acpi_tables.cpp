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

}  // namespace

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

  // DSDT: the AML for Name (_S5, Package (4) {0, 0, 0, 0}); SLP_TYP 0 is
  // soft-off, as in QEMU's tables and AcpiPm.
  size_t dsdt = begin_table(b, "DSDT", 2);
  static constexpr uint8_t kS5Aml[] = {0x08, '_', 'S', '5', '_', 0x12, 0x06, 0x04, 0x00, 0x00, 0x00, 0x00};
  for (uint8_t byte : kS5Aml) b.u8(byte);
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
