// The kvm accelerator: guest code runs on the host CPU through /dev/kvm
// (Documentation/virt/kvm/api.rst), with the in-kernel irqchip (PIC,
// IOAPIC, LAPIC) and PIT.
#pragma once

#include <memory>

#include "accel/accel.h"

namespace vireo {

// Throws Error saying why KVM cannot be used ("/dev/kvm: No such file or
// directory", an API version mismatch, a missing capability).
std::unique_ptr<Accelerator> create_kvm_accelerator();

}  // namespace vireo
