// "info registers": a vCPU's state in the layout QEMU 7.2's x86 CPU dump
// prints with the FPU part (target/i386/cpu-dump.c's behaviour): 64-bit
// registers when CS is a 64-bit code segment, 32-bit ones otherwise;
// segment caches with their DPL and type; descriptor tables, control and
// debug registers, EFER, then x87, MXCSR and the XMM (or YMM) registers.
#pragma once

#include <string>

#include "accel/cpu_state.h"

namespace vireo {

struct RegisterDumpOptions {
  // Under tcg QEMU keeps a segment's descriptor attributes as loaded from
  // the descriptor table, the limit's bits 19:16 included; under kvm it
  // rebuilds them from KVM's fields, without the limit bits.
  bool limit_bits_in_flags = true;
};

std::string format_x86_registers(const X86CpuState& s, const X86DumpState& d, const RegisterDumpOptions& options);

}  // namespace vireo
