// The Intel 82371SB PIIX3 PCI-to-ISA bridge at 01.0 (function 0 only; the
// IDE and USB functions are not modelled). What matters to a guest is the
// PIRQ route control registers PIRQRC[A:D] at 0x60-0x63 (82371SB datasheet
// §2.2.11): each routes one of the PCI PIRQ lines to an ISA IRQ of the
// 8259A pair, or nowhere when bit 7 is set (the reset value 0x80).
//
// Threads: configuration writes (vCPU threads) and PIRQ level changes
// (device threads) both go through mutex_; the ISA line is driven under it,
// so changes reach the PIC in order.
#pragma once

#include <array>
#include <functional>
#include <mutex>

#include "hw/pci/pci_device.h"

namespace vireo {

class Piix3 final : public PciDevice {
 public:
  static constexpr unsigned kPirqRouteControl = 0x60;  // PIRQRCA, B, C, D at 0x60-0x63
  static constexpr uint8_t kRouteDisabled = 0x80;
  static constexpr uint8_t kRouteIrqMask = 0x0f;

  // `set_isa_irq` drives an ISA IRQ line (the machine's set_irq for 0-15).
  explicit Piix3(std::function<void(unsigned irq, bool level)> set_isa_irq);

  // A PCI PIRQ line (0 = PIRQA#) changed level.
  void set_pirq(unsigned pirq, bool level);
  void reset() override;
  void serialize(StateStream& s) override;

  // The ISA IRQ a PIRQ is routed to, or -1.
  int routed_irq(unsigned pirq);

 protected:
  void config_written(unsigned offset, unsigned size) override;

 private:
  void update_isa_lines_locked();

  std::function<void(unsigned, bool)> set_isa_irq_;
  std::mutex mutex_;
  std::array<bool, 4> pirq_levels_{};
  std::array<bool, 16> isa_levels_{};  // what we last drove on each ISA IRQ
};

}  // namespace vireo
