#include "hw/core/guest_memory.h"

#include <sys/mman.h>

#include <cerrno>
#include <cstring>

#include "util/error.h"

namespace vireo {

GuestMemory::~GuestMemory() {
  for (const Allocation& a : allocations_) munmap(a.address, a.size);
}

uint8_t* GuestMemory::allocate(const std::string& name, uint64_t size) {
  void* p = mmap(nullptr, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                 -1, 0);
  if (p == MAP_FAILED) {
    throw Error(with_errno("cannot allocate " + std::to_string(size >> 20) + " MiB for " + name, errno));
  }
  // Large guest RAM benefits from transparent huge pages (fewer TLB misses in
  // both the host and the software TLB); advisory only.
  madvise(p, size, MADV_HUGEPAGE);
  allocations_.push_back({p, size});
  return static_cast<uint8_t*>(p);
}

void GuestMemory::map(MemoryRegion region) {
  for (const MemoryRegion& r : regions_) {
    if (region.guest_base < r.guest_base + r.size && r.guest_base < region.guest_base + region.size) {
      throw Error("guest memory: " + region.name + " overlaps " + r.name);
    }
  }
  regions_.push_back(std::move(region));
}

const MemoryRegion* GuestMemory::find(uint64_t gpa, uint64_t length) const {
  for (const MemoryRegion& r : regions_) {
    if (gpa >= r.guest_base && gpa - r.guest_base < r.size && length <= r.size - (gpa - r.guest_base)) {
      return &r;
    }
  }
  return nullptr;
}

std::span<uint8_t> GuestMemory::host_span(uint64_t gpa, uint64_t length, bool for_write) const {
  const MemoryRegion* r = find(gpa, length);
  if (r == nullptr || (for_write && r->read_only)) return {};
  return {r->host + (gpa - r->guest_base), length};
}

bool GuestMemory::read(uint64_t gpa, void* destination, uint64_t length) const {
  std::span<uint8_t> span = host_span(gpa, length);
  if (span.data() == nullptr && length != 0) return false;
  std::memcpy(destination, span.data(), length);
  return true;
}

bool GuestMemory::write(uint64_t gpa, const void* source, uint64_t length) {
  std::span<uint8_t> span = host_span(gpa, length, true);
  if (span.data() == nullptr && length != 0) return false;
  std::memcpy(span.data(), source, length);
  return true;
}

bool GuestMemory::load(uint64_t gpa, const void* source, uint64_t length) {
  std::span<uint8_t> span = host_span(gpa, length);
  if (span.data() == nullptr && length != 0) return false;
  std::memcpy(span.data(), source, length);
  return true;
}

}  // namespace vireo
