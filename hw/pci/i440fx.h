// The Intel 82441FX PCI and memory controller (i440FX "PMC") at 00.0: the
// host bridge QEMU's pc machine has. Only its identity matters to a guest
// here; the PAM/SMRAM registers that shadow the BIOS are not modelled (the
// machine maps its firmware once and never shadows it), so they read as 0.
#pragma once

#include "hw/pci/pci_device.h"

namespace vireo {

class I440fxHostBridge final : public PciDevice {
 public:
  static constexpr uint16_t kVendorIntel = 0x8086;
  static constexpr uint16_t kDevice82441 = 0x1237;
  static constexpr uint32_t kClassHostBridge = 0x060000;

  I440fxHostBridge() : PciDevice("i440FX") {
    // Revision 2 and QEMU's subsystem IDs (Red Hat's 1af4:1100), as `info
    // pci` shows them on qemu-system-x86_64 -M pc.
    set_identity(kVendorIntel, kDevice82441, kClassHostBridge, 0x02, 0x1af4, 0x1100);
  }
};

}  // namespace vireo
