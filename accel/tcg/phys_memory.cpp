#include "accel/tcg/phys_memory.h"

#include "hw/core/guest_memory.h"
#include "hw/core/io_bus.h"

namespace vireo::tcg {

PhysMemory::PhysMemory(const GuestMemory& memory, IoBus& mmio) : mmio_(mmio) {
  uint64_t end = 0;
  for (const MemoryRegion& r : memory.regions()) {
    regions_.push_back({r.guest_base, r.size, r.host, !r.read_only});
    if (!r.read_only) end = std::max(end, r.guest_base + r.size);
  }
  tracked_pages_ = end / kPageSize;
  generation_ = std::make_unique<std::atomic<uint32_t>[]>(tracked_pages_);
}

uint8_t* PhysMemory::page(uint64_t paddr, bool* writable) const {
  for (const Region& r : regions_) {
    if (paddr - r.base < r.size) {
      *writable = r.writable;
      return r.host + ((paddr - r.base) & kPageMask);
    }
  }
  *writable = false;
  return nullptr;
}

uint64_t PhysMemory::mmio_read(uint64_t paddr, unsigned size) { return mmio_.read(paddr, size); }

void PhysMemory::mmio_write(uint64_t paddr, unsigned size, uint64_t value) {
  mmio_.write(paddr, size, value);
}

bool PhysMemory::has_code(uint64_t paddr) const {
  uint64_t page = paddr / kPageSize;
  return page < tracked_pages_ && (generation_[page].load(std::memory_order_acquire) & 1);
}

void PhysMemory::mark_code(uint64_t paddr) {
  uint64_t page = paddr / kPageSize;
  if (page >= tracked_pages_) return;  // ROM and MMIO are never written by the CPU
  uint32_t g = generation_[page].load(std::memory_order_acquire);
  if (g & 1) return;
  if (generation_[page].compare_exchange_strong(g, g | 1)) {
    code_epoch_.fetch_add(1, std::memory_order_acq_rel);
  }
}

bool PhysMemory::note_write(uint64_t paddr, uint64_t length) {
  if (length == 0) return false;
  bool hit = false;
  uint64_t last = (paddr + length - 1) / kPageSize;
  for (uint64_t page = paddr / kPageSize; page <= last && page < tracked_pages_; ++page) {
    uint32_t g = generation_[page].load(std::memory_order_acquire);
    // Even generation: no code. Odd: code; the write makes it even and new.
    while ((g & 1) && !generation_[page].compare_exchange_weak(g, g + 1)) {
    }
    hit = hit || (g & 1);
  }
  return hit;
}

}  // namespace vireo::tcg
