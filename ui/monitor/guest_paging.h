// Guest-virtual to guest-physical translation for the monitor (x, memsave):
// walks the page tables the vCPU's CR0/CR4/EFER select, reading them
// through GuestMemory, exactly as the MMU would but without setting
// accessed/dirty bits or raising faults. Intel SDM vol. 3 §4.3 (32-bit),
// §4.4 (PAE), §4.5 (4-level).
#pragma once

#include <cstdint>
#include <optional>

#include "accel/cpu_state.h"

namespace vireo {

class GuestMemory;

// nullopt if the address is not mapped (or a table lies outside RAM).
std::optional<uint64_t> translate_guest_virtual(const GuestMemory& memory, const X86CpuState& cpu,
                                                uint64_t virtual_address);

}  // namespace vireo
