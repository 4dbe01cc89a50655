// An MSI-X table and pending-bit array (PCI 3.0 §6.8.2) in a memory BAR,
// and the state of the capability's message-control word that governs it.
// The owning device keeps the capability in its header and forwards the
// control word (enable, function mask) here when the guest writes it.
//
// Threads: table accesses come from vCPU threads, notify() from device
// threads; mutex_ guards the table. Messages are sent outside the lock.
#pragma once

#include <cstdint>
#include <functional>
#include <mutex>
#include <vector>

#include "hw/core/io_bus.h"
#include "util/serialize.h"

namespace vireo {

class MsixTable final : public BusDevice {
 public:
  static constexpr unsigned kEntrySize = 16;
  // Entry fields (§6.8.2.8-6.8.2.9).
  static constexpr unsigned kAddressLow = 0x0;
  static constexpr unsigned kAddressHigh = 0x4;
  static constexpr unsigned kData = 0x8;
  static constexpr unsigned kVectorControl = 0xc;
  static constexpr uint32_t kVectorMasked = 1u << 0;
  // Message control (§6.8.2.3).
  static constexpr uint16_t kControlFunctionMask = 1u << 14;
  static constexpr uint16_t kControlEnable = 1u << 15;

  // `pba_offset` is where the pending bits start inside the same region.
  MsixTable(unsigned vectors, uint64_t pba_offset, std::function<void(uint64_t, uint32_t)> send);

  unsigned vectors() const { return static_cast<unsigned>(entries_.size()); }
  uint64_t pba_offset() const { return pba_offset_; }
  uint64_t region_size() const;

  uint64_t read(uint64_t offset, unsigned size) override;
  void write(uint64_t offset, unsigned size, uint64_t value) override;

  void set_control(uint16_t message_control);
  bool enabled() const;
  // Signals `vector`: sent now, or left pending while masked. Returns false
  // if MSI-X is disabled (the device uses INTx# then) or the vector does
  // not exist.
  bool notify(unsigned vector);
  void reset();
  bool pending(unsigned vector) const;
  // Saves or loads the table, pending bits and control state; Error if a
  // loaded vector control has reserved bits set.
  void serialize(StateStream& s);

 private:
  struct Entry {
    uint32_t address_low = 0;
    uint32_t address_high = 0;
    uint32_t data = 0;
    uint32_t vector_control = kVectorMasked;
    bool pending = false;
  };
  // Messages that became deliverable under the lock, sent after it.
  using Outbox = std::vector<std::pair<uint64_t, uint32_t>>;
  void collect_unmasked_pending_locked(Outbox& out);
  void send_all(const Outbox& out);

  uint64_t pba_offset_;
  std::function<void(uint64_t, uint32_t)> send_;
  mutable std::mutex mutex_;
  std::vector<Entry> entries_;
  bool enabled_ = false;
  bool function_masked_ = false;
};

}  // namespace vireo
