// A driver-side view of a split virtqueue for tests: lays out the
// descriptor table, available and used rings in a GuestMemory and writes
// descriptors and ring entries, well-formed or not.
#pragma once

#include <cstdint>
#include <cstring>

#include "hw/core/guest_memory.h"
#include "hw/virtio/virtqueue.h"

namespace vireo::test {

// Guest RAM of `size` bytes at guest address 0.
struct TestRam {
  GuestMemory memory;
  uint8_t* host;
  explicit TestRam(uint64_t size = 1 << 20) {
    host = memory.allocate("test.ram", size);
    memory.map({"test.ram", 0, size, host, false});
  }
};

struct VirtqBuilder {
  GuestMemory& memory;
  uint16_t size;
  uint64_t desc;
  uint64_t avail;
  uint64_t used;
  uint16_t avail_idx = 0;

  // Rings at `base` (16-byte aligned), one after the other.
  VirtqBuilder(GuestMemory& m, uint16_t queue_size, uint64_t base)
      : memory(m), size(queue_size), desc(base), avail(base + 16ull * queue_size),
        used((base + 16ull * queue_size + 6 + 2ull * queue_size + 3) & ~3ull) {}

  void configure(SplitVirtqueue& q) const {
    q.size = size;
    q.descriptor_table = desc;
    q.driver_area = avail;
    q.device_area = used;
    q.enabled = true;
  }

  void put_desc(uint64_t table, uint32_t index, uint64_t address, uint32_t length, uint16_t flags,
                uint16_t next) {
    uint8_t raw[16];
    std::memcpy(raw, &address, 8);
    std::memcpy(raw + 8, &length, 4);
    std::memcpy(raw + 12, &flags, 2);
    std::memcpy(raw + 14, &next, 2);
    memory.write(table + 16ull * index, raw, sizeof raw);
  }
  void set_desc(uint16_t index, uint64_t address, uint32_t length, uint16_t flags, uint16_t next = 0) {
    put_desc(desc, index, address, length, flags, next);
  }
  // Makes `head` available and publishes the new index.
  void make_available(uint16_t head) {
    memory.write(avail + 4 + 2ull * (avail_idx % size), &head, 2);
    ++avail_idx;
    memory.write(avail + 2, &avail_idx, 2);
  }
  void set_avail_idx(uint16_t idx) {
    avail_idx = idx;
    memory.write(avail + 2, &avail_idx, 2);
  }
  uint16_t used_idx() const {
    uint16_t v = 0;
    memory.read(used + 2, &v, 2);
    return v;
  }
  // The used element at ring slot `i`: {id, len}.
  std::pair<uint32_t, uint32_t> used_elem(uint16_t i) const {
    uint32_t e[2] = {};
    memory.read(used + 4 + 8ull * (i % size), e, 8);
    return {e[0], e[1]};
  }
};

}  // namespace vireo::test
