// The BIOS e820 memory map (ACPI spec §15, "INT 15H, E820H") the guest
// reads to find its RAM: handed to Linux in boot_params.
#pragma once

#include <cstdint>
#include <vector>

namespace vireo {

enum class E820Type : uint32_t { Ram = 1, Reserved = 2, Acpi = 3, Nvs = 4 };

struct E820Entry {
  uint64_t address;
  uint64_t size;
  E820Type type;
};

// Where a PC's RAM goes (QEMU pc-i440fx): up to 3.5 GiB sits below the
// 4 GiB PCI hole; from 3.5 GiB on only 3 GiB does, so the hole is
// gigabyte aligned, and the rest is mapped from 4 GiB up.
struct PcMemoryLayout {
  static constexpr uint64_t kConventionalEnd = 0xa0000;    // end of base 640 KiB
  static constexpr uint64_t kEbdaStart = 0x9fc00;          // extended BIOS data area
  static constexpr uint64_t kVgaWindowEnd = 0xc0000;       // 0xa0000-0xbffff: VGA
  static constexpr uint64_t kSystemBiosStart = 0xf0000;
  static constexpr uint64_t kIsaBiosStart = 0xe0000;
  static constexpr uint64_t kHighMemoryStart = 0x100000;   // 1 MiB
  static constexpr uint64_t kFourGiB = 1ull << 32;

  uint64_t below_4g;  // bytes of RAM at [0, below_4g)
  uint64_t above_4g;  // bytes of RAM at [4 GiB, 4 GiB + above_4g)

  static PcMemoryLayout for_ram_size(uint64_t ram_bytes);

  // The e820 map a PC firmware reports for this layout (QEMU's entries).
  std::vector<E820Entry> e820() const;
};

}  // namespace vireo
