#include "hw/pci/pci_bus.h"

#include "hw/pci/pci_device.h"
#include "util/error.h"

namespace vireo {

void PciBus::attach(PciDevice* device, uint8_t devfn) {
  if (devices_[devfn] != nullptr) {
    throw Error("PCI: slot " + std::to_string(devfn >> 3) + " function " + std::to_string(devfn & 7) +
                " not available for " + device->name() + ", in use by " + devices_[devfn]->name());
  }
  devices_[devfn] = device;
  device->attach_to_bus(this, devfn);
}

int PciBus::free_slot(unsigned from) const {
  for (unsigned slot = from; slot < kSlots; ++slot) {
    if (devices_[devfn(slot, 0)] == nullptr) return static_cast<int>(slot);
  }
  return -1;
}

void PciBus::set_intx(uint8_t devfn, uint8_t pin, bool level) {
  if (pin < 1 || pin > 4) return;
  const unsigned pirq = pirq_for(devfn >> 3, pin);
  const unsigned bit = devfn * 4u + (pin - 1u);
  std::lock_guard lock(intx_mutex_);
  uint64_t& word = asserted_[pirq][bit / 64];
  const uint64_t mask = 1ull << (bit % 64);
  word = level ? (word | mask) : (word & ~mask);
  bool any = false;
  for (uint64_t w : asserted_[pirq]) any = any || w != 0;
  if (any == pirq_levels_[pirq]) return;
  pirq_levels_[pirq] = any;
  // Under intx_mutex_ so that level changes reach the interrupt
  // controllers in the order they happened.
  if (pirq_handler_) pirq_handler_(pirq, any);
}

bool PciBus::pirq_level(unsigned pirq) const {
  std::lock_guard lock(intx_mutex_);
  return pirq < kPirqCount && pirq_levels_[pirq];
}

uint32_t PciBus::config_read(uint8_t devfn, unsigned offset, unsigned size) {
  PciDevice* d = devices_[devfn];
  // Functions other than 0 exist only if function 0 does (PCI 3.0 §6.2.1);
  // an absent function's vendor ID reads as all ones (master abort).
  if (d == nullptr || devices_[devfn & ~7u] == nullptr) return size == 4 ? 0xffffffff : (1u << (8 * size)) - 1;
  return d->config_read(offset, size);
}

void PciBus::config_write(uint8_t devfn, unsigned offset, unsigned size, uint32_t value) {
  PciDevice* d = devices_[devfn];
  if (d == nullptr || devices_[devfn & ~7u] == nullptr) return;
  d->config_write(offset, size, value);
}

void PciBus::reset() {
  for (PciDevice* d : devices_) {
    if (d != nullptr) d->reset();
  }
}

uint64_t PciConfigPorts::read(uint64_t offset, unsigned size) {
  std::lock_guard lock(mutex_);
  if (offset == 0 && size == 4) return config_address_;
  if (offset == 1 && size == 1) return reset_control_;
  if (offset < 4) return (1ull << (8 * size)) - 1;
  if (!(config_address_ & kEnable)) return (1ull << (8 * size)) - 1;
  const uint8_t bus = static_cast<uint8_t>(config_address_ >> 16);
  if (bus != 0) return (1ull << (8 * size)) - 1;  // no bridges: only bus 0 exists
  const uint8_t devfn = static_cast<uint8_t>(config_address_ >> 8);
  const unsigned reg = (config_address_ & 0xfc) + static_cast<unsigned>(offset - 4);
  return bus_.config_read(devfn, reg, size);
}

void PciConfigPorts::write(uint64_t offset, unsigned size, uint64_t value) {
  std::unique_lock lock(mutex_);
  if (offset == 0 && size == 4) {
    // Bits 30:24 are reserved and bits 1:0 read as zero (§3.2.2.3.2).
    config_address_ = static_cast<uint32_t>(value) & 0x80fffffc;
    return;
  }
  if (offset == 1 && size == 1) {
    reset_control_ = static_cast<uint8_t>(value & 0x02);
    if (value & 0x04) {
      lock.unlock();
      control_.request_reset();
    }
    return;
  }
  if (offset < 4 || !(config_address_ & kEnable)) return;
  if (static_cast<uint8_t>(config_address_ >> 16) != 0) return;
  const uint8_t devfn = static_cast<uint8_t>(config_address_ >> 8);
  const unsigned reg = (config_address_ & 0xfc) + static_cast<unsigned>(offset - 4);
  bus_.config_write(devfn, reg, size, static_cast<uint32_t>(value));
}

void PciConfigPorts::reset() {
  std::lock_guard lock(mutex_);
  config_address_ = 0;
  reset_control_ = 0;
}

}  // namespace vireo
