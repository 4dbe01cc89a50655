// The CMOS RAM contents a PC's firmware reads at boot (memory sizes, CPU
// count, equipment), filled as QEMU's pc machine fills them
// (hw/i386/pc.c pc_cmos_init), so SeaBIOS sizes RAM the same way on
// vireo without fw_cfg.
#pragma once

#include <cstdint>
#include <string>

#include "machine/e820.h"

namespace vireo {

// CMOS RAM indexes.
struct PcCmos {
  static constexpr uint8_t kFloppyTypes = 0x10;       // drive A in bits 7:4, B in 3:0; 0 = none
  static constexpr uint8_t kEquipment = 0x14;         // bit 0 floppies, 1 FPU, 2 PS/2 mouse
  static constexpr uint8_t kBaseMemoryLow = 0x15;     // KiB below 1 MiB (up to 640)
  static constexpr uint8_t kBaseMemoryHigh = 0x16;
  static constexpr uint8_t kExtendedMemoryLow = 0x17; // KiB from 1 MiB, capped at 0xffff
  static constexpr uint8_t kExtendedMemoryHigh = 0x18;
  static constexpr uint8_t kExtendedMemoryLow2 = 0x30;  // the same again (POST copy)
  static constexpr uint8_t kExtendedMemoryHigh2 = 0x31;
  static constexpr uint8_t kMemoryAbove16MLow = 0x34;   // 64 KiB units from 16 MiB to the 4 GiB hole
  static constexpr uint8_t kMemoryAbove16MHigh = 0x35;
  static constexpr uint8_t kPs2Century = 0x37;          // IBM PS/2 copy of the century
  static constexpr uint8_t kBootOrder3 = 0x38;          // third boot device in bits 7:4; bit 0 skips the floppy check
  static constexpr uint8_t kBootOrder12 = 0x3d;         // second device in bits 7:4, first in 3:0
  static constexpr uint8_t kMemoryAbove4G = 0x5b;       // 64 KiB units, three bytes (0x5b-0x5d)
  static constexpr uint8_t kCpuCountMinusOne = 0x5f;

  static constexpr uint8_t kEquipmentFpu = 0x02;
  static constexpr uint8_t kEquipmentPs2Mouse = 0x04;
  // Boot device nibbles (1 floppy, 2 hard disk, 3 CD-ROM, 4 network):
  // QEMU's default order is "cad".
  static constexpr uint8_t kBootHardDisk = 2, kBootFloppy = 1, kBootCdrom = 3, kBootNetwork = 4;
};

class Mc146818;

// Writes the fields for `layout` and `cpu_count` CPUs. The machine has no
// floppy drives, so the floppy fields say so (QEMU with -nodefaults).
void write_pc_cmos(Mc146818& rtc, const PcMemoryLayout& layout, unsigned cpu_count);

// The boot order SeaBIOS reads from CMOS (-boot order= or once=): up to
// three letters of "abcdn" (checked by the command line), as QEMU's
// set_boot_dev. The floppy signature check stays on.
void write_pc_cmos_boot_order(Mc146818& rtc, const std::string& devices);

}  // namespace vireo
