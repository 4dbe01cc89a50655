#include "hw/virtio/virtio_net.h"

#include <cstdio>
#include <vector>

namespace vireo {

VirtioNet::VirtioNet(const MacAddress& mac, NetBackend* backend) : mac_(mac), backend_(backend) {
  // struct virtio_net_config (§5.1.4): mac[6], then status (le16).
  for (size_t i = 0; i < mac_.size(); ++i) config_[i] = mac_[i];
  config_[6] = kStatusLinkUp;
  config_[7] = 0;
  if (backend_ != nullptr) backend_->attach(this);
}

VirtioNet::~VirtioNet() {
  if (backend_ != nullptr) backend_->attach(nullptr);
}

uint64_t VirtioNet::device_features() const {
  return virtio::kFeatureVersion1 | virtio::kFeatureEventIdx | kFeatureMac | kFeatureStatus;
}

uint32_t VirtioNet::handle_request(unsigned queue, const VirtqChain& chain, GuestMemory& memory) {
  if (queue != kTransmitQueue) return 0;  // the receive queue is filled by receive()
  // §5.1.6.2: each transmitted packet is a header followed by the frame,
  // in the chain's device-readable buffers.
  if (chain.readable_bytes < kHeaderBytes) throw VirtqueueError("transmit chain shorter than the virtio-net header");
  const uint64_t frame_bytes = chain.readable_bytes - kHeaderBytes;
  if (frame_bytes < kEthernetHeaderBytes || frame_bytes > kMaxTxFrame || backend_ == nullptr) {
    ++tx_dropped_;
    return 0;
  }
  // The header's offload fields ask for nothing we offered (no CSUM, no
  // GSO negotiated), so it is not read: the frame goes out as it is.
  std::vector<uint8_t> frame(frame_bytes);
  copy_from_chain(memory, chain, kHeaderBytes, frame.data(), frame_bytes);
  ++tx_frames_;
  tx_bytes_ += frame_bytes;
  backend_->send(frame);
  return 0;
}

void VirtioNet::queue_notified(unsigned queue) {
  // The driver added receive buffers (or just set DRIVER_OK): frames the
  // back end kept for lack of room can go now.
  if (queue == kReceiveQueue && backend_ != nullptr) backend_->flush();
}

void VirtioNet::set_vm_running(bool running) {
  vm_running_.store(running);
  if (running && backend_ != nullptr) backend_->flush();
}

bool VirtioNet::receive(std::span<const uint8_t> frame) {
  if (transport_ == nullptr || !vm_running_.load()) return false;
  const VirtioTransport::FillResult result =
      transport_->fill_queue(kReceiveQueue, [&](const VirtqChain& chain, GuestMemory& memory) -> uint32_t {
        if (chain.writable_bytes < kHeaderBytes + frame.size()) {
          // Without mergeable buffers one chain holds one frame; a chain
          // too short for it is returned empty and the frame dropped.
          ++rx_too_long_;
          return 0;
        }
        // struct virtio_net_hdr_v1: no offload flags, no GSO, one buffer.
        uint8_t header[kHeaderBytes] = {};
        header[10] = 1;  // num_buffers (le16)
        copy_to_chain(memory, chain, 0, header, kHeaderBytes);
        copy_to_chain(memory, chain, kHeaderBytes, frame.data(), frame.size());
        ++rx_frames_;
        rx_bytes_ += frame.size();
        return static_cast<uint32_t>(kHeaderBytes + frame.size());
      });
  // A device that needs reset takes nothing more until the driver resets
  // it; the frame is dropped rather than kept.
  return result != VirtioTransport::FillResult::NoBuffer;
}

VirtioNet::Counters VirtioNet::counters() const {
  return {rx_frames_.load(), rx_bytes_.load(), rx_too_long_.load(),
          tx_frames_.load(), tx_bytes_.load(), tx_dropped_.load()};
}

bool parse_mac_address(const std::string& text, VirtioNet::MacAddress& mac) {
  if (text.size() != 17) return false;
  for (size_t i = 0; i < 6; ++i) {
    unsigned value = 0;
    for (size_t j = 0; j < 2; ++j) {
      const char c = text[i * 3 + j];
      unsigned digit;
      if (c >= '0' && c <= '9') {
        digit = static_cast<unsigned>(c - '0');
      } else if (c >= 'a' && c <= 'f') {
        digit = static_cast<unsigned>(c - 'a' + 10);
      } else if (c >= 'A' && c <= 'F') {
        digit = static_cast<unsigned>(c - 'A' + 10);
      } else {
        return false;
      }
      value = value * 16 + digit;
    }
    if (i < 5 && text[i * 3 + 2] != ':' && text[i * 3 + 2] != '-') return false;
    mac[i] = static_cast<uint8_t>(value);
  }
  return true;
}

std::string mac_address_text(const VirtioNet::MacAddress& mac) {
  char text[18];
  std::snprintf(text, sizeof text, "%02x:%02x:%02x:%02x:%02x:%02x", mac[0], mac[1], mac[2], mac[3], mac[4], mac[5]);
  return text;
}

}  // namespace vireo
