#include "accel/tcg/system.h"

#include "accel/tcg/exec/operands.h"

namespace vireo::tcg {

void load_segment_real(Cpu& cpu, unsigned segment, uint16_t selector) {
  SegmentCache& s = cpu.seg[segment];
  s.selector = selector;
  s.base = uint64_t{selector} << 4;
  s.unusable = false;
  s.present = true;
  if (cpu.rflags & kVm) {
    // Virtual-8086 mode reloads the whole cache (SDM vol. 3 §20.1.1).
    s.limit = 0xffff;
    s.type = segment == kCs ? 0xb : 0x3;
    s.s = true;
    s.dpl = 3;
    s.db = false;
    s.g = false;
    s.l = false;
  }
}

void load_segment(Cpu& cpu, unsigned segment, uint16_t selector) {
  if (!(cpu.cr0 & kCr0Pe) || (cpu.rflags & kVm)) {
    load_segment_real(cpu, segment, selector);
    if (segment == kCs) cpu.update_mode();
    return;
  }
  // Protected-mode descriptor loading is part of the system family.
  raise_gp(selector & 0xfffc);
}

void deliver_interrupt(Cpu& cpu, uint8_t vector, bool has_error_code, uint32_t error_code,
                       bool software, uint64_t return_rip) {
  (void)has_error_code;
  (void)error_code;
  (void)software;
  if (!(cpu.cr0 & kCr0Pe)) {
    // Real mode: the IVT at IDTR.base holds 4-byte far pointers
    // (SDM vol. 3 §20.1.4); push FLAGS, CS, IP; clear IF, TF, AC.
    uint64_t entry = uint64_t{vector} * 4;
    if (entry + 3 > cpu.idtr.limit) raise_gp(0);
    uint16_t ip = cpu.read_system<uint16_t>(cpu.idtr.base + entry);
    uint16_t cs = cpu.read_system<uint16_t>(cpu.idtr.base + entry + 2);
    push<uint16_t>(cpu, static_cast<uint16_t>(cpu.flags()));
    push<uint16_t>(cpu, cpu.seg[kCs].selector);
    push<uint16_t>(cpu, static_cast<uint16_t>(return_rip));
    cpu.set_flags(cpu.flags() & ~(kIf | kTf | kAc | kRf));
    load_segment_real(cpu, kCs, cs);
    cpu.rip = ip;
    cpu.end_block = true;
    return;
  }
  // Protected and long mode delivery is part of the system family.
  throw TripleFault{};
}

void write_cr0(Cpu& cpu, uint64_t value) {
  cpu.cr0 = value | kCr0Et;
  cpu.update_mode();
  cpu.flush_tlb();
  cpu.end_block = true;
}

void write_cr3(Cpu& cpu, uint64_t value) {
  cpu.cr3 = value;
  cpu.flush_tlb();
  cpu.end_block = true;
}

void write_cr4(Cpu& cpu, uint64_t value) {
  cpu.cr4 = value;
  cpu.flush_tlb();
  cpu.end_block = true;
}

void write_apic_base(Cpu& cpu, uint64_t value) {
  cpu.apic_base = value;
  if (cpu.interrupts) cpu.interrupts->apic_base_changed(value);
  cpu.flush_tlb();  // the APIC page may have moved over cached translations
  cpu.end_block = true;
}

void enter_init_state(Cpu& cpu) {
  X86CpuState s = power_on_cpu_state(cpu.model ? cpu.model->signature() : 0x600,
                                     cpu.apic_base & (1ull << 8));
  s.apic_base = cpu.apic_base;
  FpuState fpu = cpu.fpu;
  Msrs msr = cpu.msr;
  cpu.load_state(s);
  cpu.fpu = fpu;
  cpu.msr = msr;
  cpu.waiting_for_sipi = !(cpu.apic_base & (1ull << 8));
  cpu.halted = false;
  cpu.nmi_blocked = false;
  cpu.end_block = true;
}

void start_from_sipi(Cpu& cpu, uint8_t vector) {
  SegmentCache& cs = cpu.seg[kCs];
  cs.selector = static_cast<uint16_t>(vector << 8);
  cs.base = uint64_t{vector} << 12;
  cs.limit = 0xffff;
  cpu.rip = 0;
  cpu.waiting_for_sipi = false;
  cpu.halted = false;
  cpu.update_mode();
  cpu.end_block = true;
}

void write_efer(Cpu& cpu, uint64_t value) {
  cpu.efer = (value & ~kEferLma) | (cpu.efer & kEferLma);
  cpu.update_mode();
  cpu.flush_tlb();
  cpu.end_block = true;
}

}  // namespace vireo::tcg
