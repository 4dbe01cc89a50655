#include "hw/virtio/virtqueue.h"

#include <algorithm>
#include <atomic>
#include <cstring>

namespace vireo {

namespace {

std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}

// A descriptor as it lies in guest memory (§2.7.5), little-endian.
struct Descriptor {
  uint64_t address;
  uint32_t length;
  uint16_t flags;
  uint16_t next;
};

Descriptor read_descriptor(const GuestMemory& memory, uint64_t table, uint32_t index) {
  uint8_t raw[virtq::kDescSize];
  if (!memory.read(table + uint64_t{index} * virtq::kDescSize, raw, sizeof raw)) {
    throw VirtqueueError("descriptor " + std::to_string(index) + " of the table at " + hex(table) +
                         " is outside guest RAM");
  }
  Descriptor d;
  std::memcpy(&d.address, raw, 8);
  std::memcpy(&d.length, raw + 8, 4);
  std::memcpy(&d.flags, raw + 12, 2);
  std::memcpy(&d.next, raw + 14, 2);
  return d;
}

}  // namespace

bool for_each_guest_piece(const GuestMemory& memory, uint64_t address, uint64_t length, bool for_write,
                          const std::function<void(std::span<uint8_t>)>& visit) {
  if (length == 0) return true;
  if (address + length < address) return false;
  // Collect first, visit after, so a bad tail leaves nothing half done.
  std::vector<std::span<uint8_t>> pieces;
  uint64_t at = address;
  const uint64_t end = address + length;
  while (at < end) {
    const MemoryRegion* region = nullptr;
    for (const MemoryRegion& r : memory.regions()) {
      if (at >= r.guest_base && at - r.guest_base < r.size) region = &r;
    }
    if (region == nullptr || (for_write && region->read_only)) return false;
    const uint64_t piece = std::min(end - at, region->size - (at - region->guest_base));
    pieces.push_back(memory.host_span(at, piece, for_write));
    at += piece;
  }
  for (std::span<uint8_t> p : pieces) visit(p);
  return true;
}

void SplitVirtqueue::reset() { *this = SplitVirtqueue{}; }

uint16_t SplitVirtqueue::read_u16(const GuestMemory& memory, uint64_t address, const char* what) const {
  uint16_t value;
  if (!memory.read(address, &value, sizeof value)) {
    throw VirtqueueError(std::string(what) + " at " + hex(address) + " is outside guest RAM");
  }
  return value;
}

void SplitVirtqueue::validate(const GuestMemory& memory) const {
  // Queue Size is a power of two for split queues, so ring indexes stay
  // consistent when the 16-bit counters wrap (§2.7).
  if (size == 0 || size > virtq::kMaxSize || (size & (size - 1)) != 0) {
    throw VirtqueueError("queue size " + std::to_string(size) + " is not a power of two up to 32768");
  }
  // Alignment: descriptor table 16, available ring 2, used ring 4 (§2.7).
  if (descriptor_table % 16 || driver_area % 2 || device_area % 4) {
    throw VirtqueueError("misaligned rings (desc " + hex(descriptor_table) + ", avail " + hex(driver_area) +
                         ", used " + hex(device_area) + ")");
  }
  const uint64_t n = size;
  if (memory.host_span(descriptor_table, 16 * n).empty() || memory.host_span(driver_area, 6 + 2 * n).empty() ||
      memory.host_span(device_area, 6 + 8 * n, true).empty()) {
    throw VirtqueueError("rings outside guest RAM (desc " + hex(descriptor_table) + ", avail " +
                         hex(driver_area) + ", used " + hex(device_area) + ")");
  }
}

void SplitVirtqueue::serialize(StateStream& s, const GuestMemory& memory) {
  s(size);
  s(enabled);
  s(descriptor_table);
  s(driver_area);
  s(device_area);
  s(msix_vector);
  s(event_idx);
  s(last_avail_idx_);
  s(used_idx_);
  if (s.loading() && enabled) {
    try {
      validate(memory);
    } catch (const VirtqueueError& e) {
      throw Error(std::string("saved state: virtqueue: ") + e.what());
    }
  }
}

bool SplitVirtqueue::pop(const GuestMemory& memory, VirtqChain& chain) {
  const uint16_t avail_idx = read_u16(memory, driver_area + 2, "available ring index");
  // The ring entries the index covers were written before it (§2.7.13.3).
  std::atomic_thread_fence(std::memory_order_acquire);
  const uint16_t waiting = static_cast<uint16_t>(avail_idx - last_avail_idx_);
  if (waiting == 0) return false;
  if (waiting > size) {
    throw VirtqueueError("available index " + std::to_string(avail_idx) + " is " + std::to_string(waiting) +
                         " ahead of the device, more than the queue size " + std::to_string(size));
  }
  const uint16_t head =
      read_u16(memory, driver_area + 4 + 2 * uint64_t{static_cast<uint16_t>(last_avail_idx_ % size)}, "available ring entry");
  ++last_avail_idx_;
  if (head >= size) {
    throw VirtqueueError("head descriptor " + std::to_string(head) + " outside a queue of " + std::to_string(size));
  }

  chain.head = head;
  chain.buffers.clear();
  chain.readable_bytes = 0;
  chain.writable_bytes = 0;
  uint64_t table = descriptor_table;
  uint32_t table_entries = size;
  uint32_t index = head;
  uint32_t visited = 0;
  bool in_indirect = false;
  for (;;) {
    // A well-formed chain visits each descriptor of its table at most once,
    // so more steps than entries means a loop (§2.7.5.3.1: no chain longer
    // than the queue, no indirect chain longer than its table).
    if (++visited > table_entries) {
      throw VirtqueueError("descriptor chain from head " + std::to_string(head) + " loops or is longer than " +
                           std::to_string(table_entries) + " descriptors");
    }
    const Descriptor d = read_descriptor(memory, table, index);
    if (d.flags & virtq::kDescIndirect) {
      // §2.7.5.3.1: no INDIRECT inside an indirect table, no INDIRECT with
      // NEXT; the table holds whole descriptors.
      if (in_indirect) throw VirtqueueError("nested indirect descriptor table");
      if (d.flags & virtq::kDescNext) throw VirtqueueError("indirect descriptor with NEXT set");
      if (d.length == 0 || d.length % virtq::kDescSize != 0 || d.length / virtq::kDescSize > virtq::kMaxSize) {
        throw VirtqueueError("indirect table length " + std::to_string(d.length) + " is not a whole number of descriptors");
      }
      if (memory.host_span(d.address, d.length).empty()) {
        throw VirtqueueError("indirect table at " + hex(d.address) + "+" + std::to_string(d.length) +
                             " is outside guest RAM");
      }
      table = d.address;
      table_entries = d.length / static_cast<uint32_t>(virtq::kDescSize);
      index = 0;
      visited = 0;
      in_indirect = true;
      continue;
    }
    const bool writable = (d.flags & virtq::kDescWrite) != 0;
    // §2.7.4.2: device-writable descriptors come after all device-readable ones.
    if (!writable && chain.writable_bytes > 0) {
      throw VirtqueueError("device-readable descriptor after a device-writable one in chain " + std::to_string(head));
    }
    if (!for_each_guest_piece(memory, d.address, d.length, writable, [](std::span<uint8_t>) {})) {
      throw VirtqueueError("buffer " + hex(d.address) + "+" + std::to_string(d.length) + " of chain " +
                           std::to_string(head) + " is outside guest RAM");
    }
    chain.buffers.push_back({d.address, d.length, writable});
    (writable ? chain.writable_bytes : chain.readable_bytes) += d.length;
    if (!(d.flags & virtq::kDescNext)) break;
    if (d.next >= table_entries) {
      throw VirtqueueError("next descriptor " + std::to_string(d.next) + " outside a table of " +
                           std::to_string(table_entries));
    }
    index = d.next;
  }
  return true;
}

void SplitVirtqueue::push(GuestMemory& memory, uint16_t head, uint32_t written) {
  // struct virtq_used_elem { le32 id; le32 len; } at ring[used_idx % size] (§2.7.8).
  uint8_t element[8];
  const uint32_t id = head;
  std::memcpy(element, &id, 4);
  std::memcpy(element + 4, &written, 4);
  const uint64_t slot = device_area + 4 + 8 * uint64_t{static_cast<uint16_t>(used_idx_ % size)};
  if (!memory.write(slot, element, sizeof element)) {
    throw VirtqueueError("used ring entry at " + hex(slot) + " is outside guest RAM");
  }
  // The element must be visible before the index that publishes it.
  std::atomic_thread_fence(std::memory_order_release);
  ++used_idx_;
  if (!memory.write(device_area + 2, &used_idx_, sizeof used_idx_)) {
    throw VirtqueueError("used ring index at " + hex(device_area + 2) + " is outside guest RAM");
  }
}

bool SplitVirtqueue::driver_wants_interrupt(const GuestMemory& memory, uint16_t old_used) const {
  // Order the used index store before reading the driver's fields (§2.7.7.2).
  std::atomic_thread_fence(std::memory_order_seq_cst);
  if (event_idx) {
    const uint16_t used_event = read_u16(memory, driver_area + 4 + 2 * uint64_t{size}, "used_event");
    // vring_need_event: did the index step over used_event?
    return static_cast<uint16_t>(used_idx_ - used_event - 1) < static_cast<uint16_t>(used_idx_ - old_used);
  }
  const uint16_t flags = read_u16(memory, driver_area, "available ring flags");
  return !(flags & virtq::kAvailNoInterrupt);
}

bool SplitVirtqueue::arm_notification(GuestMemory& memory) {
  if (!event_idx) return false;
  const uint64_t avail_event = device_area + 4 + 8 * uint64_t{size};
  if (!memory.write(avail_event, &last_avail_idx_, sizeof last_avail_idx_)) {
    throw VirtqueueError("avail_event at " + hex(avail_event) + " is outside guest RAM");
  }
  // The driver reads avail_event after publishing its index; we read its
  // index after publishing avail_event, so one of us sees the other.
  std::atomic_thread_fence(std::memory_order_seq_cst);
  return read_u16(memory, driver_area + 2, "available ring index") != last_avail_idx_;
}

void visit_chain_stream(const GuestMemory& memory, const VirtqChain& chain, bool writable, uint64_t start,
                  uint64_t length, const std::function<void(std::span<uint8_t>, uint64_t)>& visit) {
  uint64_t position = 0;  // of the current buffer's first byte in the stream
  uint64_t done = 0;
  for (const VirtqBuffer& b : chain.buffers) {
    if (b.device_writable != writable) continue;
    const uint64_t buffer_end = position + b.length;
    if (buffer_end > start && position < start + length) {
      const uint64_t from = std::max(start, position);
      const uint64_t to = std::min(start + length, buffer_end);
      const bool ok = for_each_guest_piece(memory, b.address + (from - position), to - from, writable,
                                           [&](std::span<uint8_t> piece) {
                                             visit(piece, done);
                                             done += piece.size();
                                           });
      // The guest cannot have moved RAM since the chain was checked.
      if (!ok) throw VirtqueueError("buffer left guest RAM");
    }
    position = buffer_end;
  }
}

void copy_from_chain(const GuestMemory& memory, const VirtqChain& chain, uint64_t start, void* out, uint64_t length) {
  auto* bytes = static_cast<uint8_t*>(out);
  visit_chain_stream(memory, chain, false, start, length,
               [&](std::span<uint8_t> piece, uint64_t at) { std::memcpy(bytes + at, piece.data(), piece.size()); });
}

void copy_to_chain(const GuestMemory& memory, const VirtqChain& chain, uint64_t start, const void* in, uint64_t length) {
  const auto* bytes = static_cast<const uint8_t*>(in);
  visit_chain_stream(memory, chain, true, start, length,
               [&](std::span<uint8_t> piece, uint64_t at) { std::memcpy(piece.data(), bytes + at, piece.size()); });
}


}  // namespace vireo
