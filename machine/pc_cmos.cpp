#include "machine/pc_cmos.h"

#include <algorithm>

#include "hw/rtc/mc146818.h"

namespace vireo {

void write_pc_cmos(Mc146818& rtc, const PcMemoryLayout& layout, unsigned cpu_count) {
  constexpr uint64_t kKiB = 1024, kMiB = 1024 * kKiB;
  auto put16 = [&](uint8_t low_index, uint64_t value) {
    rtc.set_nvram(low_index, static_cast<uint8_t>(value));
    rtc.set_nvram(static_cast<uint8_t>(low_index + 1), static_cast<uint8_t>(value >> 8));
  };

  rtc.set_nvram(PcCmos::kFloppyTypes, 0);
  rtc.set_nvram(PcCmos::kEquipment, PcCmos::kEquipmentFpu | PcCmos::kEquipmentPs2Mouse);

  put16(PcCmos::kBaseMemoryLow, std::min<uint64_t>(layout.below_4g / kKiB, 640));
  uint64_t extended_kib = layout.below_4g > kMiB ? (layout.below_4g - kMiB) / kKiB : 0;
  put16(PcCmos::kExtendedMemoryLow, std::min<uint64_t>(extended_kib, 0xffff));
  put16(PcCmos::kExtendedMemoryLow2, std::min<uint64_t>(extended_kib, 0xffff));
  uint64_t above_16m = layout.below_4g > 16 * kMiB ? (layout.below_4g - 16 * kMiB) / (64 * kKiB) : 0;
  put16(PcCmos::kMemoryAbove16MLow, std::min<uint64_t>(above_16m, 0xffff));
  uint64_t above_4g = layout.above_4g / (64 * kKiB);
  rtc.set_nvram(PcCmos::kMemoryAbove4G, static_cast<uint8_t>(above_4g));
  rtc.set_nvram(PcCmos::kMemoryAbove4G + 1, static_cast<uint8_t>(above_4g >> 8));
  rtc.set_nvram(PcCmos::kMemoryAbove4G + 2, static_cast<uint8_t>(above_4g >> 16));

  rtc.set_nvram(PcCmos::kCpuCountMinusOne, static_cast<uint8_t>(cpu_count - 1));

  write_pc_cmos_boot_order(rtc, "cad");  // QEMU's default
  // The PS/2 century byte holds what QEMU's does after power-on (BCD of
  // the century register; firmware and Linux use 0x32).
  rtc.set_nvram(PcCmos::kPs2Century, rtc.nvram(Mc146818::kCentury));
}

void write_pc_cmos_boot_order(Mc146818& rtc, const std::string& devices) {
  uint8_t nibbles[3] = {0, 0, 0};
  for (size_t i = 0; i < devices.size() && i < 3; ++i) {
    switch (devices[i]) {
      case 'a':
      case 'b': nibbles[i] = PcCmos::kBootFloppy; break;
      case 'c': nibbles[i] = PcCmos::kBootHardDisk; break;
      case 'd': nibbles[i] = PcCmos::kBootCdrom; break;
      case 'n': nibbles[i] = PcCmos::kBootNetwork; break;
      default: break;
    }
  }
  rtc.set_nvram(PcCmos::kBootOrder12, static_cast<uint8_t>(nibbles[1] << 4 | nibbles[0]));
  rtc.set_nvram(PcCmos::kBootOrder3, static_cast<uint8_t>(nibbles[2] << 4));
}

}  // namespace vireo
