#include "hw/pci/piix3.h"

namespace vireo {

Piix3::Piix3(std::function<void(unsigned irq, bool level)> set_isa_irq)
    : PciDevice("PIIX3"), set_isa_irq_(std::move(set_isa_irq)) {
  // QEMU's pc: function 0 of a multi-function device (IDE is 01.1 there).
  set_identity(0x8086, 0x7000, 0x060100, 0x00, 0x1af4, 0x1100, pci::kHeaderMultiFunction);
  for (unsigned i = 0; i < 4; ++i) put_config(kPirqRouteControl + i, 1, kRouteDisabled);
  set_writable(kPirqRouteControl, 4, 0x8f8f8f8f);  // bits 6:4 are reserved
  capture_reset_image();
  Piix3::reset();
}

int Piix3::routed_irq(unsigned pirq) {
  if (pirq >= 4) return -1;
  const uint8_t route = config_byte(kPirqRouteControl + pirq);
  const unsigned irq = route & kRouteIrqMask;
  // IRQs 0-2, 8 and 13 are reserved in PIRQRC (datasheet §2.2.11): the
  // timer, keyboard, cascade, RTC and FPU lines cannot take a PCI interrupt.
  if ((route & kRouteDisabled) || irq < 3 || irq == 8 || irq == 13) return -1;
  return static_cast<int>(irq);
}

void Piix3::set_pirq(unsigned pirq, bool level) {
  if (pirq >= 4) return;
  std::lock_guard lock(mutex_);
  pirq_levels_[pirq] = level;
  update_isa_lines_locked();
}

void Piix3::config_written(unsigned offset, unsigned size) {
  if (offset + size > kPirqRouteControl && offset < kPirqRouteControl + 4) {
    std::lock_guard lock(mutex_);
    update_isa_lines_locked();
  }
}

void Piix3::update_isa_lines_locked() {
  std::array<bool, 16> wanted{};
  for (unsigned pirq = 0; pirq < 4; ++pirq) {
    const int irq = routed_irq(pirq);
    // Several PIRQs on one IRQ share it, wired-OR (level-triggered).
    if (irq >= 0 && pirq_levels_[pirq]) wanted[static_cast<unsigned>(irq)] = true;
  }
  // Lines that drop go first, so a re-routed PIRQ leaves its old IRQ
  // before it appears on the new one.
  for (bool level : {false, true}) {
    for (unsigned irq = 0; irq < 16; ++irq) {
      if (wanted[irq] == level && isa_levels_[irq] != level) {
        isa_levels_[irq] = level;
        if (set_isa_irq_) set_isa_irq_(irq, level);
      }
    }
  }
}

void Piix3::serialize(StateStream& s) {
  PciDevice::serialize(s);
  std::lock_guard lock(mutex_);
  for (bool& level : pirq_levels_) s(level);
  if (s.loading()) update_isa_lines_locked();
}

void Piix3::reset() {
  PciDevice::reset();
  std::lock_guard lock(mutex_);
  update_isa_lines_locked();
}

}  // namespace vireo
