// Guest-physical memory as the software CPU sees it: RAM/ROM pages it can
// reach through host pointers, everything else MMIO through the bus, plus
// the bookkeeping that catches writes to guest code.
//
// Threads: shared by all vCPUs of a machine. The region table is fixed after
// construction; the code-page state is atomics.
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <vector>

namespace vireo {
class GuestMemory;
class IoBus;
}  // namespace vireo

namespace vireo::tcg {

inline constexpr uint64_t kPageSize = 4096;
inline constexpr uint64_t kPageMask = ~(kPageSize - 1);

class PhysMemory {
 public:
  PhysMemory(const GuestMemory& memory, IoBus& mmio);

  // Host address of the 4 KiB page holding `paddr`, or nullptr for MMIO or
  // unmapped space. *writable says whether guest writes may go there (RAM,
  // not ROM).
  uint8_t* page(uint64_t paddr, bool* writable) const;

  uint64_t mmio_read(uint64_t paddr, unsigned size);
  void mmio_write(uint64_t paddr, unsigned size, uint64_t value);

  // Self-modifying code. A page holding decoded code is marked; the first
  // write to it bumps its generation, which invalidates every block decoded
  // from it, and unmarks it. Writes to marked pages never take the TLB fast
  // path: a vCPU drops its fast write entries whenever code_epoch() moves.
  bool has_code(uint64_t paddr) const;
  uint32_t generation(uint64_t paddr) const {
    uint64_t page = paddr / kPageSize;
    return page < tracked_pages_ ? generation_[page].load(std::memory_order_acquire) : 0;
  }
  void mark_code(uint64_t paddr);
  // Called for every write that may hit code (slow-path CPU writes, DMA).
  // Returns true if the page held code.
  bool note_write(uint64_t paddr, uint64_t length);
  uint64_t code_epoch() const { return code_epoch_.load(std::memory_order_acquire); }

 private:
  struct Region {
    uint64_t base;
    uint64_t size;
    uint8_t* host;
    bool writable;
  };
  std::vector<Region> regions_;
  IoBus& mmio_;
  uint64_t tracked_pages_ = 0;
  std::unique_ptr<std::atomic<uint32_t>[]> generation_;  // low bit: page holds code
  std::atomic<uint64_t> code_epoch_{0};
};

}  // namespace vireo::tcg
