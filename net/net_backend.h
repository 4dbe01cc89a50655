// A network back end ("netdev" in QEMU's words) and the NIC it feeds.
//
// A NIC model (hw/virtio/virtio_net.cpp) hands the frames its guest sends
// to NetBackend::send(); the back end hands frames for the guest to the
// NIC's NetReceiver::receive(). A NIC that has no room (the guest's
// receive ring is empty, or its driver is not running yet) refuses the
// frame, and the back end keeps it in a bounded queue until the NIC calls
// flush(), as QEMU's net queue does, rather than dropping it silently.
//
// Threads: deliver() runs on the back end's own thread, flush() on the
// NIC's (its I/O thread), send() on whatever thread the NIC serves its
// transmit queue on. queue_mutex_ guards the queue and is held while a
// frame is offered to the NIC, so frames reach it in order; the NIC takes
// its device lock inside receive(). Lock order: queue_mutex_, then the
// NIC's locks. send() never takes queue_mutex_.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <mutex>
#include <span>
#include <string>
#include <vector>

namespace vireo {

class NetReceiver {
 public:
  virtual ~NetReceiver() = default;
  // Offers one frame for the guest. False: no room now, offer it again
  // after the NIC calls NetBackend::flush(). True: taken, or dropped for
  // good (a frame the guest's buffers cannot hold).
  virtual bool receive(std::span<const uint8_t> frame) = 0;
};

class NetBackend {
 public:
  // Frames kept while the NIC has no room; more are dropped and counted.
  // (QEMU keeps up to 10000 per queue; TCP recovers from a drop either way.)
  static constexpr size_t kMaxQueuedFrames = 1024;

  explicit NetBackend(std::string id) : id_(std::move(id)) {}
  virtual ~NetBackend() = default;
  NetBackend(const NetBackend&) = delete;
  NetBackend& operator=(const NetBackend&) = delete;

  const std::string& id() const { return id_; }
  // QEMU's netdev type name ("user").
  virtual std::string type() const = 0;
  // info network's description of the back end ("net=10.0.2.0,restrict=off").
  virtual std::string info() const = 0;

  // Connects the NIC; before the guest runs. Null disconnects.
  void attach(NetReceiver* nic);
  bool attached() const;
  // A frame the guest sent; any thread. Never blocks on the guest side.
  virtual void send(std::span<const uint8_t> frame) = 0;
  // The NIC has room again: offer it the frames waiting. The NIC must hold
  // none of its own locks.
  void flush();
  // Stops the back end's thread; send() drops frames from then on.
  // Idempotent; the destructor of a derived class calls it.
  virtual void stop() = 0;

  uint64_t rx_dropped() const { return rx_dropped_.load(); }
  size_t rx_queued();

 protected:
  // A frame for the guest, from the back end's thread.
  void deliver(std::span<const uint8_t> frame);

 private:
  std::string id_;
  mutable std::mutex queue_mutex_;
  std::deque<std::vector<uint8_t>> queue_;
  NetReceiver* nic_ = nullptr;
  std::atomic<uint64_t> rx_dropped_{0};
};

}  // namespace vireo
