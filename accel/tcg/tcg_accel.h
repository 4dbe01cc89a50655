// The tcg accelerator (QEMU's name for its software CPU): an x86-64
// interpreter with pre-decoded blocks and a software TLB.
#pragma once

#include <memory>

#include "accel/accel.h"

namespace vireo {

std::unique_ptr<Accelerator> create_tcg_accelerator();

}  // namespace vireo
