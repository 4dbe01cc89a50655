// The ACPI tables a directly booted kernel finds (ACPI 6.4 ch. 5): RSDP,
// RSDT/XSDT, FADT with FACS and a DSDT holding \_S5 and the PCI root
// bridge \_SB.PCI0, a MADT listing the
// local APICs, the IOAPIC and QEMU's pc interrupt overrides, and an HPET
// table. With -bios the
// firmware builds its own; this is for -kernel, as Firecracker and
// cloud-hypervisor do.
#pragma once

#include <cstdint>
#include <vector>

namespace vireo {

struct AcpiConfig {
  unsigned cpu_count = 1;
  uint16_t pm_base_port = 0x600;  // AcpiPm's event block; control +4, timer +8
  uint8_t sci_irq = 9;
  uint64_t ioapic_address = 0xfec00000;
  uint64_t local_apic_address = 0xfee00000;
  // The PCI root bridge's 32-bit memory window: from the end of RAM below
  // 4 GiB to just below the IOAPIC, as QEMU's pc. 0 leaves PCI out of
  // the DSDT.
  uint64_t pci_mmio_start = 0;
  uint64_t pci_mmio_end = 0xfebfffff;
  // The IOAPIC pin of PIRQA#; B-D follow (the _PRT's GSIs).
  unsigned pci_pirq_gsi_base = 16;
  // The HPET's MMIO block and the low half of its GCAP_ID; no HPET table
  // when the address is 0.
  uint64_t hpet_address = 0;
  uint32_t hpet_block_id = 0;
};

struct AcpiLayout {
  // The RSDP must sit on a 16-byte boundary in 0xe0000-0xfffff, where a
  // kernel without EFI scans for it (ACPI 6.4 §5.2.5.1); the tables follow it
  // in the same reserved BIOS area.
  static constexpr uint64_t kRsdpAddress = 0xf0000;
  static constexpr uint64_t kMaxBytes = 0x10000;
};

// The tables as one blob to be loaded at `base` (AcpiLayout::kRsdpAddress),
// with the RSDP first and every checksum filled in.
std::vector<uint8_t> build_acpi_tables(uint64_t base, const AcpiConfig& config);

// The DSDT's AML body (after the table header), for tests.
std::vector<uint8_t> build_dsdt_aml(const AcpiConfig& config);

}  // namespace vireo
