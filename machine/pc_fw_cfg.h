// What the pc machine puts in fw_cfg for its firmware, as QEMU 7.2's pc
// does (hw/i386/fw_cfg.c, hw/nvram/fw_cfg.c, softmmu/bootdevice.c): the
// items SeaBIOS reads on a plain pc boot.
//
// Not offered: etc/table-loader and etc/acpi/* (vireo's ACPI tables are for
// -kernel boots; SeaBIOS 1.16 then builds none, as before fw_cfg existed),
// SMBIOS files (SeaBIOS builds its own), genroms/kvmvapic.bin, the -kernel
// items (vireo boots the kernel itself, not through an option ROM).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "machine/e820.h"
#include "system/vm_config.h"

namespace vireo {

class FwCfg;

struct PcBootDevice {
  int64_t bootindex;
  std::string path;  // Open Firmware device path, QEMU's wording
};

struct PcFwCfgConfig {
  PcMemoryLayout layout;
  unsigned cpus = 1;
  unsigned max_cpus = 1;
  bool nographic = false;
  std::string uuid;  // "xxxxxxxx-xxxx-..." or empty
  BootConfig boot;
  std::vector<PcBootDevice> boot_devices;  // any order; negative bootindex: none
  // QEMU reserves AMD's HyperTransport range below 1 TiB in the e820 map
  // for AMD CPU models (qemu64 is one).
  bool amd_ht_hole = false;
  // The HPET's GCAP_ID low half and address; no HPET when address is 0.
  uint32_t hpet_block_id = 0;
  uint64_t hpet_address = 0;
};

void load_pc_fw_cfg(FwCfg& fw_cfg, const PcFwCfgConfig& config);

// QEMU's etc/e820: RAM (and reserved) ranges as packed
// {le64 address, le64 length, le32 type}.
std::vector<uint8_t> pc_fw_cfg_e820(const PcMemoryLayout& layout, bool amd_ht_hole);

// QEMU's bootorder file: the paths by ascending bootindex, one per line,
// "HALT" last with strict=on, NUL-terminated; empty without devices.
std::vector<uint8_t> pc_fw_cfg_bootorder(std::vector<PcBootDevice> devices, bool strict);

// The device path QEMU gives a virtio-blk-pci function on the root bus:
// its PCI class (mass storage, SCSI) names the node, then the disk.
std::string virtio_blk_boot_path(unsigned slot, unsigned function);

}  // namespace vireo
