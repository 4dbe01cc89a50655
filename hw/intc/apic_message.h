// An interrupt message between APICs: what the IOAPIC (and a local APIC's
// ICR) send to local APICs over the APIC bus / system bus (Intel SDM vol. 3
// §10.6, 82093AA IOAPIC datasheet §3.2.4).
#pragma once

#include <cstdint>

namespace vireo {

// Delivery modes, with the values of the ICR and redirection-entry fields.
enum class ApicDeliveryMode : uint8_t {
  Fixed = 0,
  LowestPriority = 1,
  Smi = 2,
  Nmi = 4,
  Init = 5,
  Startup = 6,  // ICR only
  ExtInt = 7,   // IOAPIC and LVT only: the vector comes from the 8259A
};

struct ApicMessage {
  uint8_t vector = 0;
  ApicDeliveryMode mode = ApicDeliveryMode::Fixed;
  bool logical_destination = false;  // destination mode: physical (ID) or logical (LDR)
  uint8_t destination = 0;           // 0xff: broadcast in physical and flat/cluster modes
  bool level_triggered = false;
};

// A message-signalled interrupt as PCI devices send it: a dword write of
// `data` to `address` in the 0xFEExxxxx window (Intel SDM vol. 3
// §10.11.1-10.11.2). False if the address is outside that window (the
// write is not an interrupt) or the delivery mode is reserved.
inline bool decode_msi(uint64_t address, uint32_t data, ApicMessage& message) {
  if ((address >> 20) != 0xfee) return false;
  const uint8_t mode = static_cast<uint8_t>((data >> 8) & 7);
  if (mode == 3 || mode == 6) return false;  // reserved (§10.11.2)
  message.vector = static_cast<uint8_t>(data & 0xff);
  message.mode = static_cast<ApicDeliveryMode>(mode);
  message.logical_destination = (address & (1u << 2)) != 0;  // DM
  message.destination = static_cast<uint8_t>((address >> 12) & 0xff);
  message.level_triggered = (data & (1u << 15)) != 0;
  return true;
}

// Whoever delivers messages to the local APICs. All calls happen with the
// interrupt controllers' shared lock held (see ApicBus in hw/intc/lapic.h).
class ApicMessageSink {
 public:
  virtual ~ApicMessageSink() = default;
  virtual void deliver_locked(const ApicMessage& message) = 0;
};

}  // namespace vireo
