// Intel 82093AA I/O APIC at 0xfec00000: 24 interrupt input pins, each
// routed by a redirection-table entry to local APICs as an interrupt
// message. Version 0x11 (the 82093AA's; no EOI register, so remote IRR is
// cleared by the local APICs' EOI broadcast). Register names follow the
// 82093AA datasheet (Intel 290566) §3.
//
// Pins are driven with their logical level (asserted = true); the polarity
// bit is stored and read back but not applied, as in QEMU, whose firmware
// tables describe the same wiring.
//
// Threads: vCPU threads (MMIO, EOI broadcast) and device threads (pins);
// the interrupt controllers' shared mutex guards the state (*_locked
// methods expect it held).
#pragma once

#include <cstdint>
#include <mutex>

#include "hw/core/io_bus.h"
#include "hw/intc/apic_message.h"
#include "util/serialize.h"

namespace vireo {

// The datasheet's registers.
struct IoapicRegisters {
  static constexpr unsigned kPins = 24;
  uint8_t ioregsel = 0;  // IOREGSEL: the register IOWIN reaches
  uint8_t id = 0;        // IOAPICID bits 27:24
  uint64_t redirection[kPins] = {};  // IOREDTBL0-23
  uint32_t pin_levels = 0;           // asserted input pins (not a register: the wires)
};

class Ioapic final : public BusDevice {
 public:
  static constexpr uint64_t kBaseAddress = 0xfec00000;
  static constexpr uint64_t kMmioSize = 0x1000;
  static constexpr unsigned kPins = IoapicRegisters::kPins;

  // MMIO offsets (datasheet §3.1).
  static constexpr uint64_t kIoregsel = 0x00;
  static constexpr uint64_t kIowin = 0x10;

  // Indirect registers selected by IOREGSEL (datasheet §3.2).
  static constexpr uint8_t kRegId = 0x00;
  static constexpr uint8_t kRegVersion = 0x01;
  static constexpr uint8_t kRegArbitration = 0x02;
  static constexpr uint8_t kRegRedirectionTable = 0x10;  // low/high dword pairs, 0x10-0x3f

  static constexpr uint32_t kVersion = 0x11;
  static constexpr uint32_t kVersionValue = ((kPins - 1) << 16) | kVersion;  // max redirection entry, version
  static constexpr unsigned kIdShift = 24;
  static constexpr uint32_t kIdMask = 0x0f000000;

  // Redirection-table entry bits (datasheet §3.2.4).
  static constexpr uint64_t kVectorMask = 0xff;
  static constexpr unsigned kDeliveryModeShift = 8;   // 3 bits: ApicDeliveryMode
  static constexpr uint64_t kDestinationLogical = 1ull << 11;
  static constexpr uint64_t kDeliveryStatus = 1ull << 12;  // read-only; always idle here
  static constexpr uint64_t kPolarityLow = 1ull << 13;
  static constexpr uint64_t kRemoteIrr = 1ull << 14;      // read-only
  static constexpr uint64_t kTriggerLevel = 1ull << 15;
  static constexpr uint64_t kMasked = 1ull << 16;
  static constexpr unsigned kDestinationShift = 56;
  static constexpr uint64_t kReadOnlyBits = kDeliveryStatus | kRemoteIrr;

  Ioapic(std::mutex& irqchip_mutex, ApicMessageSink& local_apics);

  uint64_t read(uint64_t offset, unsigned size) override;
  void write(uint64_t offset, unsigned size, uint64_t value) override;

  // Drives input pin `pin` (0-23).
  void set_irq(unsigned pin, bool level);
  // A local APIC's EOI for a level-triggered `vector` (the EOI broadcast).
  void eoi_locked(uint8_t vector);

  void reset();
  // Saves or loads the registers; throws Error if loaded state is inconsistent.
  void serialize(StateStream& s);

  uint64_t redirection_entry(unsigned pin) const;

 private:
  uint32_t read_register(uint8_t index) const;
  void write_register(uint8_t index, uint32_t value);
  void service_pin_locked(unsigned pin);

  std::mutex& mutex_;
  ApicMessageSink& local_apics_;
  IoapicRegisters regs_;
};

}  // namespace vireo
