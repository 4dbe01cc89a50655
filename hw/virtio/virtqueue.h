// A split virtqueue (virtio 1.2 §2.7) as the device side walks it: the
// descriptor table, the driver's available ring and the device's used
// ring, all in guest memory the guest can change under us at any time.
//
// Everything read from those rings is untrusted. Every ring and buffer
// access goes through GuestMemory's bounds-checked accessors; a head index
// outside the queue, a chain that loops or is longer than the queue (or
// than its indirect table), nested or malformed indirect tables, a
// device-readable buffer after a device-writable one, a buffer outside
// RAM, or an available index that runs more than a queue ahead all throw
// VirtqueueError. The transport then marks the device DEVICE_NEEDS_RESET
// (§2.1.2) and stops using the queue; nothing outside RAM is touched.
//
// Threads: owned by the transport, which serialises all calls.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <vector>

#include "hw/core/guest_memory.h"
#include "util/error.h"
#include "util/serialize.h"

namespace vireo {

class VirtqueueError : public Error {
 public:
  using Error::Error;
};

// Descriptor flags (§2.7.5).
namespace virtq {
constexpr uint16_t kDescNext = 1;
constexpr uint16_t kDescWrite = 2;
constexpr uint16_t kDescIndirect = 4;
constexpr uint16_t kAvailNoInterrupt = 1;  // §2.7.7
constexpr uint16_t kMaxSize = 32768;
constexpr uint64_t kDescSize = 16;
}  // namespace virtq

struct VirtqBuffer {
  uint64_t address;
  uint32_t length;
  bool device_writable;
};

// One request: the head index to return in the used ring, and its buffers
// (all device-readable ones first).
struct VirtqChain {
  uint16_t head = 0;
  std::vector<VirtqBuffer> buffers;
  uint64_t readable_bytes = 0;
  uint64_t writable_bytes = 0;
};

class SplitVirtqueue {
 public:
  // The transport's registers for this queue (§4.1.4.3).
  uint16_t size = 0;
  bool enabled = false;
  uint64_t descriptor_table = 0;  // queue_desc
  uint64_t driver_area = 0;       // queue_driver: the available ring
  uint64_t device_area = 0;       // queue_device: the used ring
  uint16_t msix_vector = 0xffff;
  // VIRTIO_F_EVENT_IDX negotiated: the rings' used_event / avail_event
  // fields replace the flags for suppressing notifications (§2.7.10).
  bool event_idx = false;

  void reset();
  // Checks the rings' alignment and that they lie in RAM (§2.7.1-2.7.2);
  // throws VirtqueueError. Called when the driver enables the queue.
  void validate(const GuestMemory& memory) const;

  // Takes the next available chain into `chain`; false if none is waiting.
  bool pop(const GuestMemory& memory, VirtqChain& chain);
  // Returns a chain with `written` bytes written into its writable buffers.
  void push(GuestMemory& memory, uint16_t head, uint32_t written);
  // Whether the driver wants an interrupt now that the used index moved
  // from `old_used` to used_index(): with EVENT_IDX, when the move passed
  // its used_event (§2.7.10); otherwise unless it set
  // VIRTQ_AVAIL_F_NO_INTERRUPT (§2.7.7.1).
  bool driver_wants_interrupt(const GuestMemory& memory, uint16_t old_used) const;
  // With EVENT_IDX, after finding the queue empty: asks the driver to
  // notify when it adds past what we have taken (avail_event), then
  // returns whether buffers arrived meanwhile, so none are left waiting
  // for a notification the driver decided not to send (§2.7.10).
  bool arm_notification(GuestMemory& memory);

  // Saves or loads the registers and the device's ring positions; an
  // enabled queue that was loaded must pass validate(), else Error.
  void serialize(StateStream& s, const GuestMemory& memory);

  uint16_t last_available_index() const { return last_avail_idx_; }
  uint16_t used_index() const { return used_idx_; }

 private:
  uint16_t read_u16(const GuestMemory& memory, uint64_t address, const char* what) const;

  uint16_t last_avail_idx_ = 0;
  uint16_t used_idx_ = 0;
};

// Visits the host bytes of [address, address + length) in guest RAM, one
// piece per RAM region it crosses; false (and nothing visited) if any byte
// is outside RAM, or in ROM when `for_write`.
bool for_each_guest_piece(const GuestMemory& memory, uint64_t address, uint64_t length, bool for_write,
                          const std::function<void(std::span<uint8_t>)>& visit);

// Visits bytes [start, start + length) of the chain's device-readable (or
// device-writable) buffers, concatenated, as host spans in guest RAM; the
// callback gets each span and its position in that range. The chain's
// buffers were checked to lie in RAM when it was popped; throws
// VirtqueueError if one no longer does. The range must lie inside the
// chain's readable (writable) bytes.
void visit_chain_stream(const GuestMemory& memory, const VirtqChain& chain, bool writable, uint64_t start,
                        uint64_t length, const std::function<void(std::span<uint8_t>, uint64_t)>& visit);
// Copies out of the device-readable bytes, or into the device-writable ones.
void copy_from_chain(const GuestMemory& memory, const VirtqChain& chain, uint64_t start, void* out, uint64_t length);
void copy_to_chain(const GuestMemory& memory, const VirtqChain& chain, uint64_t start, const void* in,
                   uint64_t length);

}  // namespace vireo
