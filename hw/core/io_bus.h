// An address space of device ranges: the port-I/O space or the MMIO space.
//
// A device sees (offset, size, data) relative to the range it registered,
// never an absolute address or the CPU. Ranges never overlap; registering an
// overlapping range is a machine-construction bug and throws.
//
// Threads: vCPU threads look ranges up concurrently; ranges change rarely
// (PCI BAR programming), so a shared_mutex guards the range table. Each
// device guards its own registers.
#pragma once

#include <atomic>
#include <cstdint>
#include <shared_mutex>
#include <string>
#include <vector>

namespace vireo {

class BusDevice {
 public:
  virtual ~BusDevice() = default;
  // size is 1, 2, 4 or 8 bytes; offset + size stays inside the range.
  virtual uint64_t read(uint64_t offset, unsigned size) = 0;
  virtual void write(uint64_t offset, unsigned size, uint64_t value) = 0;
};

class IoBus {
 public:
  // What a read that no device claims returns. Port reads float to all
  // ones on a PC; unclaimed memory reads as zero in QEMU, the reference.
  enum class UnclaimedReads { AllOnes, Zero };

  IoBus(std::string name, UnclaimedReads unclaimed_reads)
      : name_(std::move(name)), unclaimed_reads_(unclaimed_reads) {}

  // Throws Error if [base, base + size) overlaps a registered range.
  void add(uint64_t base, uint64_t size, BusDevice* device, std::string device_name);
  // Removes the range starting at `base` that belongs to `device`.
  void remove(uint64_t base, BusDevice* device);

  // An access that no device claims, or that straddles a range's end, reads
  // as UnclaimedReads says and discards writes; it is counted.
  uint64_t read(uint64_t address, unsigned size);
  void write(uint64_t address, unsigned size, uint64_t value);

  uint64_t unclaimed_accesses() const { return unclaimed_.load(std::memory_order_relaxed); }

  struct Range {
    uint64_t base;
    uint64_t size;
    BusDevice* device;
    std::string device_name;
  };
  std::vector<Range> ranges() const;

 private:
  // Returns the range containing [address, address + size), or nullptr.
  const Range* find(uint64_t address, unsigned size) const;

  std::string name_;
  UnclaimedReads unclaimed_reads_;
  mutable std::shared_mutex mutex_;
  std::vector<Range> ranges_;  // sorted by base
  std::atomic<uint64_t> unclaimed_{0};
};

}  // namespace vireo

namespace vireo {

// Lets one device own several separate ranges: accesses to this window
// reach `target` with `offset_shift` added, so the device sees offsets
// relative to its first range (an i8042's 0x60 and 0x64).
class OffsetWindow final : public BusDevice {
 public:
  OffsetWindow(BusDevice& target, uint64_t offset_shift) : target_(target), shift_(offset_shift) {}
  uint64_t read(uint64_t offset, unsigned size) override { return target_.read(offset + shift_, size); }
  void write(uint64_t offset, unsigned size, uint64_t value) override {
    target_.write(offset + shift_, size, value);
  }

 private:
  BusDevice& target_;
  uint64_t shift_;
};

}  // namespace vireo
