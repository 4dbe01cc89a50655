#include "hw/intc/ioapic.h"

#include "util/error.h"

namespace vireo {

namespace {

IoapicRegisters reset_registers(uint32_t pin_levels) {
  IoapicRegisters r;
  for (uint64_t& entry : r.redirection) entry = Ioapic::kMasked;  // datasheet: all masked after reset
  r.pin_levels = pin_levels;  // the wires keep whatever devices drive
  return r;
}

}  // namespace

Ioapic::Ioapic(std::mutex& irqchip_mutex, ApicMessageSink& local_apics)
    : mutex_(irqchip_mutex), local_apics_(local_apics), regs_(reset_registers(0)) {}

void Ioapic::reset() {
  std::lock_guard lock(mutex_);
  regs_ = reset_registers(regs_.pin_levels);
}

uint64_t Ioapic::redirection_entry(unsigned pin) const {
  std::lock_guard lock(mutex_);
  return pin < kPins ? regs_.redirection[pin] : 0;
}

uint64_t Ioapic::read(uint64_t offset, unsigned size) {
  std::lock_guard lock(mutex_);
  uint64_t size_mask = size >= 8 ? ~0ull : (1ull << (8 * size)) - 1;
  switch (offset) {
    case kIoregsel:
      return regs_.ioregsel & size_mask;
    case kIowin:
      return read_register(regs_.ioregsel) & size_mask;
    default:
      return 0;
  }
}

void Ioapic::write(uint64_t offset, unsigned size, uint64_t value) {
  std::lock_guard lock(mutex_);
  switch (offset) {
    case kIoregsel:
      regs_.ioregsel = static_cast<uint8_t>(value);
      break;
    case kIowin:
      // The datasheet allows only 32-bit accesses to IOWIN.
      if (size == 4) write_register(regs_.ioregsel, static_cast<uint32_t>(value));
      break;
    default:
      break;
  }
}

uint32_t Ioapic::read_register(uint8_t index) const {
  switch (index) {
    case kRegId:
      return uint32_t{regs_.id} << kIdShift;
    case kRegVersion:
      return kVersionValue;
    case kRegArbitration:  // the arbitration ID is loaded from the ID
      return uint32_t{regs_.id} << kIdShift;
    default:
      if (index >= kRegRedirectionTable && index < kRegRedirectionTable + 2 * kPins) {
        unsigned pin = (index - kRegRedirectionTable) / 2u;
        bool high = (index - kRegRedirectionTable) & 1u;
        return static_cast<uint32_t>(regs_.redirection[pin] >> (high ? 32 : 0));
      }
      return 0;
  }
}

void Ioapic::write_register(uint8_t index, uint32_t value) {
  switch (index) {
    case kRegId:
      regs_.id = static_cast<uint8_t>((value & kIdMask) >> kIdShift);
      return;
    case kRegVersion:
    case kRegArbitration:
      return;  // read-only
    default:
      break;
  }
  if (index < kRegRedirectionTable || index >= kRegRedirectionTable + 2 * kPins) return;
  unsigned pin = (index - kRegRedirectionTable) / 2u;
  uint64_t& entry = regs_.redirection[pin];
  if ((index - kRegRedirectionTable) & 1u) {
    entry = (entry & 0xffffffffull) | (uint64_t{value} << 32);
    return;
  }
  uint64_t low = (value & ~kReadOnlyBits) | (entry & kReadOnlyBits & 0xffffffffull);
  // Remote IRR means nothing for an edge-triggered entry; switching to edge
  // clears it. Linux relies on this to clear a stuck remote IRR on version
  // 0x11 IOAPICs, which have no EOI register.
  if (!(low & kTriggerLevel)) low &= ~kRemoteIrr;
  entry = (entry & ~0xffffffffull) | low;
  // An unmasked level-triggered pin that is asserted delivers now; an
  // edge that came while masked is gone.
  if (low & kTriggerLevel) service_pin_locked(pin);
}

void Ioapic::set_irq(unsigned pin, bool level) {
  if (pin >= kPins) return;
  std::lock_guard lock(mutex_);
  uint32_t bit = 1u << pin;
  bool was_asserted = regs_.pin_levels & bit;
  regs_.pin_levels = level ? (regs_.pin_levels | bit) : (regs_.pin_levels & ~bit);
  if (regs_.redirection[pin] & kTriggerLevel) {
    service_pin_locked(pin);
  } else if (level && !was_asserted) {
    service_pin_locked(pin);  // a rising edge; a masked one is lost (datasheet §3.2.4, bit 16)
  }
}

void Ioapic::service_pin_locked(unsigned pin) {
  uint64_t& entry = regs_.redirection[pin];
  if (entry & kMasked) return;
  bool level_triggered = entry & kTriggerLevel;
  if (level_triggered) {
    if (!(regs_.pin_levels & (1u << pin)) || (entry & kRemoteIrr)) return;
    // Set until the local APIC's EOI for this vector comes back.
    entry |= kRemoteIrr;
  }
  ApicMessage message;
  message.vector = static_cast<uint8_t>(entry & kVectorMask);
  message.mode = static_cast<ApicDeliveryMode>((entry >> kDeliveryModeShift) & 7);
  message.logical_destination = entry & kDestinationLogical;
  message.destination = static_cast<uint8_t>(entry >> kDestinationShift);
  message.level_triggered = level_triggered;
  local_apics_.deliver_locked(message);
}

void Ioapic::eoi_locked(uint8_t vector) {
  for (unsigned pin = 0; pin < kPins; ++pin) {
    uint64_t& entry = regs_.redirection[pin];
    if ((entry & kRemoteIrr) && (entry & kVectorMask) == vector) {
      entry &= ~kRemoteIrr;
      service_pin_locked(pin);  // still asserted: deliver again
    }
  }
}

void Ioapic::serialize(StateStream& s) {
  std::lock_guard lock(mutex_);
  s(regs_.ioregsel);
  s(regs_.id);
  s(regs_.redirection);
  s(regs_.pin_levels);
  if (!s.loading()) return;
  bool consistent = regs_.id < 16 && regs_.pin_levels < (1u << kPins);
  for (uint64_t entry : regs_.redirection) {
    consistent = consistent && !(entry & kDeliveryStatus) && (!(entry & kRemoteIrr) || (entry & kTriggerLevel));
  }
  if (!consistent) throw Error("saved state: inconsistent IOAPIC registers");
}

}  // namespace vireo
