// What a virtio device type (virtio-blk, later virtio-net) gives its
// transport (hw/virtio/virtio_pci.h): its ID, features, configuration
// space and the handling of one request. The transport owns status,
// feature negotiation, the queues, interrupts and the I/O thread.
#pragma once

#include <cstdint>
#include <functional>

#include "hw/core/guest_memory.h"
#include "hw/virtio/virtqueue.h"

namespace vireo {

// Device-independent feature bits (virtio 1.2 §6).
namespace virtio {
constexpr uint64_t kFeatureIndirectDesc = 1ull << 28;
constexpr uint64_t kFeatureEventIdx = 1ull << 29;
constexpr uint64_t kFeatureVersion1 = 1ull << 32;

// Device status bits (§2.1).
constexpr uint8_t kStatusAcknowledge = 1;
constexpr uint8_t kStatusDriver = 2;
constexpr uint8_t kStatusDriverOk = 4;
constexpr uint8_t kStatusFeaturesOk = 8;
constexpr uint8_t kStatusNeedsReset = 64;
constexpr uint8_t kStatusFailed = 128;
}  // namespace virtio

// What the transport offers a device that fills a queue on its own
// schedule (virtio-net's receive queue: frames arrive from the network,
// not with the driver's notification).
class VirtioTransport {
 public:
  enum class FillResult {
    Filled,    // a chain was filled and returned to the driver
    NoBuffer,  // the driver has no buffer available, or is not running yet
    Failed,    // the device needs reset (a malformed ring): drop the data
  };
  using Filler = std::function<uint32_t(const VirtqChain& chain, GuestMemory& memory)>;
  // Any thread: takes the queue's next available chain, lets `fill` write
  // it (returning the bytes written, at most chain.writable_bytes) and
  // returns it to the driver, with an interrupt if the driver wants one.
  // `fill` runs under the transport's state lock and may throw
  // VirtqueueError.
  virtual FillResult fill_queue(unsigned queue, const Filler& fill) = 0;

 protected:
  ~VirtioTransport() = default;
};

class VirtioDevice {
 public:
  virtual ~VirtioDevice() = default;
  virtual uint16_t device_type() const = 0;  // §5: 1 = network, 2 = block
  virtual uint64_t device_features() const = 0;
  virtual unsigned queue_count() const = 0;
  virtual uint16_t queue_max_size() const = 0;

  // Device-specific configuration (§4.1.4.6): little-endian bytes.
  virtual uint32_t config_size() const = 0;
  virtual uint8_t config_byte(uint32_t offset) const = 0;
  virtual void config_write(uint32_t offset, uint8_t value) { (void)offset, (void)value; }

  // Called after FEATURES_OK with what the driver accepted.
  virtual void set_driver_features(uint64_t features) { (void)features; }

  // On the transport's I/O thread: serve one chain popped from `queue`;
  // returns the bytes written into its device-writable buffers. A
  // malformed request is answered with an error status; a VirtqueueError
  // marks the device as needing reset.
  virtual uint32_t handle_request(unsigned queue, const VirtqChain& chain, GuestMemory& memory) = 0;

  virtual void reset() {}

  // The transport, once, when it is created.
  virtual void attach_transport(VirtioTransport& transport) { (void)transport; }
  // Queues the device fills itself through fill_queue(): the driver's
  // notification of such a queue calls queue_notified() on the I/O thread,
  // with no transport lock held, instead of handle_request().
  virtual bool device_fills_queue(unsigned queue) const { (void)queue; return false; }
  virtual void queue_notified(unsigned queue) { (void)queue; }
};

}  // namespace vireo
