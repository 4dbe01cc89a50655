// Guest-physical memory backed by host memory: RAM and ROM regions.
//
// Everything that touches guest memory on behalf of a device or a loader
// goes through read()/write()/host_span(), which check the whole range lies
// inside one region, so a guest-supplied address or length can never reach
// host memory outside the guest's RAM.
//
// Threads: regions are mapped while the machine is built, before any vCPU
// runs, and never change afterwards; the contents are shared with the vCPUs.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <span>
#include <string>
#include <vector>

namespace vireo {

struct MemoryRegion {
  std::string name;
  uint64_t guest_base;
  uint64_t size;
  uint8_t* host;  // owned by a GuestMemory allocation
  bool read_only;
};

class GuestMemory {
 public:
  GuestMemory() = default;
  ~GuestMemory();
  GuestMemory(const GuestMemory&) = delete;
  GuestMemory& operator=(const GuestMemory&) = delete;

  // Anonymous, zero-filled, page-aligned host memory that lives as long as
  // this object. Throws Error if the host cannot provide it.
  uint8_t* allocate(const std::string& name, uint64_t size);

  // Makes host memory visible at guest_base. Throws Error on overlap.
  void map(MemoryRegion region);

  const std::vector<MemoryRegion>& regions() const { return regions_; }

  // The host bytes for [gpa, gpa + length) if they lie inside one region
  // (and it is writable, when `for_write`); an empty span otherwise.
  std::span<uint8_t> host_span(uint64_t gpa, uint64_t length, bool for_write = false) const;

  // Copies to/from guest memory; false (and nothing copied) if any byte of
  // the range is outside RAM/ROM, or written to ROM.
  bool read(uint64_t gpa, void* destination, uint64_t length) const;
  bool write(uint64_t gpa, const void* source, uint64_t length);

  // Writes into ROM too: for loaders placing firmware before the machine runs.
  bool load(uint64_t gpa, const void* source, uint64_t length);

 private:
  const MemoryRegion* find(uint64_t gpa, uint64_t length) const;

  struct Allocation {
    void* address;
    size_t size;
  };
  std::vector<Allocation> allocations_;
  std::vector<MemoryRegion> regions_;
};

}  // namespace vireo
