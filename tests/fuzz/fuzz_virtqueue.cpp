// Fuzz target: a hostile virtio driver. The input becomes guest RAM (two
// adjacent regions, so buffers can straddle them) holding a split
// virtqueue's descriptor table and rings wherever the header puts them,
// and virtio-blk serves whatever chains it finds (or, with bit 3 of the
// flags byte, virtio-net: transmit chains go to a sink back end, and
// frames of input-chosen lengths are received into the chains). Every malformed ring
// must end in a VirtqueueError (the transport's DEVICE_NEEDS_RESET);
// nothing may crash, hang, or touch memory outside the two regions.
#include <cstdint>
#include <cstring>
#include <memory>
#include <vector>

#include "block/block_backend.h"
#include "hw/core/guest_memory.h"
#include "hw/virtio/virtio_blk.h"
#include "hw/virtio/virtio_net.h"
#include "hw/virtio/virtqueue.h"

namespace {

using namespace vireo;

constexpr uint64_t kRamBytes = 64 * 1024;
constexpr uint64_t kDiskBytes = 64 * 1024;

struct ScratchDisk final : BlockBackend {
  std::vector<uint8_t> bytes = std::vector<uint8_t>(kDiskBytes);
  uint64_t size_bytes() const override { return bytes.size(); }
  bool read_only() const override { return false; }
  void read(uint64_t offset, std::span<uint8_t> data) override {
    if (offset > bytes.size() || data.size() > bytes.size() - offset) throw BlockError("read beyond the end");
    std::memcpy(data.data(), bytes.data() + offset, data.size());
  }
  void write(uint64_t offset, std::span<const uint8_t> data) override {
    if (offset > bytes.size() || data.size() > bytes.size() - offset) throw BlockError("write beyond the end");
    std::memcpy(bytes.data() + offset, data.data(), data.size());
  }
  void flush() override {}
  void discard(uint64_t offset, uint64_t length) override {
    if (offset > bytes.size() || length > bytes.size() - offset) throw BlockError("discard beyond the end");
  }
  void write_zeroes(uint64_t offset, uint64_t length) override {
    if (offset > bytes.size() || length > bytes.size() - offset) throw BlockError("zeroes beyond the end");
    std::memset(bytes.data() + offset, 0, length);
  }
};

struct SinkBackend final : NetBackend {
  SinkBackend() : NetBackend("sink") {}
  std::string type() const override { return "sink"; }
  std::string info() const override { return ""; }
  void send(std::span<const uint8_t> frame) override {
    if (frame.size() < VirtioNet::kEthernetHeaderBytes || frame.size() > VirtioNet::kMaxTxFrame) std::abort();
  }
  void stop() override {}
};

// The transport's fill_queue on the fuzzed queue, as VirtioPci does it.
struct QueueTransport final : VirtioTransport {
  SplitVirtqueue& queue;
  GuestMemory& memory;
  QueueTransport(SplitVirtqueue& q, GuestMemory& m) : queue(q), memory(m) {}
  FillResult fill_queue(unsigned, const Filler& fill) override {
    VirtqChain chain;
    if (!queue.pop(memory, chain)) return FillResult::NoBuffer;
    const uint32_t written = fill(chain, memory);
    if (written > chain.writable_bytes) std::abort();
    queue.push(memory, chain.head, written);
    return FillResult::Filled;
  }
};

uint16_t u16_at(const uint8_t* p) { return static_cast<uint16_t>(p[0] | p[1] << 8); }

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  constexpr size_t kHeader = 8;
  if (size < kHeader) return 0;
  GuestMemory memory;
  uint8_t* ram = memory.allocate("fuzz.ram", kRamBytes);
  memory.map({"low", 0, kRamBytes / 2, ram, false});
  memory.map({"high", kRamBytes / 2, kRamBytes / 2, ram + kRamBytes / 2, false});
  std::memcpy(ram, data + kHeader, std::min<size_t>(size - kHeader, kRamBytes));

  SplitVirtqueue queue;
  queue.size = static_cast<uint16_t>(1u << (data[0] % 9));
  // Ring addresses anywhere in (or a little past) RAM, aligned or not.
  queue.descriptor_table = u16_at(data + 1) * 2ull;
  queue.driver_area = u16_at(data + 3) * 2ull;
  queue.device_area = u16_at(data + 5) * 2ull;
  queue.enabled = true;
  const bool validate_first = data[7] & 1;
  queue.event_idx = (data[7] & 4) != 0;
  VirtioBlk blk(std::make_unique<ScratchDisk>(), (data[7] & 2) != 0, "fuzz");
  const bool net_mode = (data[7] & 8) != 0;
  SinkBackend sink;
  VirtioNet net({0x52, 0x54, 0, 0x12, 0x34, 0x56}, &sink);
  QueueTransport transport(queue, memory);
  net.attach_transport(transport);
  std::vector<uint8_t> frame(2048, 0x5a);
  try {
    if (validate_first) queue.validate(memory);
    const uint16_t used_before = queue.used_index();
    for (int i = 0; i < 64; ++i) {
      if (net_mode && (i & 1)) {
        // A frame of 0..2047 bytes for the guest, taken from the input.
        const size_t length = (data[1 + i % 6] * 8u + static_cast<unsigned>(i)) % frame.size();
        (void)net.receive(std::span(frame.data(), length));
        continue;
      }
      VirtqChain chain;
      if (!queue.pop(memory, chain)) {
        if (!queue.arm_notification(memory)) break;
        continue;
      }
      if (chain.buffers.size() > queue.size) std::abort();  // the bound pop promises
      const uint32_t written =
          net_mode ? net.handle_request(VirtioNet::kTransmitQueue, chain, memory) : blk.handle_request(0, chain, memory);
      if (written > chain.writable_bytes) std::abort();
      queue.push(memory, chain.head, written);
    }
    (void)queue.driver_wants_interrupt(memory, used_before);
  } catch (const VirtqueueError&) {
    // The transport would set DEVICE_NEEDS_RESET here.
  }
  return 0;
}
