#include "hw/virtio/virtio_pci.h"

#include <algorithm>
#include <cstring>

namespace vireo {

namespace {
constexpr uint16_t kVendorRedHat = 0x1af4;  // virtio's PCI vendor ID (§4.1.2)
constexpr uint16_t kModernDeviceIdBase = 0x1040;
constexpr uint64_t kMsixPbaOffset = 0x800;
constexpr uint64_t kMsixBarSize = 0x1000;

uint64_t low_bits(uint64_t v, unsigned size) { return size >= 8 ? v : v & ((1ull << (8 * size)) - 1); }

// PCI class for each device type, as QEMU gives them (mass storage/SCSI
// for virtio-blk, network for virtio-net).
uint32_t class_for(uint16_t type) {
  switch (type) {
    case 1: return 0x020000;
    case 2: return 0x010000;
    default: return 0xff0000;
  }
}
}  // namespace

VirtioPci::VirtioPci(std::string name, VirtioDevice& device, GuestMemory& memory)
    : PciDevice(std::move(name)),
      device_(device),
      memory_(memory),
      // One vector per queue plus one for configuration changes, as QEMU.
      msix_(device.queue_count() + 1, kMsixPbaOffset, [this](uint64_t a, uint32_t d) { send_msi(a, d); }),
      queues_(device.queue_count()) {
  // Revision 1 marks a modern (non-transitional) device (§4.1.2.1);
  // subsystem IDs as QEMU's for modern devices.
  set_identity(kVendorRedHat, static_cast<uint16_t>(kModernDeviceIdBase + device.device_type()),
               class_for(device.device_type()), 0x01, kVendorRedHat, 0x1100);
  set_interrupt_pin(1);
  declare_bar(kMsixBar, PciBarKind::Memory32, kMsixBarSize, &msix_);
  declare_bar(kModernBar, PciBarKind::Memory64, kModernBarSize, &modern_, true);

  // MSI-X (PCI 3.0 §6.8.2.1): table size - 1, table and PBA in BAR 1.
  msix_capability_ = add_capability(pci::kCapMsix, 12);
  put_config(msix_capability_ + 2, 2, msix_.vectors() - 1);
  put_config(msix_capability_ + 4, 4, 0x000 | kMsixBar);
  put_config(msix_capability_ + 8, 4, static_cast<uint32_t>(kMsixPbaOffset) | kMsixBar);
  set_writable(msix_capability_ + 2, 2, MsixTable::kControlEnable | MsixTable::kControlFunctionMask);

  add_virtio_capability(kCapCommon, kCommonOffset, kStructureSize);
  add_virtio_capability(kCapIsr, kIsrOffset, kStructureSize);
  add_virtio_capability(kCapDevice, kDeviceConfigOffset, kStructureSize);
  add_virtio_capability(kCapNotify, kNotifyOffset, kStructureSize, 4);
  // VIRTIO_PCI_CAP_PCI_CFG (§4.1.4.9): a window onto the BARs through
  // configuration space, for firmware that cannot map them. The driver
  // picks bar, offset and length, then reads or writes pci_cfg_data.
  add_virtio_capability(kCapPciConfig, 0, 0, 4);
  pci_cfg_capability_ = last_capability();
  set_writable(pci_cfg_capability_ + 4, 1, 0xff);
  set_writable(pci_cfg_capability_ + 8, 4, 0xffffffff);
  set_writable(pci_cfg_capability_ + 12, 4, 0xffffffff);
  set_writable(pci_cfg_capability_ + 16, 4, 0xffffffff);
  capture_reset_image();
  for (SplitVirtqueue& q : queues_) q.size = device_.queue_max_size();
  device_.attach_transport(*this);

  io_thread_ = std::thread([this] { io_thread_main(); });
}

VirtioPci::~VirtioPci() {
  {
    std::lock_guard lock(wake_mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  io_thread_.join();
}

void VirtioPci::add_virtio_capability(uint8_t cfg_type, uint64_t offset, uint64_t length, unsigned extra) {
  // struct virtio_pci_cap (§4.1.4): vndr, next, len, cfg_type, bar, id,
  // padding[2], offset, length; the notify capability adds
  // notify_off_multiplier.
  const unsigned cap_length = 16 + extra;
  const unsigned at = add_capability(pci::kCapVendor, cap_length);
  put_config(at + 2, 1, cap_length);
  put_config(at + 3, 1, cfg_type);
  put_config(at + 4, 1, cfg_type == kCapPciConfig ? 0 : kModernBar);
  put_config(at + 8, 4, static_cast<uint32_t>(offset));
  put_config(at + 12, 4, static_cast<uint32_t>(length));
  if (cfg_type == kCapNotify) put_config(at + 16, 4, kNotifyOffMultiplier);
}

void VirtioPci::config_written(unsigned offset, unsigned size) {
  const unsigned control = msix_capability_ + 2;
  if (offset < control + 2 && offset + size > control) {
    msix_.set_control(static_cast<uint16_t>(load_config(control, 2)));
  }
  const unsigned data = pci_cfg_capability_ + 16;
  if (offset < data + 4 && offset + size > data) {
    // §4.1.4.9.2: a write to pci_cfg_data writes cap.length of its bytes
    // to the selected BAR offset.
    uint64_t bar_offset;
    unsigned length;
    if (BusDevice* window = pci_cfg_window(bar_offset, length)) {
      window->write(bar_offset, length, load_config(data, length));
    }
  }
}

void VirtioPci::before_config_read(unsigned offset, unsigned size) {
  const unsigned data = pci_cfg_capability_ + 16;
  if (offset < data + 4 && offset + size > data) {
    // §4.1.4.9.2: a read of pci_cfg_data first reads cap.length bytes from
    // the selected BAR offset into it.
    uint64_t bar_offset;
    unsigned length;
    if (BusDevice* window = pci_cfg_window(bar_offset, length)) {
      store_config(data, length, static_cast<uint32_t>(window->read(bar_offset, length)));
    }
  }
}

BusDevice* VirtioPci::pci_cfg_window(uint64_t& offset, unsigned& length) {
  const unsigned bar = load_config(pci_cfg_capability_ + 4, 1);
  offset = load_config(pci_cfg_capability_ + 8, 4);
  length = load_config(pci_cfg_capability_ + 12, 4);
  // Lengths of 1, 2 or 4, aligned to themselves, inside the BAR (§4.1.4.9.1).
  if ((length != 1 && length != 2 && length != 4) || offset % length != 0) return nullptr;
  if (bar == kModernBar && offset + length <= kModernBarSize) return &modern_;
  if (bar == kMsixBar && offset + length <= kMsixBarSize) return &msix_;
  return nullptr;
}

void VirtioPci::reset() {
  {
    std::lock_guard lock(state_mutex_);
    reset_device_locked();
  }
  msix_.reset();
  PciDevice::reset();
}

void VirtioPci::serialize(StateStream& s) {
  PciDevice::serialize(s);
  msix_.serialize(s);
  bool running;
  {
    std::lock_guard lock(state_mutex_);
    s(status_);
    s(device_feature_select_);
    s(driver_feature_select_);
    s(driver_features_);
    s(config_msix_vector_);
    s(queue_select_);
    s(config_generation_);
    {
      std::lock_guard isr_lock(isr_mutex_);
      s(isr_);
    }
    for (SplitVirtqueue& q : queues_) q.serialize(s, memory_);
    if (s.loading()) {
      const auto vector_ok = [this](uint16_t v) { return v == kNoVector || v < msix_.vectors(); };
      bool consistent = (driver_features_ & ~device_.device_features()) == 0 && vector_ok(config_msix_vector_) &&
                        isr_ <= (kIsrQueue | kIsrConfig);
      for (const SplitVirtqueue& q : queues_) {
        consistent = consistent && q.size >= 1 && q.size <= device_.queue_max_size() && vector_ok(q.msix_vector);
      }
      if (!consistent) throw Error("saved state: inconsistent " + name() + " registers");
      if (status_ & virtio::kStatusFeaturesOk) device_.set_driver_features(driver_features_);
    }
    running = (status_ & virtio::kStatusDriverOk) != 0;
  }
  // Requests the driver queued before the save are served now.
  if (s.loading() && running) {
    for (unsigned i = 0; i < queues_.size(); ++i) notify_queue(i);
  }
}

uint8_t VirtioPci::device_status() {
  std::lock_guard lock(state_mutex_);
  return status_;
}

uint64_t VirtioPci::ModernRegion::read(uint64_t offset, unsigned size) {
  if (offset < kIsrOffset) return owner_.common_read(offset - kCommonOffset, size);
  if (offset < kDeviceConfigOffset) return offset == kIsrOffset ? owner_.isr_read() : 0;
  if (offset < kNotifyOffset) {
    // The device configuration (§4.1.4.6), little-endian; the block
    // device's never changes, so no generation bump is needed here.
    const uint64_t at = offset - kDeviceConfigOffset;
    uint64_t value = 0;
    for (unsigned i = 0; i < size; ++i) {
      if (at + i < owner_.device_.config_size()) {
        value |= uint64_t{owner_.device_.config_byte(static_cast<uint32_t>(at + i))} << (8 * i);
      }
    }
    return value;
  }
  return 0;  // the notification area reads as zero
}

void VirtioPci::ModernRegion::write(uint64_t offset, unsigned size, uint64_t value) {
  if (offset < kIsrOffset) {
    owner_.common_write(offset - kCommonOffset, size, value);
  } else if (offset >= kDeviceConfigOffset && offset < kNotifyOffset) {
    const uint64_t at = offset - kDeviceConfigOffset;
    std::lock_guard lock(owner_.state_mutex_);
    for (unsigned i = 0; i < size; ++i) {
      if (at + i < owner_.device_.config_size()) {
        owner_.device_.config_write(static_cast<uint32_t>(at + i), static_cast<uint8_t>(value >> (8 * i)));
      }
    }
  } else if (offset >= kNotifyOffset) {
    // queue_notify_off is the queue index, so the address names the queue
    // (§4.1.4.4); the value written (the index, or notify data) is not needed.
    owner_.notify_queue(static_cast<unsigned>((offset - kNotifyOffset) / kNotifyOffMultiplier));
  }
}

uint64_t VirtioPci::common_read(uint64_t offset, unsigned size) {
  std::lock_guard lock(state_mutex_);
  SplitVirtqueue* q = queue_select_ < queues_.size() ? &queues_[queue_select_] : nullptr;
  uint64_t value = 0;
  auto field64 = [&](uint64_t v, uint64_t base) { return v >> (8 * (offset - base)); };
  switch (offset) {
    case kDeviceFeatureSelect: value = device_feature_select_; break;
    case kDeviceFeature: {
      const uint64_t features = device_.device_features();
      value = device_feature_select_ == 0 ? (features & 0xffffffff)
                                          : device_feature_select_ == 1 ? features >> 32 : 0;
      break;
    }
    case kDriverFeatureSelect: value = driver_feature_select_; break;
    case kDriverFeature:
      value = driver_feature_select_ == 0 ? (driver_features_ & 0xffffffff)
                                          : driver_feature_select_ == 1 ? driver_features_ >> 32 : 0;
      break;
    case kConfigMsixVector: value = config_msix_vector_; break;
    case kNumQueues: value = queues_.size(); break;
    case kDeviceStatus: value = status_; break;
    case kConfigGeneration: value = config_generation_; break;
    case kQueueSelect: value = queue_select_; break;
    case kQueueSize: value = q ? q->size : 0; break;
    case kQueueMsixVector: value = q ? q->msix_vector : kNoVector; break;
    case kQueueEnable: value = q && q->enabled ? 1 : 0; break;
    case kQueueNotifyOff: value = q ? queue_select_ : 0; break;
    case kQueueDesc: case kQueueDesc + 4: value = q ? field64(q->descriptor_table, kQueueDesc) : 0; break;
    case kQueueDriver: case kQueueDriver + 4: value = q ? field64(q->driver_area, kQueueDriver) : 0; break;
    case kQueueDevice: case kQueueDevice + 4: value = q ? field64(q->device_area, kQueueDevice) : 0; break;
    case kQueueNotifyData: value = q ? queue_select_ : 0; break;
    default: value = 0; break;
  }
  return low_bits(value, size);
}

void VirtioPci::common_write(uint64_t offset, unsigned size, uint64_t value) {
  std::lock_guard lock(state_mutex_);
  SplitVirtqueue* q = queue_select_ < queues_.size() ? &queues_[queue_select_] : nullptr;
  // Queue registers can change only while the queue is off (§4.1.4.3.2).
  SplitVirtqueue* idle_queue = q && !q->enabled ? q : nullptr;
  auto set64 = [&](uint64_t& field, uint64_t base) {
    const unsigned shift = static_cast<unsigned>(8 * (offset - base));
    const uint64_t mask = (size >= 8 ? ~0ull : ((1ull << (8 * size)) - 1)) << shift;
    field = (field & ~mask) | ((value << shift) & mask);
  };
  switch (offset) {
    case kDeviceFeatureSelect: device_feature_select_ = static_cast<uint32_t>(value); break;
    case kDriverFeatureSelect: driver_feature_select_ = static_cast<uint32_t>(value); break;
    case kDriverFeature:
      if (status_ & virtio::kStatusFeaturesOk) break;  // fixed once accepted (§3.1.1)
      if (driver_feature_select_ == 0) {
        driver_features_ = (driver_features_ & ~0xffffffffull) | (value & 0xffffffff);
      } else if (driver_feature_select_ == 1) {
        driver_features_ = (driver_features_ & 0xffffffff) | (value & 0xffffffff) << 32;
      }
      break;
    case kConfigMsixVector:
      // A vector the table does not have reads back as NO_VECTOR (§4.1.5.1.2).
      config_msix_vector_ = value < msix_.vectors() ? static_cast<uint16_t>(value) : kNoVector;
      break;
    case kDeviceStatus: write_status_locked(static_cast<uint8_t>(value)); break;
    case kQueueSelect: queue_select_ = static_cast<uint16_t>(value); break;
    case kQueueSize:
      if (idle_queue) {
        // Larger than the maximum is refused; the driver reads it back.
        if (value >= 1 && value <= device_.queue_max_size()) idle_queue->size = static_cast<uint16_t>(value);
      }
      break;
    case kQueueMsixVector:
      if (q) q->msix_vector = value < msix_.vectors() ? static_cast<uint16_t>(value) : kNoVector;
      break;
    case kQueueEnable:
      if (idle_queue && value == 1) {
        try {
          idle_queue->validate(memory_);
          idle_queue->enabled = true;
        } catch (const VirtqueueError& e) {
          fail_locked("queue " + std::to_string(queue_select_) + ": " + e.what());
        }
      }
      break;
    case kQueueDesc: case kQueueDesc + 4: if (idle_queue) set64(idle_queue->descriptor_table, kQueueDesc); break;
    case kQueueDriver: case kQueueDriver + 4: if (idle_queue) set64(idle_queue->driver_area, kQueueDriver); break;
    case kQueueDevice: case kQueueDevice + 4: if (idle_queue) set64(idle_queue->device_area, kQueueDevice); break;
    default: break;  // read-only fields; queue_reset (VIRTIO_F_RING_RESET) is not offered
  }
}

void VirtioPci::write_status_locked(uint8_t status) {
  if (status == 0) {
    reset_device_locked();
    return;
  }
  const uint8_t added = static_cast<uint8_t>(status & ~status_);
  if (added & virtio::kStatusFeaturesOk) {
    // Accept only a subset of what was offered, with VERSION_1: a modern
    // device has no legacy interface to fall back on (§6.1). Otherwise
    // FEATURES_OK stays clear and the driver gives up (§3.1.1 step 6).
    const uint64_t offered = device_.device_features();
    if ((driver_features_ & ~offered) != 0 || !(driver_features_ & virtio::kFeatureVersion1)) {
      status = static_cast<uint8_t>(status & ~virtio::kStatusFeaturesOk);
    } else {
      device_.set_driver_features(driver_features_);
      for (SplitVirtqueue& q : queues_) q.event_idx = (driver_features_ & virtio::kFeatureEventIdx) != 0;
    }
  }
  status_ = static_cast<uint8_t>(status | (status_ & virtio::kStatusNeedsReset));
  if (added & virtio::kStatusDriverOk) {
    // Buffers made available before DRIVER_OK are served now.
    for (unsigned i = 0; i < queues_.size(); ++i) notify_queue(i);
  }
}

void VirtioPci::reset_device_locked() {
  status_ = 0;
  device_feature_select_ = 0;
  driver_feature_select_ = 0;
  driver_features_ = 0;
  config_msix_vector_ = kNoVector;
  queue_select_ = 0;
  for (SplitVirtqueue& q : queues_) {
    q.reset();
    q.size = device_.queue_max_size();
  }
  device_.reset();
  std::lock_guard isr_lock(isr_mutex_);
  isr_ = 0;
  set_intx(false);
}

void VirtioPci::fail_locked(const std::string& why) {
  if (status_ & virtio::kStatusNeedsReset) return;
  // §2.1.2: the device has hit an error it cannot recover from; the
  // driver is told by a configuration change interrupt.
  status_ |= virtio::kStatusNeedsReset;
  ++config_generation_;
  log_.warn(name() + ": device needs reset: " + why);
  interrupt_locked(config_msix_vector_, kIsrConfig);
}

void VirtioPci::interrupt_locked(uint16_t msix_vector, uint8_t isr_bit) {
  if (msix_.enabled()) {
    // With MSI-X enabled, NO_VECTOR means no interrupt at all (§4.1.5.1.2).
    if (msix_vector != kNoVector) msix_.notify(msix_vector);
    return;
  }
  std::lock_guard lock(isr_mutex_);
  isr_ |= isr_bit;
  set_intx(true);
}

uint8_t VirtioPci::isr_read() {
  // Reading the ISR acknowledges it and de-asserts INTx# (§4.1.4.5.1).
  std::lock_guard lock(isr_mutex_);
  const uint8_t value = isr_;
  isr_ = 0;
  if (value != 0) set_intx(false);
  return value;
}

void VirtioPci::notify_queue(unsigned queue) {
  if (queue >= queues_.size() || queue >= 64) return;
  {
    std::lock_guard lock(wake_mutex_);
    notified_queues_ |= 1ull << queue;
  }
  wake_.notify_one();
}

void VirtioPci::drain() {
  std::unique_lock lock(wake_mutex_);
  idle_.wait(lock, [this] { return notified_queues_ == 0 && !busy_; });
}

void VirtioPci::io_thread_main() {
  for (;;) {
    uint64_t queues;
    {
      std::unique_lock lock(wake_mutex_);
      busy_ = false;
      idle_.notify_all();
      wake_.wait(lock, [this] { return stopping_ || notified_queues_ != 0; });
      if (stopping_) return;
      queues = notified_queues_;
      notified_queues_ = 0;
      busy_ = true;
    }
    for (unsigned q = 0; q < 64; ++q) {
      if (queues & (1ull << q)) serve_queue(q);
    }
  }
}

VirtioTransport::FillResult VirtioPci::fill_queue(unsigned index, const Filler& fill) {
  std::lock_guard lock(state_mutex_);
  if (index >= queues_.size() || (status_ & virtio::kStatusNeedsReset)) return FillResult::Failed;
  // As in serve_queue: no DMA before DRIVER_OK or without bus mastering.
  SplitVirtqueue& queue = queues_[index];
  if (!(status_ & virtio::kStatusDriverOk) || !bus_master_enabled() || !queue.enabled) return FillResult::NoBuffer;
  try {
    VirtqChain chain;
    if (!queue.pop(memory_, chain)) {
      // Ask to be notified when buffers come (EVENT_IDX), and look again
      // in case they came meanwhile.
      if (!queue.arm_notification(memory_) || !queue.pop(memory_, chain)) return FillResult::NoBuffer;
    }
    const uint16_t used_before = queue.used_index();
    const uint32_t written = fill(chain, memory_);
    queue.push(memory_, chain.head, static_cast<uint32_t>(std::min<uint64_t>(written, chain.writable_bytes)));
    if (queue.driver_wants_interrupt(memory_, used_before)) interrupt_locked(queue.msix_vector, kIsrQueue);
    return FillResult::Filled;
  } catch (const VirtqueueError& e) {
    fail_locked("queue " + std::to_string(index) + ": " + e.what());
    return FillResult::Failed;
  }
}

void VirtioPci::serve_queue(unsigned index) {
  if (device_.device_fills_queue(index)) {
    device_.queue_notified(index);
    return;
  }
  bool completed = false;
  uint16_t used_before = 0;
  for (;;) {
    std::lock_guard lock(state_mutex_);
    // Reading and writing guest memory is bus mastering: without the
    // command register's bus-master bit the function may not do it (PCI
    // 3.0 §6.2.2); the queue waits for the next notification.
    const bool running = (status_ & virtio::kStatusDriverOk) && !(status_ & virtio::kStatusNeedsReset) &&
                         bus_master_enabled();
    SplitVirtqueue& queue = queues_[index];
    if (!running || !queue.enabled) return;
    if (!completed) used_before = queue.used_index();
    try {
      VirtqChain chain;
      if (!queue.pop(memory_, chain)) {
        if (queue.arm_notification(memory_)) continue;  // more arrived meanwhile
        // One interrupt per batch of completions.
        if (completed && queue.driver_wants_interrupt(memory_, used_before)) {
          interrupt_locked(queue.msix_vector, kIsrQueue);
        }
        return;
      }
      const uint32_t written = device_.handle_request(index, chain, memory_);
      queue.push(memory_, chain.head, written);
      completed = true;
    } catch (const VirtqueueError& e) {
      fail_locked("queue " + std::to_string(index) + ": " + e.what());
      return;
    }
  }
}

}  // namespace vireo
