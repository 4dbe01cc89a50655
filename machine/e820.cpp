#include "machine/e820.h"

namespace vireo {

PcMemoryLayout PcMemoryLayout::for_ram_size(uint64_t ram_bytes) {
  uint64_t below = ram_bytes >= 0xe0000000ull ? 0xc0000000ull : ram_bytes;
  return {below, ram_bytes - below};
}

std::vector<E820Entry> PcMemoryLayout::e820() const {
  std::vector<E820Entry> map;
  uint64_t base_end = below_4g < kEbdaStart ? below_4g : kEbdaStart;
  map.push_back({0, base_end, E820Type::Ram});
  if (below_4g > kEbdaStart) {
    map.push_back({kEbdaStart, kConventionalEnd - kEbdaStart, E820Type::Reserved});
  }
  // The BIOS segment holds firmware tables (MP, SMBIOS, ACPI RSDP).
  map.push_back({kSystemBiosStart, kHighMemoryStart - kSystemBiosStart, E820Type::Reserved});
  if (below_4g > kHighMemoryStart) {
    map.push_back({kHighMemoryStart, below_4g - kHighMemoryStart, E820Type::Ram});
  }
  // The firmware ROM at the top of 4 GiB (QEMU reserves the last 256 KiB).
  map.push_back({kFourGiB - 0x40000, 0x40000, E820Type::Reserved});
  if (above_4g > 0) map.push_back({kFourGiB, above_4g, E820Type::Ram});
  return map;
}

}  // namespace vireo
