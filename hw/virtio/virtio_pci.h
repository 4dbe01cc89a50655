// The virtio 1.x PCI transport, modern only (virtio 1.2 §4.1): a PCI
// function with device ID 0x1040 + device type, whose vendor-specific
// capabilities point into BAR 4 at the common configuration (0x0000),
// ISR status (0x1000), device configuration (0x2000) and notification
// (0x3000) structures, the layout QEMU's virtio-pci uses. BAR 1 holds the
// MSI-X table and PBA; without MSI-X the device raises INTA#.
//
// One I/O thread per device serves the queues, so a vCPU that notifies a
// queue only sets a bit and wakes it.
//
// Threads: vCPU threads reach the BARs and configuration space; the I/O
// thread pops, serves and completes requests. state_mutex_ guards status,
// features and queues; the I/O thread holds it while it serves one chain,
// so a reset waits for the request in flight and never races it. The
// paths a vCPU takes while requests run — queue notify, ISR read, device
// configuration read, MSI-X table — do not take it, so a vCPU never waits
// for host I/O there; only common-configuration accesses (set-up, reset)
// may. isr_mutex_ keeps the ISR and the INTx# level consistent. Lock
// order: state_mutex_, isr_mutex_, the MSI-X table's, then the PCI bus's
// INTx lock and the interrupt controllers'.
#pragma once

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>
#include <vector>

#include "hw/core/guest_memory.h"
#include "hw/pci/msix.h"
#include "hw/pci/pci_device.h"
#include "hw/virtio/virtio_device.h"
#include "hw/virtio/virtqueue.h"
#include "util/log.h"

namespace vireo {

class VirtioPci final : public PciDevice, public VirtioTransport {
 public:
  // Offsets inside BAR 4 (64-bit, prefetchable, 16 KiB).
  static constexpr uint64_t kCommonOffset = 0x0000;
  static constexpr uint64_t kIsrOffset = 0x1000;
  static constexpr uint64_t kDeviceConfigOffset = 0x2000;
  static constexpr uint64_t kNotifyOffset = 0x3000;
  static constexpr uint64_t kStructureSize = 0x1000;
  static constexpr uint64_t kModernBarSize = 0x4000;
  static constexpr unsigned kModernBar = 4;
  static constexpr unsigned kMsixBar = 1;
  static constexpr uint32_t kNotifyOffMultiplier = 4;
  static constexpr uint16_t kNoVector = 0xffff;  // VIRTIO_MSI_NO_VECTOR

  // Common configuration structure offsets (§4.1.4.3).
  static constexpr uint64_t kDeviceFeatureSelect = 0x00;
  static constexpr uint64_t kDeviceFeature = 0x04;
  static constexpr uint64_t kDriverFeatureSelect = 0x08;
  static constexpr uint64_t kDriverFeature = 0x0c;
  static constexpr uint64_t kConfigMsixVector = 0x10;
  static constexpr uint64_t kNumQueues = 0x12;
  static constexpr uint64_t kDeviceStatus = 0x14;
  static constexpr uint64_t kConfigGeneration = 0x15;
  static constexpr uint64_t kQueueSelect = 0x16;
  static constexpr uint64_t kQueueSize = 0x18;
  static constexpr uint64_t kQueueMsixVector = 0x1a;
  static constexpr uint64_t kQueueEnable = 0x1c;
  static constexpr uint64_t kQueueNotifyOff = 0x1e;
  static constexpr uint64_t kQueueDesc = 0x20;
  static constexpr uint64_t kQueueDriver = 0x28;
  static constexpr uint64_t kQueueDevice = 0x30;
  static constexpr uint64_t kQueueNotifyData = 0x38;
  static constexpr uint64_t kQueueReset = 0x3a;

  // ISR bits (§4.1.4.5).
  static constexpr uint8_t kIsrQueue = 1;
  static constexpr uint8_t kIsrConfig = 2;

  // Capability cfg_type values (§4.1.4).
  static constexpr uint8_t kCapCommon = 1;
  static constexpr uint8_t kCapNotify = 2;
  static constexpr uint8_t kCapIsr = 3;
  static constexpr uint8_t kCapDevice = 4;
  static constexpr uint8_t kCapPciConfig = 5;

  VirtioPci(std::string name, VirtioDevice& device, GuestMemory& memory);
  ~VirtioPci() override;

  void reset() override;
  // The PCI header, MSI-X table, transport registers and queues. Loaded
  // state is checked (features within the offer, queue sizes, vectors,
  // rings in RAM) before the I/O thread sees it.
  void serialize(StateStream& s) override;

  uint8_t device_status();
  FillResult fill_queue(unsigned queue, const Filler& fill) override;
  MsixTable& msix() { return msix_; }
  // The register file as a guest sees it, for tests.
  uint64_t bar4_read(uint64_t offset, unsigned size) { return modern_.read(offset, size); }
  void bar4_write(uint64_t offset, unsigned size, uint64_t value) { modern_.write(offset, size, value); }
  // Waits until the I/O thread has nothing left to do (tests).
  void drain();

 protected:
  void config_written(unsigned offset, unsigned size) override;
  void before_config_read(unsigned offset, unsigned size) override;

 private:
  // BAR 4, dispatching to the four structures.
  class ModernRegion final : public BusDevice {
   public:
    explicit ModernRegion(VirtioPci& owner) : owner_(owner) {}
    uint64_t read(uint64_t offset, unsigned size) override;
    void write(uint64_t offset, unsigned size, uint64_t value) override;

   private:
    VirtioPci& owner_;
  };

  void add_virtio_capability(uint8_t cfg_type, uint64_t offset, uint64_t length, unsigned extra = 0);
  // The BAR window that VIRTIO_PCI_CAP_PCI_CFG's bar/offset/length select,
  // or null (with `offset` unset) if they do not name a valid access.
  BusDevice* pci_cfg_window(uint64_t& offset, unsigned& length);
  uint64_t common_read(uint64_t offset, unsigned size);
  void common_write(uint64_t offset, unsigned size, uint64_t value);
  uint8_t isr_read();
  void write_status_locked(uint8_t status);
  void reset_device_locked();
  void fail_locked(const std::string& why);
  void interrupt_locked(uint16_t msix_vector, uint8_t isr_bit);
  void notify_queue(unsigned queue);

  void io_thread_main();
  void serve_queue(unsigned queue);

  VirtioDevice& device_;
  GuestMemory& memory_;
  ModernRegion modern_{*this};
  MsixTable msix_;
  unsigned msix_capability_ = 0;
  unsigned pci_cfg_capability_ = 0;  // struct virtio_pci_cfg_cap

  std::mutex state_mutex_;
  uint8_t status_ = 0;
  uint32_t device_feature_select_ = 0;
  uint32_t driver_feature_select_ = 0;
  uint64_t driver_features_ = 0;
  uint16_t config_msix_vector_ = kNoVector;
  uint16_t queue_select_ = 0;
  uint8_t config_generation_ = 0;
  std::vector<SplitVirtqueue> queues_;
  std::mutex isr_mutex_;
  uint8_t isr_ = 0;
  RateLimitedLog log_;  // a guest can repeat reset + bad ring; at most 10 lines a second

  // The I/O thread's wake-up: one bit per notified queue.
  std::mutex wake_mutex_;
  std::condition_variable wake_;
  std::condition_variable idle_;
  uint64_t notified_queues_ = 0;
  bool busy_ = false;
  bool stopping_ = false;
  std::thread io_thread_;
};

}  // namespace vireo
