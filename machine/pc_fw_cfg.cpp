#include "machine/pc_fw_cfg.h"

#include <algorithm>
#include <cstdio>

#include "hw/misc/fw_cfg.h"

namespace vireo {

namespace {

template <typename T>
void put_le(std::vector<uint8_t>& out, T value) {
  for (size_t i = 0; i < sizeof(T); ++i) out.push_back(static_cast<uint8_t>(static_cast<uint64_t>(value) >> (8 * i)));
}

template <typename T>
std::vector<uint8_t> le(T value) {
  std::vector<uint8_t> out;
  put_le(out, value);
  return out;
}

// AMD's HyperTransport range, 1 TiB - 12 GiB to 1 TiB (QEMU's AMD_HT_START).
constexpr uint64_t kAmdHtStart = 0xfd00000000ull;
constexpr uint64_t kAmdHtSize = 0x300000000ull;

// -uuid's text as 16 bytes in the order written (QEMU's qemu_uuid).
std::vector<uint8_t> uuid_bytes(const std::string& text) {
  std::vector<uint8_t> out;
  std::string hex;
  for (char c : text) {
    if (c != '-') hex += c;
  }
  for (size_t i = 0; i + 1 < hex.size() && out.size() < 16; i += 2) {
    out.push_back(static_cast<uint8_t>(std::stoul(hex.substr(i, 2), nullptr, 16)));
  }
  out.resize(16, 0);
  return out;
}

}  // namespace

std::vector<uint8_t> pc_fw_cfg_e820(const PcMemoryLayout& layout, bool amd_ht_hole) {
  std::vector<uint8_t> out;
  auto entry = [&out](uint64_t address, uint64_t length, E820Type type) {
    put_le(out, address);
    put_le(out, length);
    put_le(out, static_cast<uint32_t>(type));
  };
  // QEMU adds the HyperTransport reservation before the RAM.
  if (amd_ht_hole) entry(kAmdHtStart, kAmdHtSize, E820Type::Reserved);
  entry(0, layout.below_4g, E820Type::Ram);
  if (layout.above_4g > 0) entry(PcMemoryLayout::kFourGiB, layout.above_4g, E820Type::Ram);
  return out;
}

std::vector<uint8_t> pc_fw_cfg_bootorder(std::vector<PcBootDevice> devices, bool strict) {
  std::erase_if(devices, [](const PcBootDevice& d) { return d.bootindex < 0; });
  std::stable_sort(devices.begin(), devices.end(),
                   [](const PcBootDevice& a, const PcBootDevice& b) { return a.bootindex < b.bootindex; });
  std::string text;
  for (const PcBootDevice& d : devices) text += (text.empty() ? "" : "\n") + d.path;
  if (text.empty()) return {};
  if (strict) text += "\nHALT";
  std::vector<uint8_t> out(text.begin(), text.end());
  out.push_back(0);
  return out;
}

std::string virtio_blk_boot_path(unsigned slot, unsigned function) {
  char node[32];
  if (function == 0) {
    std::snprintf(node, sizeof node, "scsi@%x", slot);
  } else {
    std::snprintf(node, sizeof node, "scsi@%x,%x", slot, function);
  }
  return std::string("/pci@i0cf8/") + node + "/disk@0,0";
}

void load_pc_fw_cfg(FwCfg& fw_cfg, const PcFwCfgConfig& config) {
  fw_cfg.set_item(FwCfg::kUuid, uuid_bytes(config.uuid));
  fw_cfg.set_item(FwCfg::kRamSize, le<uint64_t>(config.layout.below_4g + config.layout.above_4g));
  fw_cfg.set_item(FwCfg::kNoGraphic, le<uint16_t>(config.nographic ? 1 : 0));
  fw_cfg.set_item(FwCfg::kNbCpus, le<uint16_t>(static_cast<uint16_t>(config.cpus)));
  // QEMU gives the APIC ID limit here; vireo numbers APIC IDs by CPU
  // index, so that is max_cpus.
  fw_cfg.set_item(FwCfg::kMaxCpus, le<uint16_t>(static_cast<uint16_t>(config.max_cpus)));
  // No NUMA nodes: the node count, then one (zero) node per APIC ID.
  fw_cfg.set_item(FwCfg::kNuma, std::vector<uint8_t>((1 + size_t{config.max_cpus}) * 8, 0));
  fw_cfg.set_item(FwCfg::kBootMenu, le<uint16_t>(config.boot.menu ? 1 : 0));
  // The timer interrupt reaches IOAPIC pin 2 (the MADT's override).
  fw_cfg.set_item(FwCfg::kIrq0Override, le<uint32_t>(1));
  // struct hpet_fw_config: a count, then eight {le32 block id, le64
  // address, le16 min tick, u8 page protection}. Without an HPET QEMU
  // leaves the count at its initial 0xff.
  std::vector<uint8_t> hpet;
  hpet.push_back(config.hpet_address != 0 ? 1 : 0xff);
  for (int i = 0; i < 8; ++i) {
    const bool present = i == 0 && config.hpet_address != 0;
    put_le<uint32_t>(hpet, present ? config.hpet_block_id : 0);
    put_le<uint64_t>(hpet, present ? config.hpet_address : 0);
    put_le<uint16_t>(hpet, 0);
    hpet.push_back(0);
  }
  fw_cfg.set_item(FwCfg::kHpet, std::move(hpet));

  fw_cfg.add_file("etc/e820", pc_fw_cfg_e820(config.layout, config.amd_ht_hole));
  fw_cfg.add_file("bootorder", pc_fw_cfg_bootorder(config.boot_devices, config.boot.strict));
  fw_cfg.add_file("bios-geometry", {});  // no geometry overrides
  // -1 (never reboot after a failed boot) unless reboot-timeout= says.
  fw_cfg.add_file("etc/boot-fail-wait", le<uint32_t>(static_cast<uint32_t>(config.boot.reboot_timeout_ms)));
  if (config.boot.splash_time_ms >= 0) {
    fw_cfg.add_file("etc/boot-menu-wait", le<uint16_t>(static_cast<uint16_t>(config.boot.splash_time_ms)));
  }
}

}  // namespace vireo
