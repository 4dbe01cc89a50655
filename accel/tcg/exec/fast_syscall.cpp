// Fast system calls: SYSCALL/SYSRET, SYSENTER/SYSEXIT and SWAPGS (Intel
// SDM vol. 2; AMD APM vol. 3). None of them reads a descriptor: CS and SS
// get fixed flat descriptors from the selectors in STAR / SYSENTER_CS,
// and the operating system is trusted to have matching GDT entries.
//
// Vendor differences, followed as the guest's CPUID vendor says:
// - SYSCALL/SYSRET: AMD also runs them outside 64-bit mode (legacy mode
//   and compatibility mode, the path 32-bit programs take under a 64-bit
//   Linux on AMD); Intel raises #UD there.
// - SYSENTER/SYSEXIT: AMD raises #UD in long mode; Intel allows them.
// - SYSRET to a non-canonical RCX: Intel raises #GP(0) in ring 0; done
//   for AMD too (AMD would fault on the fetch at CPL 3 instead), since
//   both end in #GP and the guest kernel must never let it happen.
// - SYSRET's SS: loaded with flat attributes as Intel documents and QEMU
//   does (AMD keeps the old SS attributes apart from the selector).
#include <utility>

#include "accel/tcg/cpuid.h"
#include "accel/tcg/exec/families.h"
#include "accel/tcg/exec/operands.h"

namespace vireo::tcg {

namespace {

// RFLAGS bits SYSRET keeps from R11 (SDM vol. 2 "SYSRET": R11 AND 3C7FD7H,
// i.e. not RF, VM or the reserved bits).
constexpr uint64_t kSysretFlagsMask = 0x3c7fd7;

bool is_canonical(uint64_t a) {
  constexpr unsigned shift = 64 - kLinearAddressBits;
  return static_cast<uint64_t>(static_cast<int64_t>(a << shift) >> shift) == a;
}

bool pe_enabled(const Cpu& cpu) { return cpu.cr0 & kCr0Pe; }

enum class SegKind { Code32, Code64, Data };

// The flat segment these instructions load: base 0, 4 GiB limit, accessed
// execute/read code or read/write data.
SegmentCache flat_segment(uint16_t selector, SegKind kind, unsigned dpl) {
  SegmentCache s;
  s.selector = selector;
  s.base = 0;
  s.limit = 0xffffffff;
  s.type = kind == SegKind::Data ? 0x3 : 0xb;
  s.dpl = static_cast<uint8_t>(dpl);
  s.present = true;
  s.s = true;
  s.db = kind != SegKind::Code64;
  s.l = kind == SegKind::Code64;
  s.g = true;
  s.avl = false;
  s.unusable = false;
  return s;
}

void enter_ring(Cpu& cpu, unsigned cpl, const SegmentCache& cs, const SegmentCache& ss, uint64_t target) {
  cpu.seg[kCs] = cs;
  cpu.seg[kSs] = ss;
  cpu.cpl = cpl;
  cpu.update_mode();
  jump(cpu, target);
}

void require_sce(const Cpu& cpu) {
  if (!(cpu.efer & kEferSce)) raise_ud();
  if (is_intel(cpu) && cpu.code_bits != 64) raise_ud();
}

// 0F 05.
void syscall(Cpu& cpu, const Insn& i) {
  require_sce(cpu);
  const uint16_t selector = static_cast<uint16_t>(cpu.msr.star >> 32) & 0xfffc;
  const uint64_t next_rip = cpu.rip + i.length;
  const uint64_t flags = cpu.flags();
  const SegmentCache ss = flat_segment(static_cast<uint16_t>(selector + 8), SegKind::Data, 0);
  if (cpu.long_mode) {
    // RCX and R11 keep the return point; SFMASK clears flags (IF, TF, DF, AC...).
    const uint64_t target = cpu.code_bits == 64 ? cpu.msr.lstar : cpu.msr.cstar;
    cpu.gpr[kRcx] = next_rip;
    cpu.gpr[kR11] = flags & ~kRf;
    cpu.set_flags(flags & ~(cpu.msr.sfmask & 0xffffffffull) & ~kRf);
    enter_ring(cpu, 0, flat_segment(selector, SegKind::Code64, 0), ss, target);
  } else {
    // Legacy mode (AMD): ECX keeps the return point; the flags are not saved.
    cpu.gpr[kRcx] = next_rip & 0xffffffffull;
    cpu.set_flags(flags & ~(kIf | kRf | kVm));
    enter_ring(cpu, 0, flat_segment(selector, SegKind::Code32, 0), ss, cpu.msr.star & 0xffffffffull);
  }
}

// 0F 07; REX.W returns to 64-bit mode.
void sysret(Cpu& cpu, const Insn& i) {
  require_sce(cpu);
  if (!pe_enabled(cpu) || cpu.cpl != 0) raise_gp(0);
  const uint16_t selector = static_cast<uint16_t>(cpu.msr.star >> 48);
  const SegmentCache ss = flat_segment(static_cast<uint16_t>((selector + 8) | 3), SegKind::Data, 3);
  if (cpu.long_mode) {
    const bool to_64 = i.op_bits == 64;
    const uint64_t target = to_64 ? cpu.gpr[kRcx] : cpu.gpr[kRcx] & 0xffffffffull;
    if (!is_canonical(target)) raise_gp(0);
    cpu.set_flags((cpu.gpr[kR11] & kSysretFlagsMask) | kRflagsFixed);
    const SegmentCache cs = to_64 ? flat_segment(static_cast<uint16_t>((selector + 16) | 3), SegKind::Code64, 3)
                                  : flat_segment(static_cast<uint16_t>(selector | 3), SegKind::Code32, 3);
    enter_ring(cpu, 3, cs, ss, target);
  } else {
    // Legacy mode (AMD): back to 32-bit code with interrupts enabled.
    cpu.set_flags(cpu.flags() | kIf);
    enter_ring(cpu, 3, flat_segment(static_cast<uint16_t>(selector | 3), SegKind::Code32, 3), ss,
               cpu.gpr[kRcx] & 0xffffffffull);
  }
}

void require_sysenter(const Cpu& cpu) {
  if (!is_intel(cpu) && cpu.long_mode) raise_ud();
  // A null SYSENTER_CS (bits 15:2 zero) means the OS has not set it up.
  if (!pe_enabled(cpu) || (cpu.msr.sysenter_cs & 0xfffc) == 0) raise_gp(0);
}

// 0F 34.
void sysenter(Cpu& cpu, const Insn&) {
  require_sysenter(cpu);
  const uint16_t selector = static_cast<uint16_t>(cpu.msr.sysenter_cs & 0xfffc);
  const bool ia32e = cpu.long_mode;
  cpu.set_flags(cpu.flags() & ~(kVm | kIf | kRf));
  cpu.gpr[kRsp] = ia32e ? cpu.msr.sysenter_esp : cpu.msr.sysenter_esp & 0xffffffffull;
  const uint64_t target = ia32e ? cpu.msr.sysenter_eip : cpu.msr.sysenter_eip & 0xffffffffull;
  enter_ring(cpu, 0, flat_segment(selector, ia32e ? SegKind::Code64 : SegKind::Code32, 0),
             flat_segment(static_cast<uint16_t>(selector + 8), SegKind::Data, 0), target);
}

// 0F 35; REX.W returns to 64-bit mode.
void sysexit(Cpu& cpu, const Insn& i) {
  require_sysenter(cpu);
  if (cpu.cpl != 0) raise_gp(0);
  const uint16_t base = static_cast<uint16_t>(cpu.msr.sysenter_cs);
  const bool to_64 = i.op_bits == 64;
  uint64_t stack = cpu.gpr[kRcx], target = cpu.gpr[kRdx];
  if (to_64) {
    if (!is_canonical(stack) || !is_canonical(target)) raise_gp(0);
  } else {
    stack &= 0xffffffffull;
    target &= 0xffffffffull;
  }
  const uint16_t cs_selector = static_cast<uint16_t>((base + (to_64 ? 32 : 16)) | 3);
  cpu.gpr[kRsp] = stack;
  enter_ring(cpu, 3, flat_segment(cs_selector, to_64 ? SegKind::Code64 : SegKind::Code32, 3),
             flat_segment(static_cast<uint16_t>(cs_selector + 8), SegKind::Data, 3), target);
}

// 0F 01 F8 (64-bit mode only, by its row).
void swapgs(Cpu& cpu, const Insn& i) {
  if (cpu.cpl != 0) raise_gp(0);
  std::swap(cpu.seg[kGs].base, cpu.msr.kernel_gs_base);
  next(cpu, i);
}

}  // namespace

void add_fast_syscall_rows(std::vector<OpcodeRow>& t) {
  t.push_back({op0f(0x05), -1, kAnyPrefix, "syscall", "", kEndsBlock, one_handler(&syscall)});
  t.push_back({op0f(0x07), -1, kAnyPrefix, "sysret", "", kEndsBlock, one_handler(&sysret)});
  t.push_back({op0f(0x34), -1, kAnyPrefix, "sysenter", "", kEndsBlock, one_handler(&sysenter)});
  t.push_back({op0f(0x35), -1, kAnyPrefix, "sysexit", "", kEndsBlock, one_handler(&sysexit)});
  t.push_back({op0f(0x01), 7, kAnyPrefix, "swapgs", "", kOnly64, one_handler(&swapgs), 0});
}

}  // namespace vireo::tcg
