#include "ui/monitor/register_dump.h"

#include <cinttypes>
#include <cstdarg>
#include <cstdio>

namespace vireo {

namespace {

void append(std::string& out, const char* format, ...) __attribute__((format(printf, 2, 3)));
void append(std::string& out, const char* format, ...) {
  char b[256];
  va_list args;
  va_start(args, format);
  std::vsnprintf(b, sizeof b, format, args);
  va_end(args);
  out += b;
}

// The descriptor's attribute dword as QEMU keeps it (bits 8-23 of the
// descriptor's high dword): type, S, DPL, P, limit 19:16, AVL, L, D/B, G.
uint32_t descriptor_flags(const SegmentCache& c, const RegisterDumpOptions& options) {
  if (c.unusable && !c.present) return 0;
  uint32_t flags = uint32_t{c.type & 0xfu} << 8 | (c.s ? 1u : 0) << 12 | uint32_t{c.dpl & 3u} << 13 |
                   (c.present ? 1u : 0) << 15 | (c.avl ? 1u : 0) << 20 | (c.l ? 1u : 0) << 21 |
                   (c.db ? 1u : 0) << 22 | (c.g ? 1u : 0) << 23;
  if (options.limit_bits_in_flags) {
    const uint32_t raw_limit = c.g ? c.limit >> 12 : c.limit;
    flags |= ((raw_limit >> 16) & 0xf) << 16;
  }
  return flags;
}

void segment(std::string& out, const char* name, const SegmentCache& c, const X86CpuState& s, bool cs64, bool lma,
             const RegisterDumpOptions& options) {
  const uint32_t flags = descriptor_flags(c, options);
  if (cs64) {
    append(out, "%-3s=%04x %016" PRIx64 " %08x %08x", name, c.selector, c.base, c.limit, flags);
  } else {
    append(out, "%-3s=%04x %08x %08x %08x", name, c.selector, static_cast<uint32_t>(c.base), c.limit, flags);
  }
  // Outside protected mode, or for a segment not present, nothing more.
  if (!(s.cr0 & kCr0Pe) || !(flags & 0x8000)) {
    out += "\n";
    return;
  }
  append(out, " DPL=%u ", (flags >> 13) & 3);
  const unsigned type = (flags >> 8) & 0xf;
  if (flags & 0x1000) {
    if (type & 8) {  // code
      out += (flags & (1u << 21)) ? "CS64" : (flags & (1u << 22)) ? "CS32" : "CS16";
      append(out, " [%c%c", (type & 4) ? 'C' : '-', (type & 2) ? 'R' : '-');
    } else {
      out += ((flags & (1u << 22)) || lma) ? "DS  " : "DS16";
      append(out, " [%c%c", (type & 4) ? 'E' : '-', (type & 2) ? 'W' : '-');
    }
    append(out, "%c]", (type & 1) ? 'A' : '-');
  } else {
    // System descriptors' type names (SDM vol. 3 table 3-2), per mode.
    static const char* const kLegacy[16] = {"Reserved",   "TSS16-avl", "LDT",       "TSS16-busy",
                                            "CallGate16", "TaskGate",  "IntGate16", "TrapGate16",
                                            "Reserved",   "TSS32-avl", "Reserved",  "TSS32-busy",
                                            "CallGate32", "Reserved",  "IntGate32", "TrapGate32"};
    static const char* const kLong[16] = {"<hiword>", "Reserved",   "LDT",      "Reserved",  "Reserved",   "Reserved",
                                          "Reserved", "Reserved",   "Reserved", "TSS64-avl", "Reserved",   "TSS64-busy",
                                          "CallGate64", "Reserved", "IntGate64", "TrapGate64"};
    out += (lma ? kLong : kLegacy)[type];
  }
  out += "\n";
}

}  // namespace

std::string format_x86_registers(const X86CpuState& s, const X86DumpState& d, const RegisterDumpOptions& options) {
  const bool lma = (s.efer & kEferLma) != 0;
  const bool cs64 = lma && s.segment[kCs].l;
  const uint32_t rfl = static_cast<uint32_t>(s.rflags);
  char flag_letters[8] = {
      (rfl & (1u << 10)) ? 'D' : '-', (rfl & (1u << 11)) ? 'O' : '-', (rfl & (1u << 7)) ? 'S' : '-',
      (rfl & (1u << 6)) ? 'Z' : '-',  (rfl & (1u << 4)) ? 'A' : '-',  (rfl & (1u << 2)) ? 'P' : '-',
      (rfl & 1u) ? 'C' : '-',         '\0'};
  std::string out;
  const auto& g = s.gpr;
  if (cs64) {
    append(out, "RAX=%016" PRIx64 " RBX=%016" PRIx64 " RCX=%016" PRIx64 " RDX=%016" PRIx64 "\n", g[kRax], g[kRbx],
           g[kRcx], g[kRdx]);
    append(out, "RSI=%016" PRIx64 " RDI=%016" PRIx64 " RBP=%016" PRIx64 " RSP=%016" PRIx64 "\n", g[kRsi], g[kRdi],
           g[kRbp], g[kRsp]);
    append(out, "R8 =%016" PRIx64 " R9 =%016" PRIx64 " R10=%016" PRIx64 " R11=%016" PRIx64 "\n", g[kR8], g[kR9],
           g[kR10], g[kR11]);
    append(out, "R12=%016" PRIx64 " R13=%016" PRIx64 " R14=%016" PRIx64 " R15=%016" PRIx64 "\n", g[kR12], g[kR13],
           g[kR14], g[kR15]);
    append(out, "RIP=%016" PRIx64 " RFL=%08x [%s] CPL=%u II=%d A20=%d SMM=%d HLT=%d\n", s.rip, rfl, flag_letters,
           d.cpl, d.interrupt_shadow, d.a20, d.smm, d.halted);
  } else {
    auto r32 = [&g](unsigned i) { return static_cast<uint32_t>(g[i]); };
    append(out, "EAX=%08x EBX=%08x ECX=%08x EDX=%08x\n", r32(kRax), r32(kRbx), r32(kRcx), r32(kRdx));
    append(out, "ESI=%08x EDI=%08x EBP=%08x ESP=%08x\n", r32(kRsi), r32(kRdi), r32(kRbp), r32(kRsp));
    append(out, "EIP=%08x EFL=%08x [%s] CPL=%u II=%d A20=%d SMM=%d HLT=%d\n", static_cast<uint32_t>(s.rip), rfl,
           flag_letters, d.cpl, d.interrupt_shadow, d.a20, d.smm, d.halted);
  }
  static const char* const kSegmentNames[kSegmentCount] = {"ES", "CS", "SS", "DS", "FS", "GS"};
  for (unsigned i = 0; i < kSegmentCount; ++i) segment(out, kSegmentNames[i], s.segment[i], s, cs64, lma, options);
  segment(out, "LDT", s.ldtr, s, cs64, lma, options);
  segment(out, "TR", s.tr, s, cs64, lma, options);
  if (lma) {
    append(out, "GDT=     %016" PRIx64 " %08x\n", s.gdtr.base, unsigned{s.gdtr.limit});
    append(out, "IDT=     %016" PRIx64 " %08x\n", s.idtr.base, unsigned{s.idtr.limit});
    append(out, "CR0=%08x CR2=%016" PRIx64 " CR3=%016" PRIx64 " CR4=%08x\n", static_cast<uint32_t>(s.cr0), s.cr2,
           s.cr3, static_cast<uint32_t>(s.cr4));
  } else {
    append(out, "GDT=     %08x %08x\n", static_cast<uint32_t>(s.gdtr.base), unsigned{s.gdtr.limit});
    append(out, "IDT=     %08x %08x\n", static_cast<uint32_t>(s.idtr.base), unsigned{s.idtr.limit});
    append(out, "CR0=%08x CR2=%08x CR3=%08x CR4=%08x\n", static_cast<uint32_t>(s.cr0), static_cast<uint32_t>(s.cr2),
           static_cast<uint32_t>(s.cr3), static_cast<uint32_t>(s.cr4));
  }
  // The debug registers are target-long wide in both layouts (x86_64).
  for (unsigned i = 0; i < 4; ++i) append(out, "DR%u=%016" PRIx64 " ", i, d.dr[i]);
  append(out, "\nDR6=%016" PRIx64 " DR7=%016" PRIx64 "\n", d.dr[6], d.dr[7]);
  append(out, "EFER=%016" PRIx64 "\n", s.efer);
  const unsigned top = (d.fsw >> 11) & 7;
  append(out, "FCW=%04x FSW=%04x [ST=%u] FTW=%02x MXCSR=%08x\n", d.fcw, d.fsw, top, d.ftw_abridged, d.mxcsr);
  for (unsigned i = 0; i < 8; ++i) {
    append(out, "FPR%u=%016" PRIx64 " %04x%s", i, d.fpr[i].mantissa, d.fpr[i].sign_exponent, (i & 1) ? "\n" : " ");
  }
  const unsigned xmm_count = cs64 ? 16 : 8;
  constexpr uint64_t kXcr0SseAvx = 0x6;  // XCR0.SSE | XCR0.AVX
  if ((d.xcr0 & kXcr0SseAvx) == kXcr0SseAvx) {
    // Only a kvm vCPU gets here (tcg's XSETBV refuses XCR0.AVX); its
    // upper halves come from KVM_GET_XSAVE.
    for (unsigned i = 0; i < xmm_count; ++i) {
      append(out, "YMM%02u=%016" PRIx64 " %016" PRIx64 " %016" PRIx64 " %016" PRIx64 "\n", i, d.ymm_high[i][1],
             d.ymm_high[i][0], d.xmm[i][1], d.xmm[i][0]);
    }
  } else {
    for (unsigned i = 0; i < xmm_count; ++i) {
      append(out, "XMM%02u=%016" PRIx64 " %016" PRIx64 "%s", i, d.xmm[i][1], d.xmm[i][0], (i & 1) ? "\n" : " ");
    }
  }
  return out;
}

}  // namespace vireo
