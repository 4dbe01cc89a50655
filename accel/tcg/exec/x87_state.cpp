// x87 control and state instructions, done in software: FNINIT, FNCLEX,
// FLDCW, FNSTCW, FNSTSW, FNSTENV/FLDENV, FNSAVE/FRSTOR, FXSAVE/FXRSTOR,
// WAIT, and the 8087/287 leftovers FNENI/FNDISI/FSETPM (no-ops since the
// 387). Intel SDM vol. 1 §8.1 (state, environment layouts), §10.5.1
// (FXSAVE area), vol. 2 (the instructions), vol. 3 §2.5 (CR0.EM/MP/TS/NE).
//
// Which instructions wait was checked on the host: with an unmasked
// exception pending, FLDCW, FLDENV, FRSTOR, FNOP, FFREE(P), FXCH, FLD and
// WAIT take #MF first; FNINIT, FNCLEX, FNSTCW, FNSTSW, FNSTENV, FNSAVE,
// FXSAVE, FXRSTOR and FNENI/FNDISI/FSETPM do not.
#include "accel/tcg/exec/families.h"
#include "accel/tcg/exec/operands.h"
#include "accel/tcg/exec/simd.h"
#include "accel/tcg/exec/x87.h"

namespace vireo::tcg {

namespace {

// In real-address and virtual-8086 mode the pointers are kept as linear
// addresses, which is what the real-mode environment layouts hold (SDM
// vol. 1 §8.1.10, figures 8-10 and 8-12); elsewhere selector:offset.
bool real_layout(const Cpu& cpu) { return !(cpu.cr0 & kCr0Pe) || (cpu.rflags & kVm); }

}  // namespace

namespace x87 {

void check_device_available(const Cpu& cpu) {
  if (cpu.cr0 & (kCr0Em | kCr0Ts)) raise_fault(kDeviceNotAvailable);
}

void check_pending(const Cpu& cpu) {
  if (!(cpu.fpu.fsw & kEs)) return;
  // With CR0.NE clear a PC reports the error through FERR# and IRQ 13 and
  // the processor stalls at this instruction until IGNNE# (SDM vol. 1
  // §8.7.1, appendix D). vireo has no FERR# wiring: it behaves as if IGNNE#
  // were asserted and carries on. Linux sets CR0.NE on every x86-64 CPU.
  if (cpu.cr0 & kCr0Ne) raise_fault(kFpuError);
}

void note_instruction(Cpu& cpu, const Insn& i) {
  cpu.fpu.fip = real_layout(cpu) ? ((cpu.seg[kCs].base + cpu.rip) & 0xffffffffu) : cpu.rip;
  cpu.fpu.fcs = cpu.seg[kCs].selector;
  cpu.fpu.fop = static_cast<uint16_t>(((i.opcode & 7u) << 8) | i.modrm);
}

void note_operand(Cpu& cpu, const Insn& i, uint64_t offset) {
  cpu.fpu.fdp = real_layout(cpu) ? ((cpu.seg[i.seg].base + offset) & 0xffffffffu) : offset;
  cpu.fpu.fds = cpu.seg[i.seg].selector;
}

void store_legacy_x87(const FpuState& f, uint8_t* area, bool wide) {
  auto put16 = [&](unsigned at, uint16_t v) { std::memcpy(area + at, &v, 2); };
  auto put32 = [&](unsigned at, uint32_t v) { std::memcpy(area + at, &v, 4); };
  auto put64 = [&](unsigned at, uint64_t v) { std::memcpy(area + at, &v, 8); };
  std::memset(area, 0, 24);
  put16(0, f.fcw);
  put16(2, f.fsw);
  uint8_t abridged = 0;  // one bit per physical register: 1 = not empty
  for (unsigned p = 0; p < 8; ++p) {
    if (!is_empty(f, p)) abridged = static_cast<uint8_t>(abridged | (1u << p));
  }
  area[4] = abridged;
  put16(6, f.fop);
  if (wide) {  // REX.W: 64-bit pointers, no selectors
    put64(8, f.fip);
    put64(16, f.fdp);
  } else {
    put32(8, static_cast<uint32_t>(f.fip));
    put16(12, f.fcs);
    put32(16, static_cast<uint32_t>(f.fdp));
    put16(20, f.fds);
  }
  for (unsigned st = 0; st < 8; ++st) {
    std::memset(area + 32 + 16 * st, 0, 16);  // the six bytes after each register are written as 0
    get_reg(f, physical(f, st), area + 32 + 16 * st);
  }
}

void load_legacy_x87(FpuState& f, const uint8_t* area, bool wide) {
  auto get16 = [&](unsigned at) { uint16_t v; std::memcpy(&v, area + at, 2); return v; };
  auto get32 = [&](unsigned at) { uint32_t v; std::memcpy(&v, area + at, 4); return v; };
  auto get64 = [&](unsigned at) { uint64_t v; std::memcpy(&v, area + at, 8); return v; };
  f.fcw = static_cast<uint16_t>((get16(0) & kFcwWritable) | kFcwFixedOnes);
  f.fsw = with_summary(get16(2), f.fcw);
  uint16_t ftw = 0;
  for (unsigned p = 0; p < 8; ++p) {
    if (!(area[4] & (1u << p))) ftw = static_cast<uint16_t>(ftw | (kTagEmpty << (2 * p)));
  }
  f.ftw = ftw;
  f.fop = get16(6) & 0x7ff;
  if (wide) {
    f.fip = get64(8);
    f.fdp = get64(16);
    f.fcs = f.fds = 0;
  } else {
    f.fip = get32(8);
    f.fcs = get16(12);
    f.fdp = get32(16);
    f.fds = get16(20);
  }
  for (unsigned st = 0; st < 8; ++st) set_reg(f, physical(f, st), area + 32 + 16 * st);
}

}  // namespace x87

namespace {

using namespace x87;

// MXCSR bits FXRSTOR accepts and FXSAVE reports as MXCSR_MASK (SDM vol. 1
// §11.6.6): the SSE family's definition, so LDMXCSR, XRSTOR and FXRSTOR agree.
constexpr uint32_t kMxcsrMask = simd::kMxcsrWritable;

// Guest memory blocks of the environment/save/FXSAVE instructions, read and
// written whole so that a fault leaves nothing half done.
void read_block(Cpu& cpu, const Insn& i, uint64_t offset, uint8_t* out, unsigned size) {
  uint64_t lin = cpu.linear(i.seg, offset, size, Access::Read);
  cpu.read_slow(lin, out, size, cpu.cpl == 3);
}
void write_block(Cpu& cpu, const Insn& i, uint64_t offset, const uint8_t* in, unsigned size) {
  uint64_t lin = cpu.linear(i.seg, offset, size, Access::Write);
  cpu.write_slow(lin, in, size, cpu.cpl == 3);
}

template <typename T>
void put(uint8_t* p, T v) {
  std::memcpy(p, &v, sizeof v);
}
template <typename T>
T get(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof v);
  return v;
}

uint16_t loaded_fcw(uint16_t value) { return static_cast<uint16_t>((value & kFcwWritable) | kFcwFixedOnes); }

void init(FpuState& f) {  // FNINIT (SDM vol. 2 "FINIT/FNINIT")
  f.fcw = kFcwInit;
  f.fsw = 0;
  f.ftw = 0xffff;
  f.fop = 0;
  f.fip = f.fdp = 0;
  f.fcs = f.fds = 0;
}

// The x87 environment (SDM vol. 1 §8.1.10, figures 8-9 to 8-12): 28 bytes
// with a 32-bit operand size, 14 with a 16-bit one; protected-mode layouts
// hold selector:offset pointers, real and virtual-8086 mode layouts linear
// addresses split around the opcode. Unused halves read 0xffff, as the 387
// and the host write them.
struct EnvLayout {
  bool real;
  bool wide;  // 32-bit operand size
  unsigned size() const { return wide ? 28 : 14; }
};

EnvLayout env_layout(const Cpu& cpu, const Insn& i) { return {real_layout(cpu), i.op_bits != 16}; }

void store_env(const FpuState& f, EnvLayout layout, uint8_t* p) {
  const uint16_t ftw = full_tag_word(f);
  if (layout.wide) {
    std::memset(p, 0xff, 28);
    put<uint16_t>(p + 0, f.fcw);
    put<uint16_t>(p + 4, f.fsw);
    put<uint16_t>(p + 8, ftw);
    if (layout.real) {
      uint32_t ip = static_cast<uint32_t>(f.fip), dp = static_cast<uint32_t>(f.fdp);
      put<uint16_t>(p + 12, static_cast<uint16_t>(ip));
      put<uint32_t>(p + 16, (f.fop & 0x7ffu) | ((ip >> 16) << 12));
      put<uint16_t>(p + 20, static_cast<uint16_t>(dp));
      put<uint32_t>(p + 24, (dp >> 16) << 12);
    } else {
      put<uint32_t>(p + 12, static_cast<uint32_t>(f.fip));
      put<uint32_t>(p + 16, f.fcs | (static_cast<uint32_t>(f.fop & 0x7ff) << 16));
      put<uint32_t>(p + 20, static_cast<uint32_t>(f.fdp));
      put<uint16_t>(p + 24, f.fds);
    }
  } else {
    put<uint16_t>(p + 0, f.fcw);
    put<uint16_t>(p + 2, f.fsw);
    put<uint16_t>(p + 4, ftw);
    if (layout.real) {
      uint32_t ip = static_cast<uint32_t>(f.fip), dp = static_cast<uint32_t>(f.fdp);
      put<uint16_t>(p + 6, static_cast<uint16_t>(ip));
      put<uint16_t>(p + 8, static_cast<uint16_t>((f.fop & 0x7ff) | (((ip >> 16) & 0xf) << 12)));
      put<uint16_t>(p + 10, static_cast<uint16_t>(dp));
      put<uint16_t>(p + 12, static_cast<uint16_t>(((dp >> 16) & 0xf) << 12));
    } else {
      put<uint16_t>(p + 6, static_cast<uint16_t>(f.fip));
      put<uint16_t>(p + 8, f.fcs);
      put<uint16_t>(p + 10, static_cast<uint16_t>(f.fdp));
      put<uint16_t>(p + 12, f.fds);
    }
  }
}

void load_env(FpuState& f, EnvLayout layout, const uint8_t* p) {
  if (layout.wide) {
    f.fcw = loaded_fcw(get<uint16_t>(p + 0));
    f.fsw = get<uint16_t>(p + 4);
    f.ftw = tags_from_full(get<uint16_t>(p + 8));
    if (layout.real) {
      uint32_t high = get<uint32_t>(p + 16);
      f.fip = get<uint16_t>(p + 12) | (((high >> 12) & 0xffff) << 16);
      f.fop = static_cast<uint16_t>(high & 0x7ff);
      f.fdp = get<uint16_t>(p + 20) | (((get<uint32_t>(p + 24) >> 12) & 0xffff) << 16);
      f.fcs = f.fds = 0;
    } else {
      uint32_t cs_op = get<uint32_t>(p + 16);
      f.fip = get<uint32_t>(p + 12);
      f.fcs = static_cast<uint16_t>(cs_op);
      f.fop = static_cast<uint16_t>((cs_op >> 16) & 0x7ff);
      f.fdp = get<uint32_t>(p + 20);
      f.fds = get<uint16_t>(p + 24);
    }
  } else {
    f.fcw = loaded_fcw(get<uint16_t>(p + 0));
    f.fsw = get<uint16_t>(p + 2);
    f.ftw = tags_from_full(get<uint16_t>(p + 4));
    if (layout.real) {
      uint16_t high = get<uint16_t>(p + 8);
      f.fip = get<uint16_t>(p + 6) | (static_cast<uint64_t>(high >> 12) << 16);
      f.fop = high & 0x7ff;
      f.fdp = get<uint16_t>(p + 10) | (static_cast<uint64_t>(get<uint16_t>(p + 12) >> 12) << 16);
      f.fcs = f.fds = 0;
    } else {
      f.fip = get<uint16_t>(p + 6);
      f.fcs = get<uint16_t>(p + 8);
      f.fdp = get<uint16_t>(p + 10);
      f.fds = get<uint16_t>(p + 12);
    }
  }
  f.fsw = with_summary(f.fsw, f.fcw);
}

// --- the instructions -------------------------------------------------------

void fninit(Cpu& cpu, const Insn& i) {
  check_device_available(cpu);
  init(cpu.fpu);
  next(cpu, i);
}

void fnclex(Cpu& cpu, const Insn& i) {
  check_device_available(cpu);
  cpu.fpu.fsw &= static_cast<uint16_t>(~(kStickyFlags | kEs | kBusy));
  next(cpu, i);
}

// FNENI, FNDISI, FSETPM: 8087/287 controls the 387 and later ignore.
void fnop_legacy(Cpu& cpu, const Insn& i) {
  check_device_available(cpu);
  next(cpu, i);
}

void fldcw(Cpu& cpu, const Insn& i) {
  check_device_available(cpu);
  check_pending(cpu);
  uint16_t value = cpu.read<uint16_t>(i.seg, effective_address(cpu, i));
  cpu.fpu.fcw = loaded_fcw(value);
  // Unmasking a set flag makes it pending (SDM vol. 2 "FLDCW").
  cpu.fpu.fsw = with_summary(cpu.fpu.fsw, cpu.fpu.fcw);
  next(cpu, i);
}

void fnstcw(Cpu& cpu, const Insn& i) {
  check_device_available(cpu);
  cpu.write<uint16_t>(i.seg, effective_address(cpu, i), cpu.fpu.fcw);
  next(cpu, i);
}

void fnstsw_mem(Cpu& cpu, const Insn& i) {
  check_device_available(cpu);
  cpu.write<uint16_t>(i.seg, effective_address(cpu, i), cpu.fpu.fsw);
  next(cpu, i);
}

void fnstsw_ax(Cpu& cpu, const Insn& i) {
  check_device_available(cpu);
  cpu.set<uint16_t>(kRax, cpu.fpu.fsw);
  next(cpu, i);
}

void fnstenv(Cpu& cpu, const Insn& i) {
  check_device_available(cpu);
  EnvLayout layout = env_layout(cpu, i);
  uint8_t env[28];
  store_env(cpu.fpu, layout, env);
  write_block(cpu, i, effective_address(cpu, i), env, layout.size());
  // Then all exceptions are masked (SDM vol. 2 "FSTENV"); ES and B follow.
  cpu.fpu.fcw |= kExceptionFlags;
  cpu.fpu.fsw = with_summary(cpu.fpu.fsw, cpu.fpu.fcw);
  next(cpu, i);
}

void fldenv(Cpu& cpu, const Insn& i) {
  check_device_available(cpu);
  check_pending(cpu);
  EnvLayout layout = env_layout(cpu, i);
  uint8_t env[28];
  read_block(cpu, i, effective_address(cpu, i), env, layout.size());
  load_env(cpu.fpu, layout, env);
  next(cpu, i);
}

void fnsave(Cpu& cpu, const Insn& i) {
  check_device_available(cpu);
  EnvLayout layout = env_layout(cpu, i);
  uint8_t image[28 + 8 * kRegBytes];
  store_env(cpu.fpu, layout, image);
  for (unsigned st = 0; st < 8; ++st) {
    get_reg(cpu.fpu, physical(cpu.fpu, st), image + layout.size() + st * kRegBytes);
  }
  write_block(cpu, i, effective_address(cpu, i), image, layout.size() + 8 * kRegBytes);
  init(cpu.fpu);  // FNSAVE ends with FNINIT (SDM vol. 2 "FSAVE")
  next(cpu, i);
}

void frstor(Cpu& cpu, const Insn& i) {
  check_device_available(cpu);
  check_pending(cpu);
  EnvLayout layout = env_layout(cpu, i);
  uint8_t image[28 + 8 * kRegBytes];
  read_block(cpu, i, effective_address(cpu, i), image, layout.size() + 8 * kRegBytes);
  load_env(cpu.fpu, layout, image);
  for (unsigned st = 0; st < 8; ++st) {
    set_reg(cpu.fpu, physical(cpu.fpu, st), image + layout.size() + st * kRegBytes);
  }
  next(cpu, i);
}

// 9B WAIT/FWAIT: #NM only when both CR0.MP and CR0.TS are set (SDM vol. 3
// table 2-2), then any pending unmasked exception.
void fwait(Cpu& cpu, const Insn& i) {
  if ((cpu.cr0 & kCr0Mp) && (cpu.cr0 & kCr0Ts)) raise_fault(kDeviceNotAvailable);
  check_pending(cpu);
  next(cpu, i);
}

// --- FXSAVE / FXRSTOR (SDM vol. 1 §10.5.1, table 10-2) ----------------------

constexpr unsigned kFxsaveBytes = 512;

// #UD with CR0.EM (they belong to SSE), #NM with CR0.TS, #GP(0) unless the
// area is 16-byte aligned (SDM vol. 2 "FXSAVE"). Returns the linear address.
uint64_t fxsave_area(Cpu& cpu, const Insn& i, Access access) {
  if (cpu.cr0 & kCr0Em) raise_ud();
  if (cpu.cr0 & kCr0Ts) raise_fault(kDeviceNotAvailable);
  uint64_t lin = cpu.linear(i.seg, effective_address(cpu, i), kFxsaveBytes, access);
  if (lin & 15) raise_gp(0);
  return lin;
}

// XMM registers in the area: XMM0-15 in 64-bit mode, XMM0-7 otherwise.
unsigned xmm_count(const Cpu& cpu) { return cpu.code_bits == 64 ? 16 : 8; }

void fxsave(Cpu& cpu, const Insn& i) {
  uint64_t lin = fxsave_area(cpu, i, Access::Write);
  alignas(16) uint8_t area[kFxsaveBytes] = {};
  store_legacy_x87(cpu.fpu, area, i.op_bits == 64);
  put<uint32_t>(area + 24, cpu.fpu.mxcsr);
  put<uint32_t>(area + 28, kMxcsrMask);
  unsigned xmm = xmm_count(cpu);
  std::memcpy(area + 160, cpu.fpu.xmm, 16 * xmm);
  // Bytes past the XMM registers are left as they were (464-511 belong to
  // software).
  cpu.write_slow(lin, area, 160 + 16 * xmm, cpu.cpl == 3);
  next(cpu, i);
}

void fxrstor(Cpu& cpu, const Insn& i) {
  uint64_t lin = fxsave_area(cpu, i, Access::Read);
  unsigned xmm = xmm_count(cpu);
  alignas(16) uint8_t area[kFxsaveBytes];
  cpu.read_slow(lin, area, 160 + 16 * xmm, cpu.cpl == 3);
  uint32_t mxcsr = get<uint32_t>(area + 24);
  if (mxcsr & ~kMxcsrMask) raise_gp(0);
  load_legacy_x87(cpu.fpu, area, i.op_bits == 64);
  cpu.fpu.mxcsr = mxcsr;
  std::memcpy(cpu.fpu.xmm, area + 160, 16 * xmm);
  next(cpu, i);
}

void fixed_row(std::vector<OpcodeRow>& t, uint8_t op, uint8_t modrm, const char* name, const char* operands,
               Handler h) {
  t.push_back({op1(op), static_cast<int8_t>((modrm >> 3) & 7), kAnyPrefix, name, operands, 0,
               form_handlers(h, nullptr), static_cast<int8_t>(modrm & 7)});
}
void memory_row(std::vector<OpcodeRow>& t, uint16_t code, int ext, uint8_t prefix, const char* name,
                const char* operands, Handler h) {
  t.push_back({code, static_cast<int8_t>(ext), prefix, name, operands, 0, form_handlers(nullptr, h)});
}

}  // namespace

void add_x87_state_rows(std::vector<OpcodeRow>& t) {
  t.push_back({op1(0x9b), -1, kAnyPrefix, "fwait", "", 0, one_handler(&fwait)});
  memory_row(t, op1(0xd9), 4, kAnyPrefix, "fldenv", "M", &fldenv);  // 14/28 bytes by operand size
  memory_row(t, op1(0xd9), 5, kAnyPrefix, "fldcw", "Mw", &fldcw);
  memory_row(t, op1(0xd9), 6, kAnyPrefix, "fnstenv", "M", &fnstenv);
  memory_row(t, op1(0xd9), 7, kAnyPrefix, "fnstcw", "Mw", &fnstcw);
  fixed_row(t, 0xdb, 0xe0, "fneni", "", &fnop_legacy);
  fixed_row(t, 0xdb, 0xe1, "fndisi", "", &fnop_legacy);
  fixed_row(t, 0xdb, 0xe2, "fnclex", "", &fnclex);
  fixed_row(t, 0xdb, 0xe3, "fninit", "", &fninit);
  fixed_row(t, 0xdb, 0xe4, "fsetpm", "", &fnop_legacy);
  memory_row(t, op1(0xdd), 4, kAnyPrefix, "frstor", "M", &frstor);  // 94/108 bytes
  memory_row(t, op1(0xdd), 6, kAnyPrefix, "fnsave", "M", &fnsave);
  memory_row(t, op1(0xdd), 7, kAnyPrefix, "fnstsw", "Mw", &fnstsw_mem);
  fixed_row(t, 0xdf, 0xe0, "fnstsw", "AX", &fnstsw_ax);
  // NP 0F AE /0 and /1; REX.W selects the 64-bit pointer layout.
  memory_row(t, op0f(0xae), 0, kNoPrefix, "fxsave", "M", &fxsave);
  memory_row(t, op0f(0xae), 1, kNoPrefix, "fxrstor", "M", &fxrstor);
}

}  // namespace vireo::tcg
