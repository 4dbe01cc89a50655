// virtio-net (virtio 1.2 §5.1): an Ethernet NIC with one receive and one
// transmit queue, connected to a network back end (net/net_backend.h).
// Offered: VERSION_1, MAC (the mac= address in the configuration) and
// STATUS (link up). No checksum or segmentation offload, no mergeable
// receive buffers, no control queue: the Linux driver then posts one
// buffer of header + 1518 bytes per receive chain, which holds any frame
// the back end sends (slirp's MTU is 1500).
//
// Every frame the guest transmits and every receive buffer comes from the
// guest: a transmit chain shorter than its header is a driver error that
// sets DEVICE_NEEDS_RESET (as QEMU's virtio_error); a frame shorter than
// an Ethernet header or longer than kMaxTxFrame is dropped and counted; a
// received frame the chain's buffers cannot hold is dropped and the
// chain returned with nothing written (Linux counts a length error).
//
// Threads: transmit chains are served on the transport's I/O thread
// (handle_request); frames for the guest arrive from the back end's thread
// through receive(), which fills the receive queue under the transport's
// lock. The configuration is fixed at construction; the counters are
// atomics.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>

#include "hw/virtio/virtio_device.h"
#include "net/net_backend.h"

namespace vireo {

class VirtioNet final : public VirtioDevice, public NetReceiver {
 public:
  static constexpr uint16_t kQueueSize = 256;  // QEMU's rx/tx_queue_size default
  static constexpr unsigned kReceiveQueue = 0;
  static constexpr unsigned kTransmitQueue = 1;
  // struct virtio_net_hdr_v1 (§5.1.6): with VERSION_1 it always has
  // num_buffers, so 12 bytes.
  static constexpr uint32_t kHeaderBytes = 12;
  static constexpr uint32_t kEthernetHeaderBytes = 14;
  // Without segmentation offload a frame is at most an MTU and its header;
  // 64 KiB leaves room for any MTU the guest sets and bounds the copy.
  static constexpr uint32_t kMaxTxFrame = 65536;

  // Feature bits (§5.1.3).
  static constexpr uint64_t kFeatureMac = 1ull << 5;
  static constexpr uint64_t kFeatureStatus = 1ull << 16;
  // Configuration status bits (§5.1.4).
  static constexpr uint16_t kStatusLinkUp = 1;

  using MacAddress = std::array<uint8_t, 6>;

  // `backend` may be null (a NIC with no peer: what it sends is dropped).
  VirtioNet(const MacAddress& mac, NetBackend* backend);
  ~VirtioNet() override;

  uint16_t device_type() const override { return 1; }
  uint64_t device_features() const override;
  unsigned queue_count() const override { return 2; }
  uint16_t queue_max_size() const override { return kQueueSize; }
  uint32_t config_size() const override { return sizeof config_; }
  uint8_t config_byte(uint32_t offset) const override { return offset < sizeof config_ ? config_[offset] : 0; }
  uint32_t handle_request(unsigned queue, const VirtqChain& chain, GuestMemory& memory) override;
  void attach_transport(VirtioTransport& transport) override { transport_ = &transport; }
  bool device_fills_queue(unsigned queue) const override { return queue == kReceiveQueue; }
  void queue_notified(unsigned queue) override;

  // NetReceiver: a frame for the guest, from the back end's thread.
  bool receive(std::span<const uint8_t> frame) override;
  // While the machine is paused nothing is written into guest RAM: frames
  // wait in the back end (QEMU's virtio_net_can_receive checks the VM
  // runs). Resuming calls the back end's flush(). Any thread.
  void set_vm_running(bool running);

  const MacAddress& mac() const { return mac_; }
  NetBackend* backend() const { return backend_; }
  struct Counters {
    uint64_t rx_frames, rx_bytes, rx_too_long, tx_frames, tx_bytes, tx_dropped;
  };
  Counters counters() const;

 private:
  MacAddress mac_;
  NetBackend* backend_;
  VirtioTransport* transport_ = nullptr;
  std::atomic<bool> vm_running_{true};
  uint8_t config_[8] = {};  // struct virtio_net_config: mac, status
  std::atomic<uint64_t> rx_frames_{0}, rx_bytes_{0}, rx_too_long_{0};
  std::atomic<uint64_t> tx_frames_{0}, tx_bytes_{0}, tx_dropped_{0};
};

// "52:54:00:12:34:56" (six hex pairs, colons); false if malformed.
bool parse_mac_address(const std::string& text, VirtioNet::MacAddress& mac);
std::string mac_address_text(const VirtioNet::MacAddress& mac);

}  // namespace vireo
