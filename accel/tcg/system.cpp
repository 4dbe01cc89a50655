#include "accel/tcg/system.h"

#include "accel/tcg/cpuid.h"
#include "accel/tcg/descriptors.h"
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
  if (!protected_mode(cpu) || virtual_8086(cpu)) {
    load_segment_real(cpu, segment, selector);
    if (segment == kCs) cpu.update_mode();
    return;
  }
  // CS is loaded only by far transfers, interrupts and returns, which
  // check it themselves (descriptors.h, exec/far_transfers.cpp).
  const unsigned rpl = selector & 3u;
  const uint32_t error = selector_error(selector, false);
  if (is_null_selector(selector)) {
    if (segment == kSs) {
      // Only 64-bit mode below ring 3 may run on a null SS, and only with
      // RPL = CPL (SDM vol. 2 "MOV", "POP", 64-bit mode notes).
      if (cpu.code_bits != 64 || cpu.cpl == 3 || rpl != cpu.cpl) raise_gp(0);
      cpu.seg[kSs] = null_segment(selector, cpu.cpl);
      return;
    }
    // A null DS/ES/FS/GS loads fine and faults on use.
    cpu.seg[segment] = null_segment(selector);
    return;
  }
  Descriptor d;
  uint64_t address;
  if (!read_descriptor(cpu, selector, d, &address)) raise_gp(error);
  if (segment == kSs) {
    if (rpl != cpu.cpl || !d.writable_data() || d.dpl() != cpu.cpl) raise_gp(error);
    if (!d.present()) raise_fault(kStackFault, error);
  } else {
    // Data or readable code; data and non-conforming code also need
    // CPL and RPL no more privileged than DPL numerically allows.
    if (!d.s() || !d.readable()) raise_gp(error);
    if (!d.conforming() && (rpl > d.dpl() || cpu.cpl > d.dpl())) raise_gp(error);
    if (!d.present()) raise_fault(kSegmentNotPresent, error);
  }
  set_accessed(cpu, address, d);
  cpu.seg[segment] = segment_cache(d, selector);
}

namespace {

// CR4 bits (SDM vol. 3 §2.5).
constexpr uint64_t kCr4Tsd = 1ull << 2, kCr4De = 1ull << 3, kCr4Pse = 1ull << 4,
                   kCr4Mce = 1ull << 6, kCr4Pge = 1ull << 7, kCr4Pce = 1ull << 8,
                   kCr4Osfxsr = 1ull << 9, kCr4Osxmmexcpt = 1ull << 10, kCr4Umip = 1ull << 11,
                   kCr4Fsgsbase = 1ull << 16, kCr4Osxsave = 1ull << 18;
// A CR0 change of these bits changes how linear addresses translate.
constexpr uint64_t kCr0TranslationBits = kCr0Pe | kCr0Pg | kCr0Wp;

}  // namespace

uint64_t cr4_writable_bits(const Cpu& cpu) {
  // Always there, whatever the model: what paging, RDTSC/RDPMC and the
  // FXSAVE/exception paths consult. PGE is accepted; global pages are
  // flushed like the others, which the SDM allows.
  uint64_t bits = kCr4Tsd | kCr4Pse | kCr4Pae | kCr4Mce | kCr4Pge | kCr4Pce | kCr4Osfxsr |
                  kCr4Osxmmexcpt;
  // The rest as CPUID advertises them (VME/PVI, PCIDE, SMEP and SMAP are
  // not implemented, so never advertised, so reserved).
  const CpuFeatures f = guest_features(cpu.model);
  if (f.leaf1_edx & cpuid::kDe) bits |= kCr4De;
  if (f.leaf1_ecx & cpuid::kXsave) bits |= kCr4Osxsave;
  if (f.leaf7_ebx & 1u) bits |= kCr4Fsgsbase;     // CPUID.7.0:EBX.FSGSBASE[0]
  if (f.leaf7_ecx & (1u << 2)) bits |= kCr4Umip;  // CPUID.7.0:ECX.UMIP[2]
  return bits;
}

void write_cr0(Cpu& cpu, uint64_t value) {
  // Bits 63:32 are reserved; PG needs PE; NW needs CD (SDM vol. 2 "MOV
  // to CR0" faults). ET is hardwired to 1 on every processor since P6.
  if (value >> 32) raise_gp(0);
  value |= kCr0Et;
  if ((value & kCr0Pg) && !(value & kCr0Pe)) raise_gp(0);
  if ((value & kCr0Nw) && !(value & kCr0Cd)) raise_gp(0);
  uint64_t efer = cpu.efer;
  const bool paging_on = value & kCr0Pg, was_on = cpu.cr0 & kCr0Pg;
  if (paging_on && !was_on && (efer & kEferLme)) {
    // Activating IA-32e mode (SDM vol. 3 §9.8.5): PAE must be on, and the
    // code running must not be a 64-bit segment yet.
    if (!(cpu.cr4 & kCr4Pae) || cpu.seg[kCs].l) raise_gp(0);
    efer |= kEferLma;
  }
  if (!paging_on && was_on && (efer & kEferLma)) {
    // Leaving IA-32e mode is done from compatibility mode (§9.8.5.4).
    if (cpu.code_bits == 64) raise_gp(0);
    efer &= ~kEferLma;
  }
  const uint64_t changed = cpu.cr0 ^ value;
  cpu.cr0 = value;
  cpu.efer = efer;
  // Real mode runs at CPL 0; entering protected mode keeps CPL 0 until
  // the first far transfer loads a protected-mode CS.
  if (!(value & kCr0Pe)) cpu.cpl = 0;
  cpu.update_mode();
  if (changed & kCr0TranslationBits) cpu.flush_tlb();
  cpu.end_block = true;
}

void write_cr3(Cpu& cpu, uint64_t value) {
  // In IA-32e mode the bits above MAXPHYADDR are reserved (no PCIDE, so
  // bit 63 too); outside it only 32 bits exist.
  if (cpu.long_mode) {
    if (value >> kPhysicalAddressBits) raise_gp(0);
  } else {
    value &= 0xffffffffull;
  }
  cpu.cr3 = value;
  cpu.flush_tlb();
  cpu.end_block = true;
}

void write_cr4(Cpu& cpu, uint64_t value) {
  if (value & ~cr4_writable_bits(cpu)) raise_gp(0);
  // PAE cannot be turned off while IA-32e mode is active.
  if (cpu.long_mode && !(value & kCr4Pae)) raise_gp(0);
  cpu.cr4 = value;
  cpu.flush_tlb();
  cpu.end_block = true;
}

void write_cr8(Cpu& cpu, uint64_t value) {
  // CR8 is the task-priority register: bits 3:0 (SDM vol. 3 §10.8.6.1).
  // With a local APIC it is that APIC's TPR[7:4] (SDM vol. 3 §10.8.6.1), so
  // the APIC page and CR8 show the same priority.
  if (value & ~0xfull) raise_gp(0);
  cpu.cr8 = value;
  if (cpu.interrupts != nullptr) cpu.interrupts->write_cr8(value);
  cpu.end_block = true;  // a lower priority may let an interrupt through
}

void write_efer(Cpu& cpu, uint64_t value) {
  uint64_t writable = kEferLma;  // LMA is written as anything and ignored
  const CpuFeatures f = guest_features(cpu.model);
  if (f.ext1_edx & cpuid::kSyscall) writable |= kEferSce;
  if (f.ext1_edx & cpuid::kLm) writable |= kEferLme;
  if (f.ext1_edx & cpuid::kNx) writable |= kEferNxe;
  if (value & ~writable) raise_gp(0);
  // LME cannot change while paging is on (SDM vol. 3 §9.8.5).
  if ((cpu.cr0 & kCr0Pg) && ((value ^ cpu.efer) & kEferLme)) raise_gp(0);
  const uint64_t changed = (value ^ cpu.efer) & ~kEferLma;
  cpu.efer = (value & ~kEferLma) | (cpu.efer & kEferLma);
  cpu.update_mode();
  if (changed & kEferNxe) cpu.flush_tlb();
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

}  // namespace vireo::tcg
