#include "hw/pci/msix.h"

namespace vireo {

MsixTable::MsixTable(unsigned vectors, uint64_t pba_offset, std::function<void(uint64_t, uint32_t)> send)
    : pba_offset_(pba_offset), send_(std::move(send)), entries_(vectors) {}

uint64_t MsixTable::region_size() const {
  return pba_offset_ + ((entries_.size() + 63) / 64) * 8;
}

uint64_t MsixTable::read(uint64_t offset, unsigned size) {
  std::lock_guard lock(mutex_);
  if (offset >= pba_offset_) {
    // Pending bits, 64 per qword; read-only.
    uint64_t qword = 0;
    const uint64_t first = ((offset - pba_offset_) / 8) * 64;
    for (uint64_t i = 0; i < 64 && first + i < entries_.size(); ++i) {
      if (entries_[first + i].pending) qword |= 1ull << i;
    }
    const unsigned shift = static_cast<unsigned>((offset & 7) * 8);
    return qword >> shift;
  }
  const uint64_t index = offset / kEntrySize;
  if (index >= entries_.size() || (size != 4 && size != 8)) return 0;
  const Entry& e = entries_[index];
  const uint32_t words[4] = {e.address_low, e.address_high, e.data, e.vector_control};
  const unsigned word = static_cast<unsigned>((offset % kEntrySize) / 4);
  uint64_t value = words[word];
  if (size == 8 && word % 2 == 0) value |= uint64_t{words[word + 1]} << 32;
  return value;
}

void MsixTable::write(uint64_t offset, unsigned size, uint64_t value) {
  Outbox out;
  {
    std::lock_guard lock(mutex_);
    const uint64_t index = offset / kEntrySize;
    // The PBA is read-only; the table takes dword and qword writes (§6.8.2).
    if (offset >= pba_offset_ || index >= entries_.size() || (size != 4 && size != 8)) return;
    Entry& e = entries_[index];
    uint32_t* words[4] = {&e.address_low, &e.address_high, &e.data, &e.vector_control};
    const unsigned word = static_cast<unsigned>((offset % kEntrySize) / 4);
    *words[word] = static_cast<uint32_t>(value);
    if (size == 8 && word % 2 == 0) *words[word + 1] = static_cast<uint32_t>(value >> 32);
    e.vector_control &= kVectorMasked;  // the other bits are reserved
    collect_unmasked_pending_locked(out);
  }
  send_all(out);
}

void MsixTable::set_control(uint16_t message_control) {
  Outbox out;
  {
    std::lock_guard lock(mutex_);
    enabled_ = (message_control & kControlEnable) != 0;
    function_masked_ = (message_control & kControlFunctionMask) != 0;
    collect_unmasked_pending_locked(out);
  }
  send_all(out);
}

bool MsixTable::enabled() const {
  std::lock_guard lock(mutex_);
  return enabled_;
}

bool MsixTable::notify(unsigned vector) {
  uint64_t address;
  uint32_t data;
  {
    std::lock_guard lock(mutex_);
    if (!enabled_ || vector >= entries_.size()) return false;
    Entry& e = entries_[vector];
    if (function_masked_ || (e.vector_control & kVectorMasked)) {
      // Masked: remembered in the PBA and sent on unmask (§6.8.2.9).
      e.pending = true;
      return true;
    }
    address = uint64_t{e.address_high} << 32 | e.address_low;
    data = e.data;
  }
  if (send_) send_(address, data);
  return true;
}

bool MsixTable::pending(unsigned vector) const {
  std::lock_guard lock(mutex_);
  return vector < entries_.size() && entries_[vector].pending;
}

void MsixTable::collect_unmasked_pending_locked(Outbox& out) {
  if (!enabled_ || function_masked_) return;
  for (Entry& e : entries_) {
    if (e.pending && !(e.vector_control & kVectorMasked)) {
      e.pending = false;
      out.emplace_back(uint64_t{e.address_high} << 32 | e.address_low, e.data);
    }
  }
}

void MsixTable::send_all(const Outbox& out) {
  if (!send_) return;
  for (const auto& [address, data] : out) send_(address, data);
}

void MsixTable::serialize(StateStream& s) {
  {
    std::lock_guard lock(mutex_);
    for (Entry& e : entries_) {
      s(e.address_low);
      s(e.address_high);
      s(e.data);
      s(e.vector_control);
      s(e.pending);
      if (s.loading() && (e.vector_control & ~kVectorMasked) != 0) {
        throw Error("saved state: MSI-X vector control with reserved bits");
      }
    }
    s(enabled_);
    s(function_masked_);
  }
}

void MsixTable::reset() {
  std::lock_guard lock(mutex_);
  for (Entry& e : entries_) e = Entry{};
  enabled_ = false;
  function_masked_ = false;
}

}  // namespace vireo
