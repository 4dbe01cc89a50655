// virtio-blk over the modern PCI transport, driven as Linux's virtio_pci
// and virtio_blk drivers drive it: feature negotiation, queue set-up,
// requests of every type, INTx and MSI-X completions, and a hostile
// driver that must get DEVICE_NEEDS_RESET rather than a crash.
#include "hw/virtio/virtio_blk.h"

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

struct MemoryDisk final : BlockBackend {
  std::vector<uint8_t> bytes;
  bool ro = false;
  unsigned flushes = 0;
  std::vector<std::pair<uint64_t, uint64_t>> discards;
  explicit MemoryDisk(uint64_t size) : bytes(size) {
    for (size_t i = 0; i < bytes.size(); ++i) bytes[i] = static_cast<uint8_t>(i * 7 + i / 512);
  }
  uint64_t size_bytes() const override { return bytes.size(); }
  bool read_only() const override { return ro; }
  void read(uint64_t offset, std::span<uint8_t> data) override {
    if (offset + data.size() > bytes.size()) throw BlockError("beyond the end");
    std::memcpy(data.data(), bytes.data() + offset, data.size());
  }
  void write(uint64_t offset, std::span<const uint8_t> data) override {
    if (offset + data.size() > bytes.size()) throw BlockError("beyond the end");
    std::memcpy(bytes.data() + offset, data.data(), data.size());
  }
  void flush() override { ++flushes; }
  void discard(uint64_t offset, uint64_t length) override { discards.push_back({offset, length}); }
  void write_zeroes(uint64_t offset, uint64_t length) override { std::memset(bytes.data() + offset, 0, length); }
};

constexpr uint64_t kRings = 0x1000;
constexpr uint64_t kHeader = 0x10000;
constexpr uint64_t kData = 0x20000;
constexpr uint64_t kStatus = 0x30000;
constexpr uint16_t kQueueSize = 16;

struct Rig {
  TestRam ram;
  IoBus pio{"ioport", IoBus::UnclaimedReads::AllOnes};
  IoBus mmio{"mmio", IoBus::UnclaimedReads::Zero};
  PciBus bus{pio, mmio};
  MemoryDisk* disk;
  std::unique_ptr<VirtioBlk> blk;
  std::unique_ptr<VirtioPci> pci;
  VirtqBuilder ring{ram.memory, kQueueSize, kRings};
  std::vector<bool> pirq_levels = std::vector<bool>(4);
  std::vector<std::pair<uint64_t, uint32_t>> msis;

  explicit Rig(bool read_only = false, std::string serial = "vireo-disk-0") {
    auto backend = std::make_unique<MemoryDisk>(1 << 20);
    disk = backend.get();
    blk = std::make_unique<VirtioBlk>(std::move(backend), read_only, std::move(serial));
    pci = std::make_unique<VirtioPci>("virtio-blk-pci", *blk, ram.memory);
    bus.attach(pci.get(), PciBus::devfn(4, 0));
    bus.set_pirq_handler([this](unsigned pirq, bool level) { pirq_levels[pirq] = level; });
    pci->set_msi_sender([this](uint64_t a, uint32_t d) { msis.push_back({a, d}); });
    pci->config_write(pci::kCommand, 2, pci::kCommandBusMaster | pci::kCommandMemoryEnable);
  }
  ~Rig() { pci.reset(); }

  uint64_t common(uint64_t offset, unsigned size) { return pci->bar4_read(VirtioPci::kCommonOffset + offset, size); }
  void set_common(uint64_t offset, unsigned size, uint64_t v) { pci->bar4_write(VirtioPci::kCommonOffset + offset, size, v); }
  uint8_t status() { return static_cast<uint8_t>(common(VirtioPci::kDeviceStatus, 1)); }
  uint64_t device_features() {
    set_common(VirtioPci::kDeviceFeatureSelect, 4, 0);
    uint64_t f = common(VirtioPci::kDeviceFeature, 4);
    set_common(VirtioPci::kDeviceFeatureSelect, 4, 1);
    return f | common(VirtioPci::kDeviceFeature, 4) << 32;
  }
  bool negotiate(uint64_t features) {
    set_common(VirtioPci::kDeviceStatus, 1, 0);
    set_common(VirtioPci::kDeviceStatus, 1, virtio::kStatusAcknowledge | virtio::kStatusDriver);
    set_common(VirtioPci::kDriverFeatureSelect, 4, 0);
    set_common(VirtioPci::kDriverFeature, 4, features & 0xffffffff);
    set_common(VirtioPci::kDriverFeatureSelect, 4, 1);
    set_common(VirtioPci::kDriverFeature, 4, features >> 32);
    set_common(VirtioPci::kDeviceStatus, 1, status() | virtio::kStatusFeaturesOk);
    return (status() & virtio::kStatusFeaturesOk) != 0;
  }
  // Linux's order: features, queue 0 registers, enable, DRIVER_OK.
  void start() {
    REQUIRE(negotiate(virtio::kFeatureVersion1 | VirtioBlk::kFeatureFlush));
    set_common(VirtioPci::kQueueSelect, 2, 0);
    CHECK(common(VirtioPci::kQueueSize, 2) == VirtioBlk::kQueueSize);
    set_common(VirtioPci::kQueueSize, 2, kQueueSize);
    set_common(VirtioPci::kQueueDesc, 4, ring.desc);
    set_common(VirtioPci::kQueueDesc + 4, 4, 0);
    set_common(VirtioPci::kQueueDriver, 4, ring.avail);
    set_common(VirtioPci::kQueueDriver + 4, 4, 0);
    set_common(VirtioPci::kQueueDevice, 4, ring.used);
    set_common(VirtioPci::kQueueDevice + 4, 4, 0);
    set_common(VirtioPci::kQueueEnable, 2, 1);
    set_common(VirtioPci::kDeviceStatus, 1, status() | virtio::kStatusDriverOk);
  }
  void notify() {
    pci->bar4_write(VirtioPci::kNotifyOffset, 2, 0);
    pci->drain();
  }
  // A request: header, `data_length` bytes at kData, status at kStatus.
  void submit(uint32_t type, uint64_t sector, uint32_t data_length, bool device_writes_data, uint16_t head = 0) {
    uint8_t header[16] = {};
    std::memcpy(header, &type, 4);
    std::memcpy(header + 8, &sector, 8);
    ram.memory.write(kHeader, header, sizeof header);
    uint8_t marker = 0xee;
    ram.memory.write(kStatus, &marker, 1);
    const uint16_t d1 = static_cast<uint16_t>((head + 1) % kQueueSize);
    const uint16_t d2 = static_cast<uint16_t>((head + 2) % kQueueSize);
    if (data_length > 0) {
      ring.set_desc(head, kHeader, 16, virtq::kDescNext, d1);
      ring.set_desc(d1, kData, data_length, static_cast<uint16_t>(virtq::kDescNext | (device_writes_data ? virtq::kDescWrite : 0)), d2);
      ring.set_desc(d2, kStatus, 1, virtq::kDescWrite);
    } else {
      ring.set_desc(head, kHeader, 16, virtq::kDescNext, d1);
      ring.set_desc(d1, kStatus, 1, virtq::kDescWrite);
    }
    ring.make_available(head);
    notify();
  }
  uint8_t request_status() {
    uint8_t s = 0;
    ram.memory.read(kStatus, &s, 1);
    return s;
  }
  uint8_t read_isr() { return static_cast<uint8_t>(pci->bar4_read(VirtioPci::kIsrOffset, 1)); }
  unsigned capability(uint8_t id, uint8_t cfg_type = 0) {
    unsigned at = pci->config_read(pci::kCapabilitiesPointer, 1);
    while (at != 0) {
      if (pci->config_read(at, 1) == id && (cfg_type == 0 || pci->config_read(at + 3, 1) == cfg_type)) return at;
      at = pci->config_read(at + 1, 1);
    }
    return 0;
  }
};

}  // namespace

TEST_CASE("virtio-blk-pci presents a modern device with its capabilities in BAR 4") {
  Rig rig;
  CHECK(rig.pci->config_read(pci::kVendorId, 4) == 0x10421af4);
  CHECK(rig.pci->config_read(pci::kRevisionId, 1) == 1);
  CHECK(rig.pci->config_read(pci::kClassProgIf + 1, 2) == 0x0100);
  CHECK(rig.pci->config_read(pci::kInterruptPin, 1) == 1);
  for (uint8_t type : {VirtioPci::kCapCommon, VirtioPci::kCapNotify, VirtioPci::kCapIsr, VirtioPci::kCapDevice}) {
    const unsigned at = rig.capability(pci::kCapVendor, type);
    REQUIRE(at != 0);
    CHECK(rig.pci->config_read(at + 4, 1) == VirtioPci::kModernBar);
  }
  const unsigned notify = rig.capability(pci::kCapVendor, VirtioPci::kCapNotify);
  CHECK(rig.pci->config_read(notify + 2, 1) == 20);
  CHECK(rig.pci->config_read(notify + 16, 4) == VirtioPci::kNotifyOffMultiplier);
  const unsigned msix = rig.capability(pci::kCapMsix);
  REQUIRE(msix != 0);
  CHECK(rig.pci->config_read(msix + 2, 2) == 1);  // two vectors: config + queue 0
  // Capacity in the device configuration: 1 MiB = 2048 sectors.
  CHECK(rig.pci->bar4_read(VirtioPci::kDeviceConfigOffset, 4) == 2048);
  CHECK(rig.pci->bar4_read(VirtioPci::kDeviceConfigOffset + 20, 4) == 512);  // blk_size
}

TEST_CASE("Feature negotiation requires VERSION_1 and a subset of the offer") {
  Rig rig;
  const uint64_t offered = rig.device_features();
  CHECK((offered & virtio::kFeatureVersion1) != 0);
  CHECK((offered & virtio::kFeatureIndirectDesc) != 0);
  CHECK((offered & VirtioBlk::kFeatureRo) == 0);
  CHECK((offered & VirtioBlk::kFeatureDiscard) != 0);
  CHECK_FALSE(rig.negotiate(VirtioBlk::kFeatureFlush));               // no VERSION_1
  CHECK_FALSE(rig.negotiate(virtio::kFeatureVersion1 | (1ull << 40)));  // not offered
  CHECK(rig.negotiate(virtio::kFeatureVersion1));
  Rig ro(true);
  CHECK((ro.device_features() & VirtioBlk::kFeatureRo) != 0);
  CHECK((ro.device_features() & VirtioBlk::kFeatureDiscard) == 0);
}

TEST_CASE("Write then read a sector; completion raises INTA# until the ISR is read") {
  Rig rig;
  rig.start();
  std::vector<uint8_t> pattern(1024);
  for (size_t i = 0; i < pattern.size(); ++i) pattern[i] = static_cast<uint8_t>(i ^ 0x5a);
  rig.ram.memory.write(kData, pattern.data(), pattern.size());
  rig.submit(VirtioBlk::kTypeOut, 10, 1024, false);
  CHECK(rig.request_status() == VirtioBlk::kStatusOk);
  CHECK(std::memcmp(rig.disk->bytes.data() + 10 * 512, pattern.data(), 1024) == 0);
  CHECK(rig.ring.used_idx() == 1);
  // Slot 4, INTA# -> PIRQ 0 (PIRQA#).
  CHECK(rig.pirq_levels[0]);
  CHECK(rig.read_isr() == VirtioPci::kIsrQueue);
  CHECK_FALSE(rig.pirq_levels[0]);
  CHECK(rig.read_isr() == 0);

  std::vector<uint8_t> zero(1024, 0);
  rig.ram.memory.write(kData, zero.data(), zero.size());
  rig.submit(VirtioBlk::kTypeIn, 10, 1024, true, 3);
  CHECK(rig.request_status() == VirtioBlk::kStatusOk);
  std::vector<uint8_t> back(1024);
  rig.ram.memory.read(kData, back.data(), back.size());
  CHECK(back == pattern);
  CHECK(rig.ring.used_elem(1) == std::pair<uint32_t, uint32_t>{3, 1025});

  // What query-blockstats reports: one write and one read of 1 KiB.
  BlockStatsSnapshot stats = rig.blk->stats();
  CHECK(stats.write.operations == 1);
  CHECK(stats.write.bytes == 1024);
  CHECK(stats.read.operations == 1);
  CHECK(stats.read.bytes == 1024);
  CHECK(stats.write_highest_offset == 10 * 512 + 1024);
  CHECK(stats.flush.operations == 0);
  CHECK(stats.last_io_ns != 0);
}

TEST_CASE("Bad requests get IOERR or UNSUPP, and the device keeps working") {
  Rig rig;
  rig.start();
  rig.submit(VirtioBlk::kTypeIn, 2047, 1024, true);  // runs past the end
  CHECK(rig.request_status() == VirtioBlk::kStatusIoErr);
  rig.submit(VirtioBlk::kTypeIn, ~0ull / 2, 512, true);  // sector * 512 would wrap
  CHECK(rig.request_status() == VirtioBlk::kStatusIoErr);
  rig.submit(VirtioBlk::kTypeIn, 0, 100, true);  // not whole sectors
  CHECK(rig.request_status() == VirtioBlk::kStatusIoErr);
  rig.submit(77, 0, 0, false);
  CHECK(rig.request_status() == VirtioBlk::kStatusUnsupported);
  rig.submit(VirtioBlk::kTypeIn, 2046, 1024, true);  // the last two sectors are fine
  CHECK(rig.request_status() == VirtioBlk::kStatusOk);
  CHECK((rig.status() & virtio::kStatusNeedsReset) == 0);
  // The refused reads count as invalid, not as reads; the unknown type not at all.
  BlockStatsSnapshot stats = rig.blk->stats();
  CHECK(stats.read.invalid == 3);
  CHECK(stats.read.operations == 1);
  CHECK(stats.read.bytes == 1024);
  CHECK(stats.read.failed == 0);
}

TEST_CASE("Flush, get-id, discard and write-zeroes") {
  Rig rig;
  rig.start();
  rig.submit(VirtioBlk::kTypeFlush, 0, 0, false);
  CHECK(rig.request_status() == VirtioBlk::kStatusOk);
  CHECK(rig.disk->flushes == 1);

  rig.submit(VirtioBlk::kTypeGetId, 0, 20, true);
  CHECK(rig.request_status() == VirtioBlk::kStatusOk);
  char id[21] = {};
  rig.ram.memory.read(kData, id, 20);
  CHECK(std::string(id) == "vireo-disk-0");

  // One segment: sector 4, 8 sectors, flags 0.
  uint8_t segment[16] = {};
  const uint64_t first = 4;
  const uint32_t count = 8;
  std::memcpy(segment, &first, 8);
  std::memcpy(segment + 8, &count, 4);
  rig.ram.memory.write(kData, segment, sizeof segment);
  rig.submit(VirtioBlk::kTypeWriteZeroes, 0, 16, false);
  CHECK(rig.request_status() == VirtioBlk::kStatusOk);
  CHECK(std::all_of(rig.disk->bytes.begin() + 4 * 512, rig.disk->bytes.begin() + 12 * 512, [](uint8_t b) { return b == 0; }));
  CHECK(rig.disk->bytes[12 * 512 + 1] != 0);
  rig.submit(VirtioBlk::kTypeDiscard, 0, 16, false);
  CHECK(rig.request_status() == VirtioBlk::kStatusOk);
  REQUIRE(rig.disk->discards.size() == 1);
  CHECK(rig.disk->discards[0] == std::pair<uint64_t, uint64_t>{4 * 512, 8 * 512});
  // A segment past the end is an I/O error.
  const uint64_t far = 2047;
  std::memcpy(segment, &far, 8);
  rig.ram.memory.write(kData, segment, sizeof segment);
  rig.submit(VirtioBlk::kTypeDiscard, 0, 16, false);
  CHECK(rig.request_status() == VirtioBlk::kStatusIoErr);

  // Write-zeroes counts as a write and discard as an unmap, as in QEMU.
  BlockStatsSnapshot stats = rig.blk->stats();
  CHECK(stats.flush.operations == 1);
  CHECK(stats.write.operations == 1);
  CHECK(stats.write.bytes == 8 * 512);
  CHECK(stats.unmap.operations == 1);
  CHECK(stats.unmap.bytes == 8 * 512);
  CHECK(stats.unmap.invalid == 1);
}

TEST_CASE("A read-only drive refuses writes with IOERR and leaves the image alone") {
  Rig rig(true);
  rig.start();
  const std::vector<uint8_t> before = rig.disk->bytes;
  rig.submit(VirtioBlk::kTypeOut, 0, 512, false);
  CHECK(rig.request_status() == VirtioBlk::kStatusIoErr);
  rig.submit(VirtioBlk::kTypeWriteZeroes, 0, 16, false);
  CHECK(rig.request_status() == VirtioBlk::kStatusIoErr);
  CHECK(rig.disk->bytes == before);
  rig.submit(VirtioBlk::kTypeIn, 0, 512, true);
  CHECK(rig.request_status() == VirtioBlk::kStatusOk);
}

TEST_CASE("MSI-X: the queue's vector is sent on completion, NO_VECTOR for a missing one") {
  Rig rig;
  const unsigned msix = rig.capability(pci::kCapMsix);
  rig.pci->config_write(msix + 2, 2, MsixTable::kControlEnable);
  rig.pci->msix().write(0x10 + MsixTable::kAddressLow, 4, 0xfee00000);
  rig.pci->msix().write(0x10 + MsixTable::kData, 4, 0x41);
  rig.pci->msix().write(0x10 + MsixTable::kVectorControl, 4, 0);
  rig.start();
  rig.set_common(VirtioPci::kConfigMsixVector, 2, 9);
  CHECK(rig.common(VirtioPci::kConfigMsixVector, 2) == VirtioPci::kNoVector);
  rig.set_common(VirtioPci::kQueueSelect, 2, 0);
  rig.set_common(VirtioPci::kQueueMsixVector, 2, 1);
  CHECK(rig.common(VirtioPci::kQueueMsixVector, 2) == 1);
  rig.submit(VirtioBlk::kTypeFlush, 0, 0, false);
  REQUIRE(rig.msis.size() == 1);
  CHECK(rig.msis[0] == std::pair<uint64_t, uint32_t>{0xfee00000, 0x41});
  CHECK_FALSE(rig.pirq_levels[0]);  // no INTx while MSI-X is on
}

TEST_CASE("A hostile chain sets DEVICE_NEEDS_RESET with a config interrupt; reset recovers") {
  Rig rig;
  rig.start();
  SECTION("descriptor pointing outside RAM") {
    rig.ring.set_desc(0, 0xfffff000000, 16, virtq::kDescNext, 1);
    rig.ring.set_desc(1, kStatus, 1, virtq::kDescWrite);
  }
  SECTION("descriptor loop") {
    rig.ring.set_desc(0, kHeader, 16, virtq::kDescNext, 1);
    rig.ring.set_desc(1, kHeader, 16, virtq::kDescNext, 0);
  }
  SECTION("request without a status byte") {
    rig.ring.set_desc(0, kHeader, 16, 0);
  }
  rig.ring.make_available(0);
  rig.notify();
  CHECK((rig.status() & virtio::kStatusNeedsReset) != 0);
  CHECK(rig.read_isr() == VirtioPci::kIsrConfig);
  CHECK(rig.ring.used_idx() == 0);
  // Further notifications are ignored until the driver resets.
  rig.ring.make_available(0);
  rig.notify();
  CHECK(rig.ring.used_idx() == 0);
  rig.set_common(VirtioPci::kDeviceStatus, 1, 0);
  CHECK(rig.status() == 0);
  rig.ring.avail_idx = 0;
  std::vector<uint8_t> zero(0x2000, 0);
  rig.ram.memory.write(kRings, zero.data(), zero.size());
  rig.start();
  rig.submit(VirtioBlk::kTypeFlush, 0, 0, false);
  CHECK(rig.request_status() == VirtioBlk::kStatusOk);
}

TEST_CASE("Queue enable with rings outside RAM needs reset instead of using them") {
  Rig rig;
  REQUIRE(rig.negotiate(virtio::kFeatureVersion1));
  rig.set_common(VirtioPci::kQueueSize, 2, kQueueSize);
  rig.set_common(VirtioPci::kQueueDesc, 4, 0xfff00000);
  rig.set_common(VirtioPci::kQueueDriver, 4, kRings);
  rig.set_common(VirtioPci::kQueueDevice, 4, kRings + 0x1000);
  rig.set_common(VirtioPci::kQueueEnable, 2, 1);
  CHECK(rig.common(VirtioPci::kQueueEnable, 2) == 0);
  CHECK((rig.status() & virtio::kStatusNeedsReset) != 0);
  // A queue size above the maximum is not taken.
  rig.set_common(VirtioPci::kQueueSize, 2, 4096);
  CHECK(rig.common(VirtioPci::kQueueSize, 2) == kQueueSize);
}

TEST_CASE("Without bus mastering the device leaves the rings alone until it is enabled") {
  Rig rig;
  rig.start();
  rig.pci->config_write(pci::kCommand, 2, pci::kCommandMemoryEnable);
  rig.submit(VirtioBlk::kTypeFlush, 0, 0, false);
  CHECK(rig.ring.used_idx() == 0);
  CHECK(rig.request_status() == 0xee);
  rig.pci->config_write(pci::kCommand, 2, pci::kCommandMemoryEnable | pci::kCommandBusMaster);
  rig.notify();
  CHECK(rig.ring.used_idx() == 1);
  CHECK(rig.request_status() == VirtioBlk::kStatusOk);
}

TEST_CASE("VIRTIO_PCI_CAP_PCI_CFG reaches the BARs through configuration space") {
  Rig rig;
  const unsigned cap = rig.capability(pci::kCapVendor, VirtioPci::kCapPciConfig);
  REQUIRE(cap != 0);
  CHECK(rig.pci->config_read(cap + 2, 1) == 20);
  // Read num_queues (common config 0x12, 2 bytes) through the window.
  rig.pci->config_write(cap + 4, 1, VirtioPci::kModernBar);
  rig.pci->config_write(cap + 8, 4, VirtioPci::kCommonOffset + VirtioPci::kNumQueues);
  rig.pci->config_write(cap + 12, 4, 2);
  CHECK(rig.pci->config_read(cap + 16, 2) == 1);
  // Write the device status through it.
  rig.pci->config_write(cap + 8, 4, VirtioPci::kCommonOffset + VirtioPci::kDeviceStatus);
  rig.pci->config_write(cap + 12, 4, 1);
  rig.pci->config_write(cap + 16, 1, virtio::kStatusAcknowledge);
  CHECK(rig.status() == virtio::kStatusAcknowledge);
  // A misaligned or oversized selection reaches nothing.
  rig.pci->config_write(cap + 8, 4, VirtioPci::kModernBarSize - 1);
  rig.pci->config_write(cap + 12, 4, 4);
  rig.pci->config_write(cap + 16, 4, 0xffffffff);
  CHECK(rig.status() == virtio::kStatusAcknowledge);
}

TEST_CASE("A running virtio-blk-pci saves and loads into a fresh device and carries on") {
  Rig source;
  source.start();
  source.submit(VirtioBlk::kTypeFlush, 0, 0, false);
  REQUIRE(source.ring.used_idx() == 1);
  StateStream saved = StateStream::for_saving();
  source.pci->serialize(saved);

  // Same guest memory contents in the destination (the rings live there).
  Rig destination;
  std::memcpy(destination.ram.host, source.ram.host, 1 << 20);
  StateStream loading = StateStream::for_loading(saved.bytes());
  destination.pci->serialize(loading);
  CHECK(loading.at_end());
  CHECK(destination.status() == source.status());
  destination.ring.avail_idx = source.ring.avail_idx;
  destination.submit(VirtioBlk::kTypeFlush, 0, 0, false, 5);
  CHECK(destination.request_status() == VirtioBlk::kStatusOk);
  CHECK(destination.ring.used_idx() == 2);  // continues where the source stopped
  CHECK(destination.ring.used_elem(1).first == 5);
}

TEST_CASE("Corrupt saved virtio-pci state is refused") {
  Rig source;
  source.start();
  StateStream saved = StateStream::for_saving();
  source.pci->serialize(saved);
  const std::vector<uint8_t> good = saved.bytes();
  auto load = [](std::vector<uint8_t> bytes) {
    Rig destination;
    StateStream s = StateStream::for_loading(std::move(bytes));
    destination.pci->serialize(s);
  };
  CHECK_NOTHROW(load(good));
  std::vector<uint8_t> bad = good;
  bad[0] ^= 0xff;  // the vendor ID is read-only
  CHECK_THROWS_AS(load(bad), Error);
  bad = good;
  bad.resize(bad.size() - 3);  // truncated
  CHECK_THROWS_AS(load(bad), Error);
  // Flip every byte past the header in turn: each load either succeeds
  // or throws Error; none crashes.
  for (size_t i = 256; i < good.size(); ++i) {
    bad = good;
    bad[i] ^= 0xa5;
    try {
      load(bad);
    } catch (const Error&) {
    }
  }
}
