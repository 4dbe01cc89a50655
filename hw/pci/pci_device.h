// A PCI function as the configuration mechanism sees it: a 256-byte type-0
// configuration header (PCI Local Bus Specification 3.0 §6.1), its BARs and
// its capability list. Concrete devices (the i440FX host bridge, PIIX3,
// virtio-pci) fill in the identity, declare their BARs and capabilities,
// and get told when the guest changes what they decode.
//
// Every configuration byte has a write mask: bits the guest may change.
// Everything else (identity, capability pointers, BAR size bits) is
// read-only, so a guest cannot make the header inconsistent.
//
// Threads: configuration accesses arrive from vCPU threads through the
// host bridge, which serialises them under its own lock; config_mutex_
// here also guards the header against a device's own threads (MSI-X
// delivery reads the command register).
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>
#include <string>

#include "hw/core/io_bus.h"
#include "util/serialize.h"

namespace vireo {

class PciBus;

// Header offsets and bits (PCI 3.0 §6.2).
namespace pci {
constexpr unsigned kVendorId = 0x00;
constexpr unsigned kDeviceId = 0x02;
constexpr unsigned kCommand = 0x04;
constexpr unsigned kStatus = 0x06;
constexpr unsigned kRevisionId = 0x08;
constexpr unsigned kClassProgIf = 0x09;  // then sub-class 0x0a, base class 0x0b
constexpr unsigned kCacheLineSize = 0x0c;
constexpr unsigned kLatencyTimer = 0x0d;
constexpr unsigned kHeaderType = 0x0e;
constexpr unsigned kBar0 = 0x10;
constexpr unsigned kSubsystemVendorId = 0x2c;
constexpr unsigned kSubsystemId = 0x2e;
constexpr unsigned kExpansionRom = 0x30;
constexpr unsigned kCapabilitiesPointer = 0x34;
constexpr unsigned kInterruptLine = 0x3c;
constexpr unsigned kInterruptPin = 0x3d;

constexpr uint16_t kCommandIoEnable = 1u << 0;
constexpr uint16_t kCommandMemoryEnable = 1u << 1;
constexpr uint16_t kCommandBusMaster = 1u << 2;
constexpr uint16_t kCommandSerr = 1u << 8;
constexpr uint16_t kCommandInterruptDisable = 1u << 10;
constexpr uint16_t kStatusInterrupt = 1u << 3;
constexpr uint16_t kStatusCapabilities = 1u << 4;

constexpr uint8_t kHeaderMultiFunction = 0x80;

// BAR low bits (§6.2.5.1).
constexpr uint32_t kBarIo = 1u << 0;
constexpr uint32_t kBarMem64 = 2u << 1;
constexpr uint32_t kBarPrefetchable = 1u << 3;

// Capability IDs (PCI Code and ID Assignment Specification §2).
constexpr uint8_t kCapMsi = 0x05;
constexpr uint8_t kCapVendor = 0x09;
constexpr uint8_t kCapMsix = 0x11;

constexpr unsigned kBarCount = 6;
constexpr unsigned kConfigSize = 256;
}  // namespace pci

enum class PciBarKind { Io, Memory32, Memory64 };

class PciDevice {
 public:
  explicit PciDevice(std::string name);
  virtual ~PciDevice() = default;
  PciDevice(const PciDevice&) = delete;
  PciDevice& operator=(const PciDevice&) = delete;

  const std::string& name() const { return name_; }
  // The -device id= that created it, for query-pci; empty if none.
  const std::string& qdev_id() const { return qdev_id_; }
  void set_qdev_id(std::string id) { qdev_id_ = std::move(id); }

  // Configuration space accesses (size 1, 2 or 4, naturally aligned, inside
  // the 256 bytes); the bus has already decoded bus/device/function.
  uint32_t config_read(unsigned offset, unsigned size);
  void config_write(unsigned offset, unsigned size, uint32_t value);

  // Back to the power-on header: BARs unassigned, decode and bus mastering
  // off, MSI/MSI-X disabled. Devices extend it for their own registers.
  virtual void reset();

  // Saves or loads the header and the INTx# level; a loaded header must
  // keep every read-only bit of this device (its identity, BAR sizes and
  // capability list), else Error. BARs are remapped to the loaded values.
  // Devices extend it with their own registers.
  virtual void serialize(StateStream& s);

  // Where BAR `index` decodes now: its base, or nullopt-like 0 with
  // `mapped` false when it is unassigned or its space is disabled.
  struct BarMapping {
    bool declared = false;
    PciBarKind kind = PciBarKind::Io;
    uint64_t size = 0;
    uint64_t address = 0;   // as programmed
    bool enabled = false;   // decode enabled in the command register and address valid
    BusDevice* handler = nullptr;
  };
  BarMapping bar(unsigned index) const;

  // The machine (or firmware-like set-up) programs a BAR, as firmware would.
  void assign_bar(unsigned index, uint64_t address);
  void set_command(uint16_t command);

  uint8_t interrupt_pin() const { return config_[pci::kInterruptPin]; }

  // Set by PciBus::attach.
  void attach_to_bus(PciBus* bus, uint8_t devfn) {
    bus_ = bus;
    devfn_ = devfn;
  }
  uint8_t devfn() const { return devfn_; }

  // How this device's MSI/MSI-X writes reach the CPUs (machine::send_msi).
  void set_msi_sender(std::function<void(uint64_t address, uint32_t data)> sender) {
    msi_sender_ = std::move(sender);
  }

  // Raw config bytes, for tests and for lspci-like dumps.
  uint8_t config_byte(unsigned offset) const;

 protected:
  // Identity; `class_code` is base class << 16 | sub-class << 8 | prog-if.
  void set_identity(uint16_t vendor, uint16_t device, uint32_t class_code, uint8_t revision,
                    uint16_t subsystem_vendor, uint16_t subsystem, uint8_t header_type = 0);
  // Declares BAR `index` (Memory64 takes index and index + 1); `size` is a
  // power of two (at least 4 for I/O, 16 for memory). Accesses reach `handler`.
  void declare_bar(unsigned index, PciBarKind kind, uint64_t size, BusDevice* handler,
                   bool prefetchable = false);
  // Appends a capability of `length` bytes (id and next pointer included)
  // to the list; returns its offset. Bytes after the two list bytes start
  // read-only and zero; use set_writable() to open them.
  unsigned add_capability(uint8_t id, unsigned length);
  // A 32-bit message address + 16-bit data MSI capability with one vector
  // (PCI 3.0 §6.8.1); returns its offset.
  unsigned add_msi_capability();
  unsigned last_capability() const { return last_capability_; }
  void set_interrupt_pin(uint8_t pin);  // 1 = INTA# ... 4 = INTD#, 0 = none

  void set_writable(unsigned offset, unsigned size, uint32_t mask);
  // The header as it is now becomes what reset() restores (for devices
  // that put_config() their own registers' reset values).
  void capture_reset_image() { reset_image_ = config_; }
  void put_config(unsigned offset, unsigned size, uint32_t value);  // ignores write masks
  uint32_t get_config(unsigned offset, unsigned size) const;

  // Before the guest reads bytes [offset, offset + size), for registers
  // whose value is produced on demand; the header lock is not held, and
  // store_config() may refresh them. Default: nothing.
  virtual void before_config_read(unsigned offset, unsigned size) {
    (void)offset;
    (void)size;
  }
  void store_config(unsigned offset, unsigned size, uint32_t value);  // put_config under the lock
  uint32_t load_config(unsigned offset, unsigned size) const;         // get_config under the lock

  // After the guest changed bytes [offset, offset + size); the header
  // lock is not held. Default: nothing.
  virtual void config_written(unsigned offset, unsigned size) {
    (void)offset;
    (void)size;
  }

  // Drives this function's INTx# pin (respects the command register's
  // interrupt-disable bit and reflects the level in the status register).
  void set_intx(bool level);
  // Sends one message if MSI is enabled; false otherwise (use INTx then).
  bool notify_msi();
  bool msi_enabled() const;
  bool bus_master_enabled() const;
  void send_msi(uint64_t address, uint32_t data);

 private:
  void update_bars();
  void apply_intx();
  uint64_t bar_address_locked(unsigned index) const;

  std::string name_;
  std::string qdev_id_;
  mutable std::mutex config_mutex_;  // guards config_ and the BAR table
  std::array<uint8_t, pci::kConfigSize> config_{};
  std::array<uint8_t, pci::kConfigSize> writable_{};
  std::array<uint8_t, pci::kConfigSize> reset_image_{};  // config_ as built, before the guest ran
  struct Bar {
    bool declared = false;
    PciBarKind kind = PciBarKind::Io;
    uint64_t size = 0;
    BusDevice* handler = nullptr;
    bool mapped = false;  // on the bus at mapped_address
    uint64_t mapped_address = 0;
  };
  std::array<Bar, pci::kBarCount> bars_{};
  unsigned last_capability_ = 0;
  unsigned next_capability_offset_ = 0x40;
  unsigned msi_offset_ = 0;
  bool intx_level_ = false;
  PciBus* bus_ = nullptr;
  uint8_t devfn_ = 0;
  std::function<void(uint64_t, uint32_t)> msi_sender_;
  std::mutex bar_update_mutex_;  // serialises BAR (re)mapping on the buses
};

}  // namespace vireo
