#include "hw/pci/pci_device.h"

#include <cstring>

#include "hw/pci/pci_bus.h"
#include "util/error.h"
#include "util/log.h"

namespace vireo {

namespace {

RateLimitedLog bar_log;

// Bits of the command register a guest may change (PCI 3.0 §6.2.2): I/O,
// memory, bus master, parity error response, SERR#, interrupt disable.
constexpr uint16_t kCommandWritable = pci::kCommandIoEnable | pci::kCommandMemoryEnable |
                                      pci::kCommandBusMaster | (1u << 6) | pci::kCommandSerr |
                                      pci::kCommandInterruptDisable;

// MSI capability layout with 32-bit addresses (PCI 3.0 §6.8.1.1).
constexpr unsigned kMsiControl = 2;
constexpr unsigned kMsiAddress = 4;
constexpr unsigned kMsiData = 8;
constexpr unsigned kMsiLength = 12;
constexpr uint16_t kMsiEnable = 1u << 0;

}  // namespace

PciDevice::PciDevice(std::string name) : name_(std::move(name)) {
  set_writable(pci::kCommand, 2, kCommandWritable);
  set_writable(pci::kCacheLineSize, 1, 0xff);
  set_writable(pci::kLatencyTimer, 1, 0xff);
  set_writable(pci::kInterruptLine, 1, 0xff);
}

void PciDevice::set_identity(uint16_t vendor, uint16_t device, uint32_t class_code, uint8_t revision,
                             uint16_t subsystem_vendor, uint16_t subsystem, uint8_t header_type) {
  put_config(pci::kVendorId, 2, vendor);
  put_config(pci::kDeviceId, 2, device);
  put_config(pci::kRevisionId, 1, revision);
  put_config(pci::kClassProgIf, 1, class_code & 0xff);
  put_config(pci::kClassProgIf + 1, 2, (class_code >> 8) & 0xffff);
  put_config(pci::kHeaderType, 1, header_type);
  put_config(pci::kSubsystemVendorId, 2, subsystem_vendor);
  put_config(pci::kSubsystemId, 2, subsystem);
  reset_image_ = config_;
}

void PciDevice::declare_bar(unsigned index, PciBarKind kind, uint64_t size, BusDevice* handler,
                            bool prefetchable) {
  const unsigned slots = kind == PciBarKind::Memory64 ? 2 : 1;
  const uint64_t minimum = kind == PciBarKind::Io ? 4 : 16;
  if (index + slots > pci::kBarCount || size < minimum || (size & (size - 1)) != 0 ||
      (kind != PciBarKind::Memory64 && size > (1ull << 31))) {
    throw Error(name_ + ": invalid BAR " + std::to_string(index));
  }
  Bar& bar = bars_[index];
  bar.declared = true;
  bar.kind = kind;
  bar.size = size;
  bar.handler = handler;
  const unsigned offset = pci::kBar0 + 4 * index;
  uint32_t flags = kind == PciBarKind::Io ? pci::kBarIo : 0;
  if (kind == PciBarKind::Memory64) flags |= pci::kBarMem64;
  if (prefetchable && kind != PciBarKind::Io) flags |= pci::kBarPrefetchable;
  put_config(offset, 4, flags);
  // The size shows as the address bits that do not stick (§6.2.5.1).
  const uint32_t low_flag_bits = kind == PciBarKind::Io ? 0x3 : 0xf;
  set_writable(offset, 4, static_cast<uint32_t>(~(size - 1)) & ~low_flag_bits);
  if (kind == PciBarKind::Memory64) set_writable(offset + 4, 4, static_cast<uint32_t>(~(size - 1) >> 32));
  reset_image_ = config_;
}

unsigned PciDevice::add_capability(uint8_t id, unsigned length) {
  const unsigned offset = next_capability_offset_;
  if (length < 2 || offset + length > pci::kConfigSize) throw Error(name_ + ": capability list full");
  put_config(offset, 1, id);
  put_config(offset + 1, 1, 0);
  if (last_capability_ == 0) {
    put_config(pci::kCapabilitiesPointer, 1, offset);
    put_config(pci::kStatus, 2, get_config(pci::kStatus, 2) | pci::kStatusCapabilities);
  } else {
    put_config(last_capability_ + 1, 1, offset);
  }
  last_capability_ = offset;
  // Capabilities are dword aligned (§6.7).
  next_capability_offset_ = (offset + length + 3) & ~3u;
  reset_image_ = config_;
  return offset;
}

unsigned PciDevice::add_msi_capability() {
  msi_offset_ = add_capability(pci::kCapMsi, kMsiLength);
  set_writable(msi_offset_ + kMsiControl, 2, kMsiEnable);
  set_writable(msi_offset_ + kMsiAddress, 4, 0xfffffffc);
  set_writable(msi_offset_ + kMsiData, 2, 0xffff);
  return msi_offset_;
}

void PciDevice::set_interrupt_pin(uint8_t pin) {
  put_config(pci::kInterruptPin, 1, pin);
  reset_image_ = config_;
}

void PciDevice::set_writable(unsigned offset, unsigned size, uint32_t mask) {
  for (unsigned i = 0; i < size; ++i) writable_[offset + i] = static_cast<uint8_t>(mask >> (8 * i));
}

void PciDevice::put_config(unsigned offset, unsigned size, uint32_t value) {
  for (unsigned i = 0; i < size; ++i) config_[offset + i] = static_cast<uint8_t>(value >> (8 * i));
}

uint32_t PciDevice::get_config(unsigned offset, unsigned size) const {
  uint32_t value = 0;
  for (unsigned i = 0; i < size; ++i) value |= uint32_t{config_[offset + i]} << (8 * i);
  return value;
}

uint8_t PciDevice::config_byte(unsigned offset) const {
  std::lock_guard lock(config_mutex_);
  return offset < pci::kConfigSize ? config_[offset] : 0xff;
}

void PciDevice::store_config(unsigned offset, unsigned size, uint32_t value) {
  std::lock_guard lock(config_mutex_);
  put_config(offset, size, value);
}

uint32_t PciDevice::load_config(unsigned offset, unsigned size) const {
  std::lock_guard lock(config_mutex_);
  return get_config(offset, size);
}

uint32_t PciDevice::config_read(unsigned offset, unsigned size) {
  if (size == 0 || size > 4 || offset >= pci::kConfigSize || size > pci::kConfigSize - offset) {
    return 0xffffffff;
  }
  before_config_read(offset, size);
  std::lock_guard lock(config_mutex_);
  return get_config(offset, size);
}

void PciDevice::config_write(unsigned offset, unsigned size, uint32_t value) {
  if (size == 0 || size > 4 || offset >= pci::kConfigSize || size > pci::kConfigSize - offset) return;
  bool bars_touched = false;
  bool command_touched = false;
  {
    std::lock_guard lock(config_mutex_);
    for (unsigned i = 0; i < size; ++i) {
      const unsigned at = offset + i;
      const uint8_t mask = writable_[at];
      const uint8_t byte = static_cast<uint8_t>(value >> (8 * i));
      config_[at] = static_cast<uint8_t>((config_[at] & ~mask) | (byte & mask));
      if (at >= pci::kBar0 && at < pci::kBar0 + 4 * pci::kBarCount) bars_touched = true;
      if (at == pci::kCommand || at == pci::kCommand + 1) command_touched = true;
    }
  }
  if (bars_touched || command_touched) update_bars();
  if (command_touched) apply_intx();
  config_written(offset, size);
}

void PciDevice::serialize(StateStream& s) {
  {
    std::lock_guard lock(config_mutex_);
    std::array<uint8_t, pci::kConfigSize> header = config_;
    bool intx = intx_level_;
    s(header);
    s(intx);
    if (s.loading()) {
      for (unsigned i = 0; i < pci::kConfigSize; ++i) {
        // The status register's interrupt bit follows the INTx# level.
        const uint8_t device_owned = i == pci::kStatus ? static_cast<uint8_t>(pci::kStatusInterrupt) : 0;
        const uint8_t fixed = static_cast<uint8_t>(~writable_[i] & ~device_owned);
        if ((header[i] & fixed) != (reset_image_[i] & fixed)) {
          throw Error("saved state: PCI header byte " + std::to_string(i) + " does not match " + name_);
        }
      }
      config_ = header;
      intx_level_ = intx;
    }
  }
  if (s.loading()) {
    update_bars();
    apply_intx();
  }
}

void PciDevice::reset() {
  {
    std::lock_guard lock(config_mutex_);
    config_ = reset_image_;
  }
  update_bars();
  set_intx(false);
}

uint64_t PciDevice::bar_address_locked(unsigned index) const {
  const Bar& bar = bars_[index];
  const unsigned offset = pci::kBar0 + 4 * index;
  uint64_t raw = get_config(offset, 4);
  if (bar.kind == PciBarKind::Memory64) raw |= uint64_t{get_config(offset + 4, 4)} << 32;
  return raw & ~(bar.kind == PciBarKind::Io ? uint64_t{0x3} : uint64_t{0xf});
}

PciDevice::BarMapping PciDevice::bar(unsigned index) const {
  BarMapping m;
  if (index >= pci::kBarCount) return m;
  std::lock_guard lock(config_mutex_);
  const Bar& b = bars_[index];
  m.declared = b.declared;
  m.kind = b.kind;
  m.size = b.size;
  m.handler = b.handler;
  if (b.declared) m.address = bar_address_locked(index);
  m.enabled = b.mapped;
  return m;
}

void PciDevice::assign_bar(unsigned index, uint64_t address) {
  {
    std::lock_guard lock(config_mutex_);
    const unsigned offset = pci::kBar0 + 4 * index;
    const uint32_t flags = get_config(offset, 4) & (bars_[index].kind == PciBarKind::Io ? 0x3 : 0xf);
    put_config(offset, 4, static_cast<uint32_t>(address) | flags);
    if (bars_[index].kind == PciBarKind::Memory64) put_config(offset + 4, 4, static_cast<uint32_t>(address >> 32));
  }
  update_bars();
}

void PciDevice::set_command(uint16_t command) { config_write(pci::kCommand, 2, command); }

void PciDevice::update_bars() {
  if (bus_ == nullptr) return;
  std::lock_guard update_lock(bar_update_mutex_);
  for (unsigned i = 0; i < pci::kBarCount; ++i) {
    uint64_t address;
    bool decode;
    Bar snapshot;
    {
      std::lock_guard lock(config_mutex_);
      snapshot = bars_[i];
      if (!snapshot.declared) continue;
      address = bar_address_locked(i);
      const uint16_t command = static_cast<uint16_t>(get_config(pci::kCommand, 2));
      decode = snapshot.kind == PciBarKind::Io ? (command & pci::kCommandIoEnable) != 0
                                               : (command & pci::kCommandMemoryEnable) != 0;
    }
    // An address is usable if it is assigned (not 0), is not the all-ones
    // pattern left behind by BAR sizing, and lies inside the space: the
    // 64 KiB port space, 4 GiB for a 32-bit BAR, 2^48 (what an x86-64 CPU
    // can address) for a 64-bit one.
    const uint64_t sizing_pattern = ~(snapshot.size - 1) &
        (snapshot.kind == PciBarKind::Io ? 0xffffull : snapshot.kind == PciBarKind::Memory32 ? 0xffffffffull : (1ull << 48) - 1);
    const uint64_t limit = snapshot.kind == PciBarKind::Io ? 0x10000 : snapshot.kind == PciBarKind::Memory32 ? (1ull << 32) : (1ull << 48);
    const bool usable = decode && address != 0 && address < limit && snapshot.size <= limit - address &&
                        (address & sizing_pattern) != sizing_pattern;
    IoBus& space = snapshot.kind == PciBarKind::Io ? bus_->pio() : bus_->mmio();
    if (snapshot.mapped && (!usable || snapshot.mapped_address != address)) {
      space.remove(snapshot.mapped_address, snapshot.handler);
      std::lock_guard lock(config_mutex_);
      bars_[i].mapped = false;
    }
    if (usable && !(snapshot.mapped && snapshot.mapped_address == address)) {
      try {
        space.add(address, snapshot.size, snapshot.handler, name_);
        std::lock_guard lock(config_mutex_);
        bars_[i].mapped = true;
        bars_[i].mapped_address = address;
      } catch (const Error& e) {
        // The guest placed the BAR on top of another device: it stays
        // unmapped (real hardware would decode both and conflict).
        bar_log.warn(name_ + ": BAR " + std::to_string(i) + " not mapped: " + e.what());
      }
    }
  }
}

void PciDevice::set_intx(bool level) {
  {
    std::lock_guard lock(config_mutex_);
    intx_level_ = level;
  }
  apply_intx();
}

void PciDevice::apply_intx() {
  bool effective;
  uint8_t pin;
  {
    std::lock_guard lock(config_mutex_);
    uint16_t status = static_cast<uint16_t>(get_config(pci::kStatus, 2));
    status = intx_level_ ? (status | pci::kStatusInterrupt) : (status & ~pci::kStatusInterrupt);
    put_config(pci::kStatus, 2, status);
    const uint16_t command = static_cast<uint16_t>(get_config(pci::kCommand, 2));
    effective = intx_level_ && !(command & pci::kCommandInterruptDisable);
    pin = config_[pci::kInterruptPin];
  }
  if (bus_ != nullptr && pin >= 1 && pin <= 4) bus_->set_intx(devfn_, pin, effective);
}

bool PciDevice::msi_enabled() const {
  std::lock_guard lock(config_mutex_);
  return msi_offset_ != 0 && (get_config(msi_offset_ + kMsiControl, 2) & kMsiEnable) != 0;
}

bool PciDevice::bus_master_enabled() const {
  std::lock_guard lock(config_mutex_);
  return (get_config(pci::kCommand, 2) & pci::kCommandBusMaster) != 0;
}

bool PciDevice::notify_msi() {
  uint32_t address;
  uint32_t data;
  {
    std::lock_guard lock(config_mutex_);
    if (msi_offset_ == 0 || !(get_config(msi_offset_ + kMsiControl, 2) & kMsiEnable)) return false;
    address = get_config(msi_offset_ + kMsiAddress, 4);
    data = get_config(msi_offset_ + kMsiData, 2);
  }
  send_msi(address, data);
  return true;
}

void PciDevice::send_msi(uint64_t address, uint32_t data) {
  // An MSI is a memory write by the device: no bus mastering, no message
  // (PCI 3.0 §6.8.1.3).
  if (!bus_master_enabled()) return;
  if (msi_sender_) msi_sender_(address, data);
}

}  // namespace vireo
