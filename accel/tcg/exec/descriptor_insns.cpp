// Descriptor-table instructions: LGDT/LIDT/SGDT/SIDT, LLDT/SLDT, LTR/STR,
// LAR/LSL/VERR/VERW and ARPL (Intel SDM vol. 2; vol. 3 §2.4, §5.10, §7.2.4).
#include "accel/tcg/exec/privileged.h"

namespace vireo::tcg {

namespace {

constexpr uint64_t kCr4Umip = 1ull << 11;

// With CR4.UMIP, the instructions that reveal system state fault outside
// ring 0 (SDM vol. 3 §2.5): SGDT, SIDT, SLDT, STR, SMSW.
void check_umip(const Cpu& cpu) {
  if ((cpu.cr4 & kCr4Umip) && cpu.cpl > 0) raise_gp(0);
}

// LGDT/LIDT m16&32 (m16&24 with a 16-bit operand), m16&64 in 64-bit mode.
template <bool Idt>
void load_table_register(Cpu& cpu, const Insn& i) {
  require_cpl0(cpu);
  const uint64_t ea = effective_address(cpu, i);
  const uint16_t limit = cpu.read<uint16_t>(i.seg, ea);
  const uint64_t base_ea = wrap_address(ea + 2, i.addr_bits);
  uint64_t base;
  if (cpu.code_bits == 64) {
    base = cpu.read<uint64_t>(i.seg, base_ea);
  } else {
    base = cpu.read<uint32_t>(i.seg, base_ea);
    if (i.op_bits == 16) base &= 0xffffff;
  }
  (Idt ? cpu.idtr : cpu.gdtr) = DescriptorTableReg{base, limit};
  next(cpu, i);
}

// SGDT/SIDT: the limit, then 8 base bytes in 64-bit mode, else 4 (of which
// a 16-bit operand size keeps 24 bits and stores 0 in the fourth byte).
template <bool Idt>
void store_table_register(Cpu& cpu, const Insn& i) {
  check_umip(cpu);
  const DescriptorTableReg& table = Idt ? cpu.idtr : cpu.gdtr;
  const uint64_t ea = effective_address(cpu, i);
  const uint64_t base_ea = wrap_address(ea + 2, i.addr_bits);
  cpu.write<uint16_t>(i.seg, ea, table.limit);
  if (cpu.code_bits == 64) {
    cpu.write<uint64_t>(i.seg, base_ea, table.base);
  } else {
    uint64_t base = i.op_bits == 16 ? table.base & 0xffffff : table.base;
    cpu.write<uint32_t>(i.seg, base_ea, static_cast<uint32_t>(base));
  }
  next(cpu, i);
}

// SLDT/STR: a register destination takes the selector zero-extended to
// the operand size, memory takes 16 bits.
template <bool TaskRegister>
struct StoreSystemSelector {
  template <typename T, bool Mem>
  struct Form {
    static void run(Cpu& cpu, const Insn& i) {
      require_protected_mode(cpu);
      check_umip(cpu);
      uint16_t selector = TaskRegister ? cpu.tr.selector : cpu.ldtr.selector;
      if constexpr (Mem) write_rm<uint16_t, true>(cpu, i, selector);
      else cpu.set<T>(i.rm, static_cast<T>(selector));
      next(cpu, i);
    }
  };
};
template <typename T, bool Mem> using Sldt = StoreSystemSelector<false>::Form<T, Mem>;
template <typename T, bool Mem> using Str = StoreSystemSelector<true>::Form<T, Mem>;

// A 16-byte IA-32e system descriptor's upper type field must be zero.
bool upper_half_valid(const Cpu& cpu, const Descriptor& d) {
  return !cpu.long_mode || ((d.upper_high >> 8) & 0x1f) == 0;
}

template <bool Mem>
void lldt(Cpu& cpu, const Insn& i) {  // 0f 00 /2
  require_protected_mode(cpu);
  require_cpl0(cpu);
  const uint16_t selector = read_rm<uint16_t, Mem>(cpu, i);
  const uint32_t error = selector_error(selector, false);
  if (is_null_selector(selector)) {
    // A null LDTR makes every LDT reference fault.
    cpu.ldtr = null_segment(selector);
    next(cpu, i);
    return;
  }
  if (selector & 4) raise_gp(error);  // the LDT is described in the GDT
  Descriptor d;
  if (!read_descriptor(cpu, selector, d, nullptr, cpu.long_mode)) raise_gp(error);
  if (d.s() || d.type() != kLdtDescriptor || !upper_half_valid(cpu, d)) raise_gp(error);
  if (!d.present()) raise_fault(kSegmentNotPresent, error);
  cpu.ldtr = segment_cache(d, selector);
  next(cpu, i);
}

template <bool Mem>
void ltr(Cpu& cpu, const Insn& i) {  // 0f 00 /3
  require_protected_mode(cpu);
  require_cpl0(cpu);
  const uint16_t selector = read_rm<uint16_t, Mem>(cpu, i);
  const uint32_t error = selector_error(selector, false);
  if (is_null_selector(selector)) raise_gp(0);
  if (selector & 4) raise_gp(error);
  Descriptor d;
  uint64_t address;
  if (!read_descriptor(cpu, selector, d, &address, cpu.long_mode)) raise_gp(error);
  // An available TSS: 32-bit (64-bit in IA-32e mode) or, outside IA-32e
  // mode, 16-bit.
  const bool available = d.type() == kTss32Available || (!cpu.long_mode && d.type() == kTss16Available);
  if (d.s() || !available || !upper_half_valid(cpu, d)) raise_gp(error);
  if (!d.present()) raise_fault(kSegmentNotPresent, error);
  // LTR marks the TSS busy in the GDT (SDM vol. 3 §7.2.4).
  d.high |= uint32_t{kTssBusy} << 8;
  cpu.write_system<uint8_t>(address + 5, static_cast<uint8_t>(d.high >> 8));
  cpu.tr = segment_cache(d, selector);
  next(cpu, i);
}

// Whether the current CPL and `selector`'s RPL may see descriptor `d` for
// LAR/LSL/VERR/VERW: conforming code always, anything else with
// DPL >= max(CPL, RPL).
bool visible(const Cpu& cpu, const Descriptor& d, uint16_t selector) {
  return d.conforming() || (d.dpl() >= cpu.cpl && d.dpl() >= (selector & 3u));
}

template <bool Write, bool Mem>
void verify(Cpu& cpu, const Insn& i) {  // 0f 00 /4 verr, /5 verw
  require_protected_mode(cpu);
  const uint16_t selector = read_rm<uint16_t, Mem>(cpu, i);
  Descriptor d;
  bool ok = !is_null_selector(selector) && read_descriptor(cpu, selector, d) && d.s() &&
            visible(cpu, d, selector) && (Write ? d.writable_data() : d.readable());
  cpu.set_arithmetic_flags(kZf, ok ? kZf : 0);
  next(cpu, i);
}

// System descriptor types LAR and LSL accept (SDM vol. 2 "LAR", "LSL").
bool lar_type_ok(const Cpu& cpu, uint8_t type, bool limit) {
  switch (type) {
    case kLdtDescriptor:
    case kTss32Available:
    case kTss32Busy:
      return true;
    case kCallGate32:
      return !limit;
    case kTss16Available:
    case kTss16Busy:
      return !cpu.long_mode;
    case kCallGate16:
    case kTaskGate:
      return !limit && !cpu.long_mode;
    default:
      return false;
  }
}

template <bool Limit>
struct LoadAccessInfo {  // 0f 02 lar, 0f 03 lsl
  template <typename T, bool Mem>
  struct Form {
    static void run(Cpu& cpu, const Insn& i) {
      require_protected_mode(cpu);
      const uint16_t selector = read_rm<uint16_t, Mem>(cpu, i);
      Descriptor d;
      bool ok = !is_null_selector(selector) && read_descriptor(cpu, selector, d) &&
                (d.s() || lar_type_ok(cpu, d.type(), Limit)) && visible(cpu, d, selector);
      if (ok) {
        // LAR: the attribute bytes (bits 23:8 of the high dword, masked);
        // LSL: the expanded limit. Wider destinations are zero-extended.
        uint32_t value = Limit ? d.limit() : (d.high & 0x00f0ff00u);
        cpu.set<T>(i.reg, static_cast<T>(value));
      }
      cpu.set_arithmetic_flags(kZf, ok ? kZf : 0);
      next(cpu, i);
    }
  };
};
template <typename T, bool Mem> using Lar = LoadAccessInfo<false>::Form<T, Mem>;
template <typename T, bool Mem> using Lsl = LoadAccessInfo<true>::Form<T, Mem>;

template <bool Mem>
void arpl(Cpu& cpu, const Insn& i) {  // 63 (outside 64-bit mode)
  require_protected_mode(cpu);
  const uint16_t dest = read_rm<uint16_t, Mem>(cpu, i);
  const uint16_t src = cpu.get<uint16_t>(i.reg);
  if ((dest & 3) < (src & 3)) {
    write_rm<uint16_t, Mem>(cpu, i, static_cast<uint16_t>((dest & ~3u) | (src & 3u)));
    cpu.set_arithmetic_flags(kZf, kZf);
  } else {
    cpu.set_arithmetic_flags(kZf, 0);
  }
  next(cpu, i);
}

}  // namespace

void add_descriptor_rows(std::vector<OpcodeRow>& t) {
  t.push_back({op0f(0x01), 0, kAnyPrefix, "sgdt", "Ms", 0, one_handler(&store_table_register<false>)});
  t.push_back({op0f(0x01), 1, kAnyPrefix, "sidt", "Ms", 0, one_handler(&store_table_register<true>)});
  t.push_back({op0f(0x01), 2, kAnyPrefix, "lgdt", "Ms", kEndsBlock, one_handler(&load_table_register<false>)});
  t.push_back({op0f(0x01), 3, kAnyPrefix, "lidt", "Ms", kEndsBlock, one_handler(&load_table_register<true>)});
  t.push_back({op0f(0x00), 0, kAnyPrefix, "sldt", "Ev", 0, word_sized_handlers<Sldt>()});
  t.push_back({op0f(0x00), 1, kAnyPrefix, "str", "Ev", 0, word_sized_handlers<Str>()});
  t.push_back({op0f(0x00), 2, kAnyPrefix, "lldt", "Ew", kEndsBlock, form_handlers(&lldt<false>, &lldt<true>)});
  t.push_back({op0f(0x00), 3, kAnyPrefix, "ltr", "Ew", kEndsBlock, form_handlers(&ltr<false>, &ltr<true>)});
  t.push_back({op0f(0x00), 4, kAnyPrefix, "verr", "Ew", 0, form_handlers(&verify<false, false>, &verify<false, true>)});
  t.push_back({op0f(0x00), 5, kAnyPrefix, "verw", "Ew", 0, form_handlers(&verify<true, false>, &verify<true, true>)});
  t.push_back({op0f(0x02), -1, kAnyPrefix, "lar", "Gv,Ew", 0, word_sized_handlers<Lar>()});
  t.push_back({op0f(0x03), -1, kAnyPrefix, "lsl", "Gv,Ew", 0, word_sized_handlers<Lsl>()});
  t.push_back({op1(0x63), -1, kAnyPrefix, "arpl", "Ew,Gw", kInvalid64, form_handlers(&arpl<false>, &arpl<true>)});
}

}  // namespace vireo::tcg
