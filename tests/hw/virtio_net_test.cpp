// virtio-net over the modern PCI transport, driven as Linux's virtio_net
// drives it without mergeable buffers: transmit chains reach the back end
// without their header, frames from the back end fill receive chains in
// order, wait in the back end while the guest has no buffer, and hostile
// chains are dropped or set DEVICE_NEEDS_RESET, never crash.
#include "hw/virtio/virtio_net.h"

#include <catch2/catch.hpp>

#include <cstring>
#include <vector>

#include "hw/pci/pci_bus.h"
#include "hw/virtio/virtio_pci.h"
#include "tests/hw/virtq_builder.h"

using namespace vireo;
using vireo::test::TestRam;
using vireo::test::VirtqBuilder;

namespace {

// A back end that records what the NIC sends and delivers on demand.
struct FakeBackend final : NetBackend {
  std::vector<std::vector<uint8_t>> sent;
  FakeBackend() : NetBackend("fake0") {}
  std::string type() const override { return "fake"; }
  std::string info() const override { return ""; }
  void send(std::span<const uint8_t> frame) override { sent.emplace_back(frame.begin(), frame.end()); }
  void stop() override {}
  void deliver_frame(const std::vector<uint8_t>& frame) { deliver(frame); }
};

constexpr uint64_t kRxRings = 0x1000;
constexpr uint64_t kTxRings = 0x3000;
constexpr uint64_t kRxBuffers = 0x10000;  // 2 KiB each
constexpr uint64_t kTxBuffers = 0x40000;
constexpr uint16_t kQueueSize = 16;
constexpr uint32_t kRxBufferBytes = 12 + 1518;  // Linux's small-buffer size

std::vector<uint8_t> frame_of(size_t length, uint8_t seed) {
  std::vector<uint8_t> f(length);
  for (size_t i = 0; i < length; ++i) f[i] = static_cast<uint8_t>(seed + i * 13);
  return f;
}

struct Rig {
  TestRam ram;
  IoBus pio{"ioport", IoBus::UnclaimedReads::AllOnes};
  IoBus mmio{"mmio", IoBus::UnclaimedReads::Zero};
  PciBus bus{pio, mmio};
  FakeBackend backend;
  std::unique_ptr<VirtioNet> net;
  std::unique_ptr<VirtioPci> pci;
  VirtqBuilder rx{ram.memory, kQueueSize, kRxRings};
  VirtqBuilder tx{ram.memory, kQueueSize, kTxRings};
  std::vector<std::pair<uint64_t, uint32_t>> msis;
  uint16_t next_rx = 0;

  Rig() {
    net = std::make_unique<VirtioNet>(VirtioNet::MacAddress{0x52, 0x54, 0, 0x12, 0x34, 0x56}, &backend);
    pci = std::make_unique<VirtioPci>("virtio-net-pci", *net, ram.memory);
    bus.attach(pci.get(), PciBus::devfn(3, 0));
    pci->set_msi_sender([this](uint64_t a, uint32_t d) { msis.push_back({a, d}); });
    pci->config_write(pci::kCommand, 2, pci::kCommandBusMaster | pci::kCommandMemoryEnable);
  }
  ~Rig() {
    pci.reset();
    net.reset();
  }

  uint64_t common(uint64_t offset, unsigned size) { return pci->bar4_read(VirtioPci::kCommonOffset + offset, size); }
  void set_common(uint64_t offset, unsigned size, uint64_t v) { pci->bar4_write(VirtioPci::kCommonOffset + offset, size, v); }
  uint8_t status() { return static_cast<uint8_t>(common(VirtioPci::kDeviceStatus, 1)); }
  void setup_queue(unsigned index, const VirtqBuilder& ring) {
    set_common(VirtioPci::kQueueSelect, 2, index);
    set_common(VirtioPci::kQueueSize, 2, kQueueSize);
    set_common(VirtioPci::kQueueDesc, 4, ring.desc);
    set_common(VirtioPci::kQueueDriver, 4, ring.avail);
    set_common(VirtioPci::kQueueDevice, 4, ring.used);
    set_common(VirtioPci::kQueueEnable, 2, 1);
  }
  void negotiate_and_setup() {
    set_common(VirtioPci::kDeviceStatus, 1, virtio::kStatusAcknowledge | virtio::kStatusDriver);
    const uint64_t features = virtio::kFeatureVersion1 | VirtioNet::kFeatureMac | VirtioNet::kFeatureStatus;
    set_common(VirtioPci::kDriverFeatureSelect, 4, 0);
    set_common(VirtioPci::kDriverFeature, 4, features & 0xffffffff);
    set_common(VirtioPci::kDriverFeatureSelect, 4, 1);
    set_common(VirtioPci::kDriverFeature, 4, features >> 32);
    set_common(VirtioPci::kDeviceStatus, 1, status() | virtio::kStatusFeaturesOk);
    REQUIRE((status() & virtio::kStatusFeaturesOk) != 0);
    setup_queue(VirtioNet::kReceiveQueue, rx);
    setup_queue(VirtioNet::kTransmitQueue, tx);
  }
  void driver_ok() {
    set_common(VirtioPci::kDeviceStatus, 1, status() | virtio::kStatusDriverOk);
    pci->drain();
  }
  void start() {
    negotiate_and_setup();
    driver_ok();
  }
  void notify(unsigned queue) {
    pci->bar4_write(VirtioPci::kNotifyOffset + queue * VirtioPci::kNotifyOffMultiplier, 2, 0);
    pci->drain();
  }
  // One device-writable receive buffer per chain, as Linux posts them.
  void post_rx(uint32_t length = kRxBufferBytes) {
    const uint16_t d = next_rx++ % kQueueSize;
    rx.set_desc(d, kRxBuffers + 0x800ull * d, length, virtq::kDescWrite);
    rx.make_available(d);
  }
  std::vector<uint8_t> rx_bytes(uint16_t desc, uint32_t length) {
    std::vector<uint8_t> out(length);
    ram.memory.read(kRxBuffers + 0x800ull * desc, out.data(), length);
    return out;
  }
  void transmit(const std::vector<uint8_t>& bytes, uint16_t head = 0) {
    ram.memory.write(kTxBuffers, bytes.data(), bytes.size());
    tx.set_desc(head, kTxBuffers, static_cast<uint32_t>(bytes.size()), 0);
    tx.make_available(head);
    notify(VirtioNet::kTransmitQueue);
  }
};

std::vector<uint8_t> with_header(const std::vector<uint8_t>& frame) {
  std::vector<uint8_t> out(VirtioNet::kHeaderBytes + frame.size(), 0);
  std::copy(frame.begin(), frame.end(), out.begin() + VirtioNet::kHeaderBytes);
  return out;
}

}  // namespace

TEST_CASE("virtio-net-pci is a modern network function with its MAC and link status in the configuration") {
  Rig rig;
  CHECK(rig.pci->config_read(pci::kVendorId, 4) == 0x10411af4);
  CHECK(rig.pci->config_read(pci::kClassProgIf + 1, 2) == 0x0200);
  for (unsigned i = 0; i < 6; ++i) {
    CHECK(rig.pci->bar4_read(VirtioPci::kDeviceConfigOffset + i, 1) == std::vector<unsigned>{0x52, 0x54, 0, 0x12, 0x34, 0x56}[i]);
  }
  CHECK(rig.pci->bar4_read(VirtioPci::kDeviceConfigOffset + 6, 2) == VirtioNet::kStatusLinkUp);
  CHECK(rig.common(VirtioPci::kNumQueues, 2) == 2);
  CHECK(rig.net->device_features() ==
        (virtio::kFeatureVersion1 | virtio::kFeatureEventIdx | VirtioNet::kFeatureMac | VirtioNet::kFeatureStatus));
}

TEST_CASE("virtio-net sends the guest's frames to the back end without the virtio-net header") {
  Rig rig;
  rig.start();
  const std::vector<uint8_t> frame = frame_of(60, 1);
  rig.transmit(with_header(frame));
  REQUIRE(rig.backend.sent.size() == 1);
  CHECK(rig.backend.sent[0] == frame);
  CHECK(rig.tx.used_idx() == 1);
  CHECK(rig.tx.used_elem(0).second == 0);
  CHECK(rig.net->counters().tx_frames == 1);
}

TEST_CASE("virtio-net drops a transmitted frame shorter than an Ethernet header") {
  Rig rig;
  rig.start();
  rig.transmit(with_header(frame_of(10, 2)));
  CHECK(rig.backend.sent.empty());
  CHECK(rig.tx.used_idx() == 1);
  CHECK(rig.net->counters().tx_dropped == 1);
  CHECK((rig.status() & virtio::kStatusNeedsReset) == 0);
}

TEST_CASE("virtio-net: a transmit chain shorter than its header sets DEVICE_NEEDS_RESET") {
  Rig rig;
  rig.start();
  rig.transmit(std::vector<uint8_t>(5, 0xaa));
  CHECK(rig.backend.sent.empty());
  CHECK((rig.status() & virtio::kStatusNeedsReset) != 0);
  // Nothing more is received either: the frame is dropped, not queued.
  rig.post_rx();
  rig.backend.deliver_frame(frame_of(60, 3));
  CHECK(rig.backend.rx_queued() == 0);
  CHECK(rig.rx.used_idx() == 0);
}

TEST_CASE("virtio-net fills a receive buffer with the header and the frame") {
  Rig rig;
  rig.start();
  rig.post_rx();
  rig.notify(VirtioNet::kReceiveQueue);
  const std::vector<uint8_t> frame = frame_of(1514, 4);
  rig.backend.deliver_frame(frame);
  REQUIRE(rig.rx.used_idx() == 1);
  CHECK(rig.rx.used_elem(0) == std::pair<uint32_t, uint32_t>{0, 12 + 1514});
  const std::vector<uint8_t> got = rig.rx_bytes(0, 12 + 1514);
  CHECK(got[10] == 1);  // num_buffers
  CHECK(got[11] == 0);
  CHECK(std::equal(frame.begin(), frame.end(), got.begin() + 12));
  CHECK(rig.net->counters().rx_frames == 1);
}

TEST_CASE("virtio-net: frames wait in the back end until the driver is ready and posts buffers, in order") {
  Rig rig;
  rig.negotiate_and_setup();
  // Before DRIVER_OK the NIC takes nothing: the back end keeps the frame.
  rig.backend.deliver_frame(frame_of(100, 5));
  CHECK(rig.backend.rx_queued() == 1);
  rig.driver_ok();  // serves the queues, but there is no buffer yet
  CHECK(rig.backend.rx_queued() == 1);
  rig.backend.deliver_frame(frame_of(200, 6));
  CHECK(rig.backend.rx_queued() == 2);
  rig.post_rx();
  rig.post_rx();
  rig.notify(VirtioNet::kReceiveQueue);
  CHECK(rig.backend.rx_queued() == 0);
  REQUIRE(rig.rx.used_idx() == 2);
  CHECK(rig.rx.used_elem(0).second == 12 + 100);
  CHECK(rig.rx.used_elem(1).second == 12 + 200);
  const std::vector<uint8_t> second = rig.rx_bytes(1, 12 + 200);
  CHECK(std::vector<uint8_t>(second.begin() + 12, second.end()) == frame_of(200, 6));
}

TEST_CASE("virtio-net returns a receive chain too short for the frame empty, and drops the frame") {
  Rig rig;
  rig.start();
  rig.post_rx(64);
  rig.post_rx();
  rig.notify(VirtioNet::kReceiveQueue);
  rig.backend.deliver_frame(frame_of(1000, 7));
  CHECK(rig.rx.used_idx() == 1);
  CHECK(rig.rx.used_elem(0).second == 0);
  CHECK(rig.net->counters().rx_too_long == 1);
  CHECK(rig.backend.rx_queued() == 0);
  // The next frame takes the next buffer.
  rig.backend.deliver_frame(frame_of(100, 8));
  CHECK(rig.rx.used_idx() == 2);
  CHECK(rig.rx.used_elem(1).second == 12 + 100);
  CHECK((rig.status() & virtio::kStatusNeedsReset) == 0);
}

TEST_CASE("virtio-net: the back end's queue is bounded, drops beyond it are counted") {
  Rig rig;
  rig.start();
  for (size_t i = 0; i < NetBackend::kMaxQueuedFrames + 5; ++i) rig.backend.deliver_frame(frame_of(60, 9));
  CHECK(rig.backend.rx_queued() == NetBackend::kMaxQueuedFrames);
  CHECK(rig.backend.rx_dropped() == 5);
}

TEST_CASE("virtio-net: a receive buffer outside guest RAM sets DEVICE_NEEDS_RESET") {
  Rig rig;
  rig.start();
  rig.rx.set_desc(0, 0xfff00000, kRxBufferBytes, virtq::kDescWrite);  // beyond the 1 MiB of RAM
  rig.rx.make_available(0);
  rig.notify(VirtioNet::kReceiveQueue);
  rig.backend.deliver_frame(frame_of(60, 10));
  CHECK((rig.status() & virtio::kStatusNeedsReset) != 0);
  CHECK(rig.rx.used_idx() == 0);
}

TEST_CASE("parse_mac_address takes six hex pairs") {
  VirtioNet::MacAddress mac{};
  CHECK(parse_mac_address("52:54:00:AB:cd:0f", mac));
  CHECK(mac_address_text(mac) == "52:54:00:ab:cd:0f");
  CHECK_FALSE(parse_mac_address("52:54:00:ab:cd", mac));
  CHECK_FALSE(parse_mac_address("52:54:00:ab:cd:0g", mac));
  CHECK_FALSE(parse_mac_address("52:54:00:ab:cd:0f:", mac));
}

TEST_CASE("virtio-net writes no frame into guest RAM while the machine is paused") {
  Rig rig;
  rig.start();
  rig.post_rx();
  rig.notify(VirtioNet::kReceiveQueue);
  rig.net->set_vm_running(false);
  rig.backend.deliver_frame(frame_of(80, 11));
  CHECK(rig.rx.used_idx() == 0);
  CHECK(rig.backend.rx_queued() == 1);
  rig.net->set_vm_running(true);  // resume flushes what waited
  CHECK(rig.rx.used_idx() == 1);
  CHECK(rig.rx.used_elem(0).second == 12 + 80);
  CHECK(rig.backend.rx_queued() == 0);
}
