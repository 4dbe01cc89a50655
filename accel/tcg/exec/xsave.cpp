// The XSAVE family: XGETBV, XSETBV, XSAVE, XSAVEOPT and XRSTOR (with their
// REX.W forms), Intel SDM vol. 2 instruction pages and vol. 1 ch. 13.
//
// XCR0 may enable x87 and SSE state only, so the XSAVE area is the legacy
// region plus the header, in the standard (non-compacted) form.
//
// XINUSE is derived from the register values: a component is "in use"
// unless it holds its initial configuration (SDM vol. 1 §13.6). The SDM
// lets a processor report a component in use at any time but requires it
// to be in its initial configuration when reported unused, which this
// satisfies. XSAVEOPT applies the init optimization (components not in use
// are not written) but not the modified optimization: that one needs the
// XRSTOR tracking of §13.9 and only saves memory traffic, so XSAVEOPT
// otherwise behaves as XSAVE.
#include "accel/tcg/exec/xsave.h"

#include <cstring>

#include "accel/tcg/exec/families.h"
#include "accel/tcg/exec/operands.h"
#include "accel/tcg/exec/simd.h"

namespace vireo::tcg {

namespace {

// CR4.OSXSAVE (SDM vol. 3 §2.5): enables XGETBV/XSETBV/XSAVE/XRSTOR.
constexpr uint64_t kCr4Osxsave = 1ull << 18;
using simd::kCr0Ts;
using simd::kFtwAllEmpty;
using simd::kMxcsrWritable;  // what XRSTOR accepts and XSAVE reports as MXCSR_MASK

// Offsets in the legacy region (SDM vol. 1 §10.5.1, table 10-2) and header.
constexpr unsigned kFcw = 0, kFsw = 2, kFtw = 4, kFop = 6, kFip = 8, kFdp = 16;
constexpr unsigned kMxcsr = 24, kMxcsrMask = 28;
constexpr unsigned kSt0 = 32, kStSlot = 16;
constexpr unsigned kXmm0 = 160;
constexpr unsigned kXstateBv = 512, kXcompBv = 520;

// The x87 state's initial configuration (SDM vol. 1 §13.6).
constexpr uint16_t kFcwInit = 0x37f;

void put16(uint8_t* p, uint16_t v) { std::memcpy(p, &v, sizeof v); }
void put32(uint8_t* p, uint32_t v) { std::memcpy(p, &v, sizeof v); }
void put64(uint8_t* p, uint64_t v) { std::memcpy(p, &v, sizeof v); }
template <typename T>
T get(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

// XMM registers the legacy region holds: 16 in 64-bit mode, else 8.
unsigned xmm_count(const Cpu& cpu) { return cpu.code_bits == 64 ? 16 : 8; }

bool register_is_zero(const long double& st) {
  uint8_t bytes[10];
  std::memcpy(bytes, &st, sizeof bytes);  // the 80-bit value; padding bytes ignored
  for (uint8_t b : bytes) {
    if (b) return false;
  }
  return true;
}

uint64_t xinuse(const Cpu& cpu) {
  const FpuState& f = cpu.fpu;
  uint64_t in_use = 0;
  bool x87_init = f.fcw == kFcwInit && f.fsw == 0 && f.ftw == kFtwAllEmpty && f.fop == 0 &&
                  f.fip == 0 && f.fdp == 0 && f.fcs == 0 && f.fds == 0;
  for (const long double& st : f.st) x87_init = x87_init && register_is_zero(st);
  if (!x87_init) in_use |= kXcr0X87;
  for (const auto& xmm : f.xmm) {
    for (uint8_t b : xmm) {
      if (b) {
        in_use |= kXcr0Sse;
        break;
      }
    }
  }
  return in_use;
}

// FXSAVE's abridged tag byte: bit i set when physical register i is not
// empty (SDM vol. 1 §10.5.1.1).
uint8_t abridged_tag(uint16_t ftw) {
  uint8_t tags = 0;
  for (unsigned r = 0; r < 8; ++r) {
    if (((ftw >> (2 * r)) & 3) != 3) tags |= static_cast<uint8_t>(1u << r);
  }
  return tags;
}

// The x87 part of the legacy region, laid out as FXSAVE lays it out
// (x87_state.cpp): bytes 0-23 and the eight ST(i) slots. With REX.W the
// instruction and operand pointers are 64 bits; otherwise 32-bit offsets
// with their selectors.
void store_x87(const Cpu& cpu, uint8_t* image, bool wide) {
  const FpuState& f = cpu.fpu;
  put16(image + kFcw, f.fcw);
  put16(image + kFsw, f.fsw);
  image[kFtw] = abridged_tag(f.ftw);
  image[kFtw + 1] = 0;
  put16(image + kFop, f.fop);
  if (wide) {
    put64(image + kFip, f.fip);
    put64(image + kFdp, f.fdp);
  } else {
    put64(image + kFip, static_cast<uint32_t>(f.fip) | (uint64_t{f.fcs} << 32));
    put64(image + kFdp, static_cast<uint32_t>(f.fdp) | (uint64_t{f.fds} << 32));
  }
  const unsigned top = (f.fsw >> 11) & 7;
  for (unsigned k = 0; k < 8; ++k) {
    uint8_t* slot = image + kSt0 + kStSlot * k;
    std::memset(slot, 0, kStSlot);
    std::memcpy(slot, &f.st[(top + k) & 7], 10);
  }
}

// The x87 state from the legacy region, as FXRSTOR loads it
// (x87_state.cpp): FCW keeps its writable bits and reads bit 6 as 1, FSW's
// ES and B follow the unmasked flags, and a register is tagged empty or
// not; the full tags are derived from contents when they are stored.
void load_x87(Cpu& cpu, const uint8_t* image, bool wide) {
  constexpr uint16_t kFcwWritable = 0x1f3f, kFcwFixedOnes = 0x0040;
  constexpr uint16_t kFswEsAndBusy = 0x8080;
  FpuState& f = cpu.fpu;
  f.fcw = static_cast<uint16_t>((get<uint16_t>(image + kFcw) & kFcwWritable) | kFcwFixedOnes);
  uint16_t fsw = get<uint16_t>(image + kFsw) & static_cast<uint16_t>(~kFswEsAndBusy);
  if (fsw & ~f.fcw & 0x3f) fsw |= kFswEsAndBusy;
  f.fsw = fsw;
  uint16_t ftw = 0;
  for (unsigned r = 0; r < 8; ++r) {
    if (!(image[kFtw] & (1u << r))) ftw = static_cast<uint16_t>(ftw | (3u << (2 * r)));
  }
  f.ftw = ftw;
  f.fop = get<uint16_t>(image + kFop) & 0x7ff;
  if (wide) {
    f.fip = get<uint64_t>(image + kFip);
    f.fdp = get<uint64_t>(image + kFdp);
    f.fcs = f.fds = 0;
  } else {
    f.fip = get<uint32_t>(image + kFip);
    f.fcs = get<uint16_t>(image + kFip + 4);
    f.fdp = get<uint32_t>(image + kFdp);
    f.fds = get<uint16_t>(image + kFdp + 4);
  }
  const unsigned top = (f.fsw >> 11) & 7;
  for (unsigned k = 0; k < 8; ++k) std::memcpy(&f.st[(top + k) & 7], image + kSt0 + kStSlot * k, 10);
}

void init_x87(Cpu& cpu) {
  FpuState& f = cpu.fpu;
  f.fcw = kFcwInit;
  f.fsw = 0;
  f.ftw = kFtwAllEmpty;
  f.fop = 0;
  f.fip = 0;
  f.fdp = 0;
  f.fcs = 0;
  f.fds = 0;
  for (long double& st : f.st) st = 0.0L;
}

// #UD unless CR4.OSXSAVE; #NM when CR0.TS (XSAVE, XSAVEOPT, XRSTOR).
void check_xsave_enabled(const Cpu& cpu) {
  if (!(cpu.cr4 & kCr4Osxsave)) raise_ud();
  if (cpu.cr0 & kCr0Ts) raise_fault(kDeviceNotAvailable);
}

uint64_t requested_features(const Cpu& cpu) {
  return cpu.xcr0 & ((cpu.gpr[kRdx] << 32) | (cpu.gpr[kRax] & 0xffffffffull));
}

// Linear address of byte `offset` of the area, wrapping like the
// processor does outside 64-bit mode.
uint64_t area_byte(const Cpu& cpu, uint64_t base, unsigned offset) {
  uint64_t lin = base + offset;
  return cpu.code_bits == 64 ? lin : (lin & 0xffffffffull);
}

// The area's linear address after the segment checks for its first
// `bytes` bytes; #GP(0) unless 64-byte aligned "regardless of segment".
uint64_t area_linear(Cpu& cpu, const Insn& i, unsigned bytes, Access access) {
  uint64_t lin = cpu.linear(i.seg, effective_address(cpu, i), bytes, access);
  if (lin & 63) raise_gp(0);
  return lin;
}

void write_bytes(Cpu& cpu, uint64_t base, unsigned offset, const uint8_t* data, unsigned size) {
  for (unsigned k = 0; k < size; k += 8) {
    cpu.write_linear<uint64_t>(area_byte(cpu, base, offset + k), get<uint64_t>(data + k));
  }
}

void xsave_common(Cpu& cpu, const Insn& i, bool init_optimization) {
  check_xsave_enabled(cpu);
  // XSAVE touches the legacy region and XSTATE_BV, the header's first 8 bytes.
  const unsigned touched = kXstateBv + 8;
  const uint64_t lin = area_linear(cpu, i, touched, Access::Write);
  const uint64_t rfbm = requested_features(cpu);
  const uint64_t in_use = xinuse(cpu);
  const uint64_t to_save = init_optimization ? (rfbm & in_use) : rfbm;
  const bool wide = i.prefix & kPrefixRexW;

  // Every page is checked for writing before the first byte changes, so a
  // #PF leaves memory as it was.
  const bool user = cpu.cpl == 3;
  cpu.translate(lin, Access::Write, user);
  cpu.translate(area_byte(cpu, lin, touched - 1), Access::Write, user);
  const uint64_t old_bv = cpu.read_linear<uint64_t>(area_byte(cpu, lin, kXstateBv));

  uint8_t image[kXsaveLegacyBytes] = {};
  if (to_save & kXcr0X87) {
    store_x87(cpu, image, wide);
    write_bytes(cpu, lin, 0, image, kMxcsr);
    write_bytes(cpu, lin, kSt0, image + kSt0, kXmm0 - kSt0);
  }
  // MXCSR goes with the SSE component whether or not XMM state is in use.
  if (rfbm & kXcr0Sse) {
    put32(image + kMxcsr, cpu.fpu.mxcsr);
    put32(image + kMxcsrMask, kMxcsrWritable);
    write_bytes(cpu, lin, kMxcsr, image + kMxcsr, 8);
  }
  if (to_save & kXcr0Sse) {
    write_bytes(cpu, lin, kXmm0, &cpu.fpu.xmm[0][0], 16 * xmm_count(cpu));
  }
  cpu.write_linear<uint64_t>(area_byte(cpu, lin, kXstateBv), (old_bv & ~rfbm) | (in_use & rfbm));
  next(cpu, i);
}

void xsave(Cpu& cpu, const Insn& i) { xsave_common(cpu, i, false); }
void xsaveopt(Cpu& cpu, const Insn& i) { xsave_common(cpu, i, true); }

void xrstor(Cpu& cpu, const Insn& i) {
  check_xsave_enabled(cpu);
  const uint64_t lin = area_linear(cpu, i, kXsaveAreaBytes, Access::Read);
  uint8_t area[kXsaveAreaBytes];
  for (unsigned k = 0; k < kXsaveAreaBytes; k += 8) {
    put64(area + k, cpu.read_linear<uint64_t>(area_byte(cpu, lin, k)));
  }
  const uint64_t rfbm = requested_features(cpu);
  const uint64_t xstate_bv = get<uint64_t>(area + kXstateBv);
  // Standard form only (no XSAVEC): header bytes 23:8, XCOMP_BV and the
  // eight after it, must be 0, and XSTATE_BV may name only enabled
  // components (SDM vol. 1 §13.8.1). Bytes 63:24 are not checked (nor by
  // the host).
  for (unsigned k = kXcompBv; k < kXstateBv + 24; ++k) {
    if (area[k]) raise_gp(0);
  }
  if (xstate_bv & ~cpu.xcr0) raise_gp(0);
  const uint32_t mxcsr = get<uint32_t>(area + kMxcsr);
  if ((rfbm & kXcr0Sse) && (mxcsr & ~kMxcsrWritable)) raise_gp(0);

  const bool wide = i.prefix & kPrefixRexW;
  if (rfbm & kXcr0X87) {
    if (xstate_bv & kXcr0X87) load_x87(cpu, area, wide);
    else init_x87(cpu);
  }
  if (rfbm & kXcr0Sse) {
    cpu.fpu.mxcsr = mxcsr;
    const unsigned n = xmm_count(cpu);
    if (xstate_bv & kXcr0Sse) std::memcpy(cpu.fpu.xmm, area + kXmm0, 16 * n);
    else std::memset(cpu.fpu.xmm, 0, 16 * n);
  }
  next(cpu, i);
}

// 0F 01 D0: EDX:EAX = XCR[ECX]. Only XCR0 exists (no XGETBV with ECX = 1).
void xgetbv(Cpu& cpu, const Insn& i) {
  if (!(cpu.cr4 & kCr4Osxsave)) raise_ud();
  if (static_cast<uint32_t>(cpu.gpr[kRcx]) != 0) raise_gp(0);
  cpu.gpr[kRax] = cpu.xcr0 & 0xffffffffull;
  cpu.gpr[kRdx] = cpu.xcr0 >> 32;
  next(cpu, i);
}

// 0F 01 D1: XCR[ECX] = EDX:EAX, at CPL 0. XCR0 must keep x87 enabled and
// enable nothing this CPU lacks (SDM vol. 2 "XSETBV", vol. 1 §13.3).
void xsetbv(Cpu& cpu, const Insn& i) {
  if (!(cpu.cr4 & kCr4Osxsave)) raise_ud();
  if (cpu.cpl != 0 || (cpu.rflags & kVm)) raise_gp(0);
  if (static_cast<uint32_t>(cpu.gpr[kRcx]) != 0) raise_gp(0);
  const uint64_t value = (cpu.gpr[kRdx] << 32) | (cpu.gpr[kRax] & 0xffffffffull);
  if (!(value & kXcr0X87) || (value & ~kXcr0Supported)) raise_gp(0);
  cpu.xcr0 = value;
  next(cpu, i);
}

}  // namespace

CpuidRegisters xsave_cpuid_leaf(uint32_t subleaf, uint64_t xcr0) {
  (void)xcr0;  // every XCR0 value allowed here needs the same 576 bytes
  CpuidRegisters r;
  switch (subleaf) {
    case 0:
      r.eax = static_cast<uint32_t>(kXcr0Supported);
      r.ebx = kXsaveAreaBytes;  // for the components XCR0 enables
      r.ecx = kXsaveAreaBytes;  // for every supported component
      r.edx = static_cast<uint32_t>(kXcr0Supported >> 32);
      break;
    case 1:
      r.eax = kXsaveoptSupported;
      break;
    default:
      break;  // components 2 and up are not supported: all zero
  }
  return r;
}

void add_xsave_rows(std::vector<OpcodeRow>& t) {
  // No 66/F2/F3: those select other instructions or #UD.
  t.push_back({op0f(0x01), 2, kNoPrefix, "xgetbv", "", 0, one_handler(&xgetbv), 0});
  t.push_back({op0f(0x01), 2, kNoPrefix, "xsetbv", "", 0, one_handler(&xsetbv), 1});
  t.push_back({op0f(0xae), 4, kNoPrefix, "xsave", "M", 0, one_handler(&xsave)});
  t.push_back({op0f(0xae), 5, kNoPrefix, "xrstor", "M", 0, one_handler(&xrstor)});
  t.push_back({op0f(0xae), 6, kNoPrefix, "xsaveopt", "M", 0, one_handler(&xsaveopt)});
}

}  // namespace vireo::tcg
