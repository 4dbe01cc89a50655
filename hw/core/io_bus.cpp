#include "hw/core/io_bus.h"

#include <algorithm>
#include <cstdio>
#include <mutex>

#include "util/error.h"

namespace vireo {

namespace {
std::string hex(uint64_t v) {
  char buf[24];
  std::snprintf(buf, sizeof buf, "0x%llx", static_cast<unsigned long long>(v));
  return buf;
}
uint64_t all_ones(unsigned size) { return size >= 8 ? ~0ull : (1ull << (size * 8)) - 1; }
}  // namespace

void IoBus::add(uint64_t base, uint64_t size, BusDevice* device, std::string device_name) {
  if (size == 0 || base + size < base) {
    throw Error(name_ + ": invalid range for " + device_name);
  }
  std::unique_lock lock(mutex_);
  for (const Range& r : ranges_) {
    if (base < r.base + r.size && r.base < base + size) {
      throw Error(name_ + ": " + device_name + " at " + hex(base) + "+" + hex(size) +
                  " overlaps " + r.device_name + " at " + hex(r.base) + "+" + hex(r.size));
    }
  }
  Range range{base, size, device, std::move(device_name)};
  auto pos = std::lower_bound(ranges_.begin(), ranges_.end(), base,
                              [](const Range& r, uint64_t b) { return r.base < b; });
  ranges_.insert(pos, std::move(range));
}

void IoBus::remove(uint64_t base, BusDevice* device) {
  std::unique_lock lock(mutex_);
  std::erase_if(ranges_, [&](const Range& r) { return r.base == base && r.device == device; });
}

const IoBus::Range* IoBus::find(uint64_t address, unsigned size) const {
  auto it = std::upper_bound(ranges_.begin(), ranges_.end(), address,
                             [](uint64_t a, const Range& r) { return a < r.base; });
  if (it == ranges_.begin()) return nullptr;
  const Range& r = *std::prev(it);
  if (address - r.base >= r.size || size > r.size - (address - r.base)) return nullptr;
  return &r;
}

uint64_t IoBus::read(uint64_t address, unsigned size) {
  BusDevice* device = nullptr;
  uint64_t offset = 0;
  {
    std::shared_lock lock(mutex_);
    if (const Range* r = find(address, size)) {
      device = r->device;
      offset = address - r->base;
    }
  }
  if (device == nullptr) {
    unclaimed_.fetch_add(1, std::memory_order_relaxed);
    return unclaimed_reads_ == UnclaimedReads::AllOnes ? all_ones(size) : 0;
  }
  return device->read(offset, size) & all_ones(size);
}

void IoBus::write(uint64_t address, unsigned size, uint64_t value) {
  BusDevice* device = nullptr;
  uint64_t offset = 0;
  {
    std::shared_lock lock(mutex_);
    if (const Range* r = find(address, size)) {
      device = r->device;
      offset = address - r->base;
    }
  }
  if (device == nullptr) {
    unclaimed_.fetch_add(1, std::memory_order_relaxed);
    return;
  }
  device->write(offset, size, value & all_ones(size));
}

std::vector<IoBus::Range> IoBus::ranges() const {
  std::shared_lock lock(mutex_);
  return ranges_;
}

}  // namespace vireo
