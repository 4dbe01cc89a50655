// The pc's fw_cfg contents: bootorder as QEMU 7.2 writes it (read from
// QEMU's fw_cfg with tests/roms/fw_cfg_dump.asm: two virtio-blk-pci disks
// at slots 5 and 0xa with bootindex 7 and 2, -boot strict=on), QEMU's
// device path for a virtio-blk-pci function, and the e820 file.
#include "machine/pc_fw_cfg.h"

#include <catch2/catch.hpp>
#include <string>

#include "hw/core/guest_memory.h"
#include "hw/misc/fw_cfg.h"

using vireo::PcBootDevice;

namespace {

std::string text(const std::vector<uint8_t>& bytes) { return std::string(bytes.begin(), bytes.end()); }

}  // namespace

TEST_CASE("bootorder: ascending bootindex, HALT with strict, NUL-terminated", "[fw_cfg]") {
  std::vector<PcBootDevice> devices = {{7, vireo::virtio_blk_boot_path(5, 0)},
                                       {-1, vireo::virtio_blk_boot_path(3, 0)},
                                       {2, vireo::virtio_blk_boot_path(0xa, 0)}};
  CHECK(text(vireo::pc_fw_cfg_bootorder(devices, true)) ==
        std::string("/pci@i0cf8/scsi@a/disk@0,0\n/pci@i0cf8/scsi@5/disk@0,0\nHALT\0", 59));
  CHECK(text(vireo::pc_fw_cfg_bootorder(devices, false)) ==
        std::string("/pci@i0cf8/scsi@a/disk@0,0\n/pci@i0cf8/scsi@5/disk@0,0\0", 54));
  // No device with a bootindex: an empty file, and no HALT even if strict.
  CHECK(vireo::pc_fw_cfg_bootorder({{-1, "x"}}, true).empty());
  CHECK(vireo::virtio_blk_boot_path(0x1f, 3) == "/pci@i0cf8/scsi@1f,3/disk@0,0");
}

TEST_CASE("etc/e820: QEMU's AMD HyperTransport reservation, then RAM below and above 4 GiB", "[fw_cfg]") {
  auto small = vireo::pc_fw_cfg_e820(vireo::PcMemoryLayout::for_ram_size(128ull << 20), true);
  REQUIRE(small.size() == 40);
  CHECK(small[4] == 0xfd);   // 0xfd00000000
  CHECK(small[16] == 2);     // reserved
  CHECK(small[20 + 11] == 0x08);  // RAM length 0x8000000
  CHECK(small[20 + 16] == 1);
  auto big = vireo::pc_fw_cfg_e820(vireo::PcMemoryLayout::for_ram_size(4ull << 30), false);
  REQUIRE(big.size() == 40);
  CHECK(big[11] == 0xc0);        // 3 GiB below 4 GiB
  CHECK(big[20 + 4] == 0x01);    // then from 4 GiB
  CHECK(big[20 + 11] == 0x40);   // 1 GiB
}

TEST_CASE("load_pc_fw_cfg: the files SeaBIOS looks for", "[fw_cfg]") {
  vireo::GuestMemory memory;
  vireo::FwCfg fw_cfg(memory);
  vireo::PcFwCfgConfig config;
  config.layout = vireo::PcMemoryLayout::for_ram_size(128ull << 20);
  config.boot.splash_time_ms = 1500;
  vireo::load_pc_fw_cfg(fw_cfg, config);
  std::vector<std::string> names;
  for (const auto& [name, selector] : fw_cfg.files()) names.push_back(name);
  CHECK(names == std::vector<std::string>{"bios-geometry", "bootorder", "etc/boot-fail-wait", "etc/boot-menu-wait",
                                          "etc/e820"});
}
