// QEMU's firmware configuration device (fw_cfg) as the pc machine has it,
// "fw_cfg_io": how SeaBIOS learns the RAM size, CPU count, e820 map, boot
// order and boot menu. Specified in QEMU's docs/specs/fw_cfg.rst; the
// firmware side is SeaBIOS's src/fw/paravirt.c.
//
// Ports (offsets from kBasePort):
//   0x510  selector, 16-bit write; a byte access here or at 0x511 is the
//          data register: reads step through the selected item, writes are
//          ignored (QEMU removed them in 2.4)
//   0x514  DMA address, 64-bit big-endian: writing its low half (or all 8
//          bytes) starts a transfer described by an FWCfgDmaAccess in guest
//          memory; reads return the signature "QEMU CFG"
//
// Items are numbered by selector: the fixed ones (kSignature...) and, from
// kFileFirst on, named files listed in the directory (kFileDir) sorted by
// name, as QEMU 7.2 sorts them. The contents are the machine's, set before
// the guest runs; the guest only moves the selector and offset.
//
// Threads: vCPU threads through the port bus; mutex_ guards the selector,
// offset and DMA address. Items are not changed once the guest runs.
#pragma once

#include <atomic>
#include <cstdint>
#include <map>
#include <mutex>
#include <string>
#include <vector>

#include "hw/core/guest_memory.h"
#include "hw/core/io_bus.h"
#include "util/serialize.h"

namespace vireo {

class FwCfg final : public BusDevice {
 public:
  static constexpr uint16_t kBasePort = 0x510;
  static constexpr uint16_t kControlPorts = 2;      // 0x510-0x511: selector / data
  static constexpr uint16_t kDmaPortOffset = 4;     // 0x514
  static constexpr uint16_t kDmaPorts = 8;          // 0x514-0x51b

  // Fixed selectors (fw_cfg.rst "Selector Register"; QEMU's FW_CFG_*).
  static constexpr uint16_t kSignature = 0x00;
  static constexpr uint16_t kId = 0x01;
  static constexpr uint16_t kUuid = 0x02;
  static constexpr uint16_t kRamSize = 0x03;
  static constexpr uint16_t kNoGraphic = 0x04;
  static constexpr uint16_t kNbCpus = 0x05;
  static constexpr uint16_t kNuma = 0x0d;
  static constexpr uint16_t kBootMenu = 0x0e;
  static constexpr uint16_t kMaxCpus = 0x0f;
  static constexpr uint16_t kFileDir = 0x19;
  static constexpr uint16_t kFileFirst = 0x20;
  static constexpr uint16_t kFileSlots = 0x20;      // QEMU's default file_slots
  static constexpr uint16_t kWriteChannel = 0x4000; // ignored when selecting
  static constexpr uint16_t kArchLocal = 0x8000;    // x86 items: a second table
  static constexpr uint16_t kEntryMask = 0x3fff;
  // x86's arch-local items.
  static constexpr uint16_t kAcpiTables = kArchLocal + 0;
  static constexpr uint16_t kSmbiosEntries = kArchLocal + 1;
  static constexpr uint16_t kIrq0Override = kArchLocal + 2;
  static constexpr uint16_t kHpet = kArchLocal + 4;

  // FW_CFG_ID bits.
  static constexpr uint32_t kIdTraditional = 1u << 0;
  static constexpr uint32_t kIdDma = 1u << 1;

  // FWCfgDmaAccess.control bits (big-endian in guest memory); the selector
  // goes in bits 31:16 with kDmaSelect.
  static constexpr uint32_t kDmaError = 1u << 0;
  static constexpr uint32_t kDmaRead = 1u << 1;
  static constexpr uint32_t kDmaSkip = 1u << 2;
  static constexpr uint32_t kDmaSelect = 1u << 3;
  static constexpr uint32_t kDmaWrite = 1u << 4;
  static constexpr uint64_t kDmaAccessSize = 16;  // control, length (be32), address (be64)
  static constexpr char kDmaSignature[9] = "QEMU CFG";

  // Directory entries: size (be32), select (be16), reserved, name[56].
  static constexpr size_t kFileNameBytes = 56;
  static constexpr size_t kFileEntryBytes = 64;

  explicit FwCfg(GuestMemory& memory);

  // Machine set-up, before the guest runs. Throws Error on a selector
  // outside the fixed range, a file name too long, or too many files.
  void set_item(uint16_t selector, std::vector<uint8_t> data);
  void add_file(const std::string& name, std::vector<uint8_t> data);
  // The files, sorted by name, with their selectors (for tests).
  std::vector<std::pair<std::string, uint16_t>> files() const;

  uint64_t read(uint64_t offset, unsigned size) override;
  void write(uint64_t offset, unsigned size, uint64_t value) override;

  void reset();
  void serialize(StateStream& s);

  // Bad DMA requests so far (guest bugs or hostility).
  uint64_t dma_errors() const { return dma_errors_.load(std::memory_order_relaxed); }

 private:
  static constexpr uint32_t kNoItem = 0xffffffff;  // nothing selected

  const std::vector<uint8_t>* selected_locked() const;
  void select_locked(uint16_t key);
  uint8_t read_data_byte_locked();
  void run_dma_locked(uint64_t access_address);
  void rebuild_directory();

  GuestMemory& memory_;
  // Contents: fixed and arch-local items by selector (key & kEntryMask, plus
  // kArchLocal for the second table), files by name.
  std::map<uint16_t, std::vector<uint8_t>> items_;
  std::map<std::string, std::vector<uint8_t>> files_;
  std::map<uint16_t, const std::vector<uint8_t>*> file_by_selector_;

  mutable std::mutex mutex_;
  // The guest-visible state.
  uint32_t current_ = 0;     // selected key (with kArchLocal), or kNoItem
  uint32_t offset_ = 0;      // next byte of the selected item
  uint64_t dma_address_ = 0; // as written so far (high half first)
  std::atomic<uint64_t> dma_errors_{0};
};

}  // namespace vireo
