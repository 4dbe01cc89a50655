// PCI bus 0 of the pc machine and configuration mechanism #1 (PCI Local
// Bus Specification 3.0 §3.2.2.3.2): CONFIG_ADDRESS at port 0xCF8 selects
// bus/device/function/register, CONFIG_DATA at 0xCFC-0xCFF reaches it
// with byte, word or dword accesses.
//
// The bus owns the device table (by devfn), gives the devices' BARs the
// machine's port and memory buses, and merges INTx# pins into the four
// PIRQ lines with the usual swizzle: PIRQ = (slot + pin - 1) mod 4, the
// wiring QEMU's pc (and its DSDT's _PRT) assume.
//
// Threads: vCPU threads reach the ports; mutex_ serialises configuration
// cycles (a CONFIG_ADDRESS write and the CONFIG_DATA access after it are
// one guest's business; Linux takes its own pci_config_lock around the
// pair). intx_mutex_ guards the PIRQ levels, taken by device threads.
#pragma once

#include <array>
#include <cstdint>
#include <functional>
#include <mutex>

#include "hw/core/io_bus.h"
#include "hw/core/run_control.h"

namespace vireo {

class PciDevice;

class PciBus {
 public:
  static constexpr unsigned kSlots = 32;
  static constexpr unsigned kFunctions = 8;
  static constexpr unsigned kPirqCount = 4;

  PciBus(IoBus& pio, IoBus& mmio) : pio_(pio), mmio_(mmio) {}

  static uint8_t devfn(unsigned slot, unsigned function) { return static_cast<uint8_t>(slot << 3 | function); }

  // Throws Error if the slot/function is taken.
  void attach(PciDevice* device, uint8_t devfn);
  PciDevice* device(uint8_t devfn) const { return devices_[devfn]; }
  // The lowest slot >= `from` with nothing in function 0, or -1.
  int free_slot(unsigned from) const;

  IoBus& pio() { return pio_; }
  IoBus& mmio() { return mmio_; }

  // Where PIRQ levels go (the machine: PIIX3 routing and IOAPIC pins).
  void set_pirq_handler(std::function<void(unsigned pirq, bool level)> handler) {
    pirq_handler_ = std::move(handler);
  }
  static unsigned pirq_for(unsigned slot, uint8_t pin) { return (slot + pin - 1u) % kPirqCount; }
  // A device's INTx# pin (1-4) changed level.
  void set_intx(uint8_t devfn, uint8_t pin, bool level);
  bool pirq_level(unsigned pirq) const;

  // Configuration cycle on bus 0: all ones from an absent function.
  uint32_t config_read(uint8_t devfn, unsigned offset, unsigned size);
  void config_write(uint8_t devfn, unsigned offset, unsigned size, uint32_t value);

  void reset();

 private:
  IoBus& pio_;
  IoBus& mmio_;
  std::array<PciDevice*, kSlots * kFunctions> devices_{};
  mutable std::mutex intx_mutex_;
  // One bit per (devfn, pin) asserting each PIRQ; a PIRQ is the wired-OR.
  std::array<std::array<uint64_t, kSlots * kFunctions * 4 / 64>, kPirqCount> asserted_{};
  std::array<bool, kPirqCount> pirq_levels_{};
  std::function<void(unsigned, bool)> pirq_handler_;
};

// The ports at 0xCF8-0xCFF: CONFIG_ADDRESS (dword at 0xCF8), the PIIX3
// reset control register (byte at 0xCF9, 82371SB datasheet §4.1.4: bit 2
// resets, bit 1 selects a hard reset) and CONFIG_DATA (0xCFC-0xCFF).
class PciConfigPorts final : public BusDevice {
 public:
  static constexpr uint64_t kBasePort = 0xcf8;
  static constexpr uint64_t kSize = 8;
  static constexpr uint32_t kEnable = 1u << 31;

  PciConfigPorts(PciBus& bus, RunControl& control) : bus_(bus), control_(control) {}
  uint64_t read(uint64_t offset, unsigned size) override;
  void write(uint64_t offset, unsigned size, uint64_t value) override;
  void reset();

 private:
  PciBus& bus_;
  RunControl& control_;
  std::mutex mutex_;
  uint32_t config_address_ = 0;  // CONFIG_ADDRESS
  uint8_t reset_control_ = 0;    // RC at 0xCF9
};

}  // namespace vireo
