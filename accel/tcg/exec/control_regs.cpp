// Control and debug registers and the other privileged instructions:
// MOV CRn/DRn, CLTS, LMSW, SMSW, INVLPG, INVD, WBINVD, and UD2.
// Intel SDM vol. 2; vol. 3 §2.5, §17.2.
#include "accel/tcg/exec/privileged.h"

namespace vireo::tcg {

namespace {

constexpr uint64_t kCr0Ts = 1ull << 3;
constexpr uint64_t kCr4De = 1ull << 3;
constexpr uint64_t kCr4Umip = 1ull << 11;
constexpr uint64_t kDr6Bd = 1ull << 13;
constexpr uint64_t kDr7Gd = 1ull << 13;

// Outside 64-bit mode control and debug registers move 32 bits.
uint64_t register_width_mask(const Cpu& cpu) { return cpu.code_bits == 64 ? ~0ull : 0xffffffffull; }

// MOV to/from CRn and DRn use ModRM.rm as a register whatever mod says.
// The decoder takes mod != 3 as a memory operand; assemblers never emit
// that, and it is refused with #UD rather than misread.
void mov_control_memory_form(Cpu&, const Insn&) { raise_ud(); }

void mov_from_cr(Cpu& cpu, const Insn& i) {  // 0f 20
  require_cpl0(cpu);
  uint64_t value;
  switch (i.reg) {
    case 0: value = cpu.cr0; break;
    case 2: value = cpu.cr2; break;
    case 3: value = cpu.cr3; break;
    case 4: value = cpu.cr4; break;
    case 8:  // only reachable with REX.R, so in 64-bit mode
      value = cpu.interrupts != nullptr ? cpu.interrupts->read_cr8() : cpu.cr8;
      break;
    default: raise_ud();
  }
  cpu.gpr[i.rm] = value & register_width_mask(cpu);
  next(cpu, i);
}

void mov_to_cr(Cpu& cpu, const Insn& i) {  // 0f 22
  require_cpl0(cpu);
  const uint64_t value = cpu.gpr[i.rm] & register_width_mask(cpu);
  switch (i.reg) {
    case 0: write_cr0(cpu, value); break;
    case 2: cpu.cr2 = value; break;
    case 3: write_cr3(cpu, value); break;
    case 4: write_cr4(cpu, value); break;
    case 8: write_cr8(cpu, value); break;
    default: raise_ud();
  }
  next(cpu, i);
  cpu.end_block = true;
}

// The debug register a MOV DR names: DR4/DR5 are DR6/DR7 unless CR4.DE
// makes them #UD; DR7.GD turns the access into a #DB fault with DR6.BD
// (SDM vol. 3 §17.2.2, §17.2.4).
unsigned debug_register(Cpu& cpu, const Insn& i) {
  require_cpl0(cpu);
  unsigned n = i.reg;
  if (n > 7) raise_ud();
  if (n == 4 || n == 5) {
    if (cpu.cr4 & kCr4De) raise_ud();
    n += 2;
  }
  if (cpu.dr[7] & kDr7Gd) {
    cpu.dr[6] |= kDr6Bd;
    cpu.dr[7] &= ~kDr7Gd;
    raise_fault(kDebug);
  }
  return n;
}

void mov_from_dr(Cpu& cpu, const Insn& i) {  // 0f 21
  const unsigned n = debug_register(cpu, i);
  cpu.gpr[i.rm] = cpu.dr[n] & register_width_mask(cpu);
  next(cpu, i);
}

void mov_to_dr(Cpu& cpu, const Insn& i) {  // 0f 23
  const unsigned n = debug_register(cpu, i);
  const uint64_t value = cpu.gpr[i.rm] & register_width_mask(cpu);
  if (n < 4) {
    cpu.dr[n] = value;
  } else {
    // DR6/DR7 bits 63:32 must be 0; their reserved bits read as fixed
    // values (DR6: 1s in 31:16 and 11:4; DR7: bit 10 set, 12/14/15 clear).
    if (value >> 32) raise_gp(0);
    if (n == 6) cpu.dr[6] = (value & 0xe00full) | 0xffff0ff0ull;
    else cpu.dr[7] = (value & 0xffff2bffull) | 0x400ull;
  }
  // Breakpoints in DR0-DR3/DR7 are kept but not raised by this CPU.
  next(cpu, i);
  cpu.end_block = true;
}

void clts(Cpu& cpu, const Insn& i) {  // 0f 06
  require_cpl0(cpu);
  cpu.cr0 &= ~kCr0Ts;
  next(cpu, i);
}

template <bool Mem>
void lmsw(Cpu& cpu, const Insn& i) {  // 0f 01 /6
  require_cpl0(cpu);
  const uint16_t msw = read_rm<uint16_t, Mem>(cpu, i);
  // Only PE, MP, EM and TS load, and PE can be set but not cleared.
  write_cr0(cpu, (cpu.cr0 & ~0xeull) | (msw & 0xfu));
  next(cpu, i);
  cpu.end_block = true;
}

template <typename T, bool Mem>
struct Smsw {  // 0f 01 /4
  static void run(Cpu& cpu, const Insn& i) {
    if ((cpu.cr4 & kCr4Umip) && cpu.cpl > 0) raise_gp(0);
    // Memory gets 16 bits; a register gets CR0 to its operand size (as
    // QEMU and current processors do; the SDM leaves 31:16 undefined).
    if constexpr (Mem) write_rm<uint16_t, true>(cpu, i, static_cast<uint16_t>(cpu.cr0));
    else cpu.set<T>(i.rm, static_cast<T>(cpu.cr0));
    next(cpu, i);
  }
};

void invlpg(Cpu& cpu, const Insn& i) {  // 0f 01 /7
  require_cpl0(cpu);
  // The linear address without segment-limit checks: INVLPG never faults
  // on its operand.
  const uint64_t ea = effective_address(cpu, i);
  uint64_t lin;
  if (cpu.code_bits == 64) lin = ea + (i.seg >= kFs ? cpu.seg[i.seg].base : 0);
  else lin = (cpu.seg[i.seg].base + ea) & 0xffffffffull;
  cpu.flush_tlb_page(lin);
  next(cpu, i);
  cpu.end_block = true;
}

void cache_flush(Cpu& cpu, const Insn& i) {  // 0f 08 invd, 0f 09 wbinvd
  // There are no caches to write back; the block ends as after any
  // serializing instruction.
  require_cpl0(cpu);
  next(cpu, i);
  cpu.end_block = true;
}

void ud2(Cpu&, const Insn&) { raise_ud(); }  // 0f 0b

}  // namespace

void add_control_register_rows(std::vector<OpcodeRow>& t) {
  const HandlerSet from_cr = form_handlers(&mov_from_cr, &mov_control_memory_form);
  const HandlerSet to_cr = form_handlers(&mov_to_cr, &mov_control_memory_form);
  const HandlerSet from_dr = form_handlers(&mov_from_dr, &mov_control_memory_form);
  const HandlerSet to_dr = form_handlers(&mov_to_dr, &mov_control_memory_form);
  t.push_back({op0f(0x20), -1, kAnyPrefix, "mov", "Ry,Cy", kForce64, from_cr});
  t.push_back({op0f(0x22), -1, kAnyPrefix, "mov", "Cy,Ry", kForce64 | kEndsBlock, to_cr});
  t.push_back({op0f(0x21), -1, kAnyPrefix, "mov", "Ry,Dy", kForce64, from_dr});
  t.push_back({op0f(0x23), -1, kAnyPrefix, "mov", "Dy,Ry", kForce64 | kEndsBlock, to_dr});
  t.push_back({op0f(0x06), -1, kAnyPrefix, "clts", "", 0, one_handler(&clts)});
  t.push_back({op0f(0x01), 6, kAnyPrefix, "lmsw", "Ew", kEndsBlock, form_handlers(&lmsw<false>, &lmsw<true>)});
  t.push_back({op0f(0x01), 4, kAnyPrefix, "smsw", "Ev", 0, word_sized_handlers<Smsw>()});
  t.push_back({op0f(0x01), 7, kAnyPrefix, "invlpg", "Mb", kEndsBlock, one_handler(&invlpg)});
  t.push_back({op0f(0x08), -1, kAnyPrefix, "invd", "", kEndsBlock, one_handler(&cache_flush)});
  t.push_back({op0f(0x09), -1, kAnyPrefix, "wbinvd", "", kEndsBlock, one_handler(&cache_flush)});
  t.push_back({op0f(0x0b), -1, kAnyPrefix, "ud2", "", kEndsBlock, one_handler(&ud2)});
  // UD1 and UD0 (SDM vol. 2B "UD"): #UD like UD2, but with a ModRM (and
  // SIB, displacement) that belongs to the instruction: Intel documents
  // "UD1 r32, r/m32" and "UD0 r32, r/m32". The memory operand is never read.
  t.push_back({op0f(0xb9), -1, kAnyPrefix, "ud1", "Gv,Ev", kEndsBlock, one_handler(&ud2)});
  t.push_back({op0f(0xff), -1, kAnyPrefix, "ud0", "Gv,Ev", kEndsBlock, one_handler(&ud2)});
}

}  // namespace vireo::tcg
