#include "hw/misc/system_control_port_b.h"

#include "util/error.h"

namespace vireo {

uint64_t SystemControlPortB::read(uint64_t offset, unsigned size) {
  (void)offset;
  (void)size;
  std::lock_guard lock(mutex_);
  uint8_t value = enables_;
  if (pit_.gate(2)) value |= kTimer2Gate;
  if (pit_.out(2)) value |= kTimer2Out;
  if ((timers_.now_ns() / kRefreshPeriodNs) & 1) value |= kRefreshToggle;
  return value;
}

void SystemControlPortB::write(uint64_t offset, unsigned size, uint64_t value) {
  (void)offset;
  (void)size;
  std::lock_guard lock(mutex_);
  enables_ = static_cast<uint8_t>(value & kStoredBits);
  pit_.set_gate(2, value & kTimer2Gate);
}

void SystemControlPortB::reset() {
  std::lock_guard lock(mutex_);
  enables_ = 0;
  // The gate is the PIT's and resets with it.
}

void SystemControlPortB::serialize(StateStream& s) {
  std::lock_guard lock(mutex_);
  s(enables_);
  if (s.loading() && (enables_ & ~kStoredBits)) throw Error("saved state: inconsistent port 0x61 bits");
}

}  // namespace vireo
