#include "accel/cpu_state.h"

namespace vireo {

X86CpuState power_on_cpu_state(uint32_t processor_signature, bool bootstrap_processor) {
  X86CpuState s;
  s.rip = 0xfff0;
  s.rflags = kRflagsFixed;
  s.gpr[kRdx] = processor_signature;
  for (SegmentCache& seg : s.segment) {
    seg = SegmentCache{};  // base 0, limit 0xffff, present read/write data
  }
  SegmentCache& cs = s.segment[kCs];
  cs.selector = 0xf000;
  cs.base = 0xffff0000;
  cs.type = 0xb;  // execute/read, accessed
  s.ldtr = SegmentCache{};
  s.ldtr.type = 2;  // LDT
  s.ldtr.s = false;
  s.tr = SegmentCache{};
  s.tr.type = 0xb;  // busy 32-bit TSS, as KVM and QEMU report after reset
  s.tr.s = false;
  s.gdtr = {0, 0xffff};
  s.idtr = {0, 0xffff};
  s.cr0 = kCr0Et | kCr0Cd | kCr0Nw;
  // IA32_APIC_BASE after reset: 0xfee00000, enabled, BSP flag on CPU 0.
  s.apic_base = 0xfee00000ull | (1ull << 11) | (bootstrap_processor ? 1ull << 8 : 0);
  s.waiting_for_sipi = !bootstrap_processor;
  return s;
}

}  // namespace vireo
