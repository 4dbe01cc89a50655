// Interrupt and exception delivery (Intel SDM vol. 3 ch. 6): the real-mode
// IVT, protected-mode IDT gates with privilege changes and virtual-8086
// exits, and IA-32e 16-byte gates with IST stacks.
#include "accel/tcg/descriptors.h"
#include "accel/tcg/exec/operands.h"
#include "accel/tcg/system.h"

namespace vireo::tcg {

namespace {

// RFLAGS bits every gate clears (SDM vol. 3 §6.12.1.3); interrupt gates
// clear IF as well. RF is not set in the pushed image for faults: it only
// matters for instruction breakpoints, which this CPU does not raise (QEMU
// 7.2 leaves it clear as well).
constexpr uint64_t kGateClearedFlags = kTf | kNt | kRf | kVm;

void deliver_real_mode(Cpu& cpu, uint8_t vector, uint64_t return_rip) {
  // The IVT at IDTR.base holds 4-byte far pointers (SDM vol. 3 §20.1.4);
  // push FLAGS, CS, IP; clear IF, TF, AC.
  uint64_t entry = uint64_t{vector} * 4;
  if (entry + 3 > cpu.idtr.limit) raise_gp(0);
  uint16_t ip = cpu.read_system<uint16_t>(cpu.idtr.base + entry);
  uint16_t cs = cpu.read_system<uint16_t>(cpu.idtr.base + entry + 2);
  FrameBuilder frame(cpu, cpu.seg[kSs], cpu.gpr[kRsp], stack_bits(cpu.seg[kSs]), false, 0);
  frame.push<uint16_t>(static_cast<uint16_t>(cpu.flags()));
  frame.push<uint16_t>(cpu.seg[kCs].selector);
  frame.push<uint16_t>(static_cast<uint16_t>(return_rip));
  frame.commit_stack_pointer();
  cpu.set_flags(cpu.flags() & ~(kIf | kTf | kAc | kRf));
  load_segment_real(cpu, kCs, cs);
  cpu.rip = ip;
  cpu.update_mode();
  cpu.end_block = true;
}

// The code segment a gate names: present, code, DPL <= CPL (SDM vol. 3
// §6.12.1.1). Returns the new CPL.
unsigned check_gate_target(Cpu& cpu, uint16_t selector, bool ext, Descriptor& code,
                           uint64_t& address) {
  const uint32_t error = selector_error(selector, ext);
  if (is_null_selector(selector)) raise_gp(ext ? 1 : 0);
  if (!read_descriptor(cpu, selector, code, &address)) raise_gp(error);
  if (!code.is_code() || code.dpl() > cpu.cpl) raise_gp(error);
  if (cpu.long_mode && (!code.l() || code.db())) raise_gp(error);
  if (!code.present()) raise_fault(kSegmentNotPresent, error);
  return code.conforming() ? cpu.cpl : code.dpl();
}

void deliver_protected_mode(Cpu& cpu, uint8_t vector, bool has_error_code, uint32_t error_code,
                            bool software, uint64_t return_rip) {
  const bool ext = !software;
  const uint32_t idt_error = uint32_t{vector} * 8 + 2 + (ext ? 1 : 0);
  if (uint64_t{vector} * 8 + 7 > cpu.idtr.limit) raise_gp(idt_error);
  const uint64_t raw = cpu.read_system<uint64_t>((cpu.idtr.base + uint64_t{vector} * 8) & 0xffffffffull);
  Descriptor gate;
  gate.low = static_cast<uint32_t>(raw);
  gate.high = static_cast<uint32_t>(raw >> 32);
  switch (gate.s() ? 0 : gate.type()) {
    case kInterruptGate16:
    case kTrapGate16:
    case kInterruptGate32:
    case kTrapGate32:
      break;
    case kTaskGate:
      // Hardware task switching is not implemented (Linux and the other
      // guests vireo targets never use it); a task gate faults as an
      // invalid gate would.
    default:
      raise_gp(idt_error);
  }
  if (software && gate.dpl() < cpu.cpl) raise_gp(uint32_t{vector} * 8 + 2);
  if (!gate.present()) raise_fault(kSegmentNotPresent, idt_error);
  const bool gate32 = gate.type() & 8;
  const unsigned slot = gate32 ? 4 : 2;
  const uint64_t offset = gate32 ? (gate.gate_offset() & 0xffffffffull) : (gate.gate_offset() & 0xffff);

  Descriptor code;
  uint64_t code_address;
  const uint16_t code_selector = gate.gate_selector();
  const unsigned new_cpl = check_gate_target(cpu, code_selector, ext, code, code_address);
  const bool vm86 = virtual_8086(cpu);
  // Leaving virtual-8086 mode goes to a ring-0 non-conforming segment
  // (SDM vol. 3 §20.3.1.1).
  if (vm86 && new_cpl != 0) raise_gp(selector_error(code_selector, ext));
  if (offset > code.limit()) raise_gp(ext ? 1 : 0);

  const bool inner = new_cpl < cpu.cpl;
  SegmentCache new_ss = cpu.seg[kSs];
  uint64_t sp = cpu.gpr[kRsp];
  uint16_t ss_selector = 0;
  Descriptor ss_descriptor;
  uint64_t ss_address = 0;
  uint32_t stack_error = ext ? 1 : 0;
  if (inner) {
    StackPointer stack = legacy_tss_stack(cpu, new_cpl, ext);
    ss_descriptor = check_tss_stack_segment(cpu, stack.ss, new_cpl, ext, &ss_address);
    ss_selector = stack.ss;
    new_ss = segment_cache(ss_descriptor, ss_selector);
    sp = stack.sp;
    stack_error = selector_error(ss_selector, ext);
  }
  FrameBuilder frame(cpu, new_ss, sp, stack_bits(new_ss), new_cpl == 3, stack_error);
  if (vm86) {
    frame.push_sized(slot, cpu.seg[kGs].selector);
    frame.push_sized(slot, cpu.seg[kFs].selector);
    frame.push_sized(slot, cpu.seg[kDs].selector);
    frame.push_sized(slot, cpu.seg[kEs].selector);
  }
  if (inner) {
    frame.push_sized(slot, cpu.seg[kSs].selector);
    frame.push_sized(slot, cpu.gpr[kRsp]);
  }
  frame.push_sized(slot, cpu.flags());
  frame.push_sized(slot, cpu.seg[kCs].selector);
  frame.push_sized(slot, return_rip);
  if (has_error_code) frame.push_sized(slot, error_code);

  // Everything that can fault has been done: commit.
  set_accessed(cpu, code_address, code);
  if (inner) {
    set_accessed(cpu, ss_address, ss_descriptor);
    cpu.seg[kSs] = segment_cache(ss_descriptor, ss_selector);
  }
  frame.commit_stack_pointer();
  if (vm86) {
    for (unsigned segment : {kEs, kDs, kFs, kGs}) cpu.seg[segment] = null_segment(0);
  }
  uint64_t flags = cpu.flags() & ~kGateClearedFlags;
  if ((gate.type() & 7) == kInterruptGate16) flags &= ~kIf;
  cpu.set_flags(flags);
  load_code_segment(cpu, code, code_selector, new_cpl);
  cpu.rip = offset;
}

void deliver_long_mode(Cpu& cpu, uint8_t vector, bool has_error_code, uint32_t error_code,
                       bool software, uint64_t return_rip) {
  // IA-32e gates are 16 bytes; only 64-bit interrupt and trap gates exist
  // (SDM vol. 3 §6.14.1). Error codes still name the vector as index * 8.
  const bool ext = !software;
  const uint32_t idt_error = uint32_t{vector} * 8 + 2 + (ext ? 1 : 0);
  if (uint64_t{vector} * 16 + 15 > cpu.idtr.limit) raise_gp(idt_error);
  const uint64_t entry = cpu.idtr.base + uint64_t{vector} * 16;
  const uint64_t low = cpu.read_system<uint64_t>(entry);
  const uint64_t high = cpu.read_system<uint64_t>(entry + 8);
  Descriptor gate;
  gate.low = static_cast<uint32_t>(low);
  gate.high = static_cast<uint32_t>(low >> 32);
  gate.upper = static_cast<uint32_t>(high);
  if (gate.s() || (gate.type() != kInterruptGate32 && gate.type() != kTrapGate32)) {
    raise_gp(idt_error);
  }
  if (software && gate.dpl() < cpu.cpl) raise_gp(uint32_t{vector} * 8 + 2);
  if (!gate.present()) raise_fault(kSegmentNotPresent, idt_error);

  Descriptor code;
  uint64_t code_address;
  const uint16_t code_selector = gate.gate_selector();
  const unsigned new_cpl = check_gate_target(cpu, code_selector, ext, code, code_address);
  const uint64_t offset = gate.gate_offset();
  if (!canonical_address(offset)) raise_gp(ext ? 1 : 0);

  // The new RSP: an IST stack if the gate names one (even without a
  // privilege change), else RSPn of the 64-bit TSS on a privilege change,
  // else the current one; then aligned down to 16 bytes (§6.14.2-6.14.5).
  const bool inner = new_cpl < cpu.cpl;
  uint64_t rsp = cpu.gpr[kRsp];
  if (gate.gate_ist() != 0) {
    rsp = long_mode_tss_stack(cpu, gate.gate_ist() + 3, ext);
  } else if (inner) {
    rsp = long_mode_tss_stack(cpu, new_cpl, ext);
  }
  rsp &= ~0xfull;
  // The 64-bit frame always holds SS:RSP.
  FrameBuilder frame(cpu, cpu.seg[kSs], rsp, 64, new_cpl == 3, ext ? 1 : 0);
  frame.push<uint64_t>(cpu.seg[kSs].selector);
  frame.push<uint64_t>(cpu.gpr[kRsp]);
  frame.push<uint64_t>(cpu.flags());
  frame.push<uint64_t>(cpu.seg[kCs].selector);
  frame.push<uint64_t>(return_rip);
  if (has_error_code) frame.push<uint64_t>(error_code);

  set_accessed(cpu, code_address, code);
  // A privilege change loads SS with a null selector whose RPL is the new
  // CPL (§6.14.4).
  if (inner) cpu.seg[kSs] = null_segment(static_cast<uint16_t>(new_cpl), new_cpl);
  cpu.gpr[kRsp] = frame.sp();
  uint64_t flags = cpu.flags() & ~kGateClearedFlags;
  if (gate.type() == kInterruptGate32) flags &= ~kIf;
  cpu.set_flags(flags);
  load_code_segment(cpu, code, code_selector, new_cpl);
  cpu.rip = offset;
}

}  // namespace

void deliver_interrupt(Cpu& cpu, uint8_t vector, bool has_error_code, uint32_t error_code,
                       bool software, uint64_t return_rip) {
  if (!protected_mode(cpu)) {
    deliver_real_mode(cpu, vector, return_rip);
  } else if (cpu.long_mode) {
    deliver_long_mode(cpu, vector, has_error_code, error_code, software, return_rip);
  } else {
    deliver_protected_mode(cpu, vector, has_error_code, error_code, software, return_rip);
  }
}

}  // namespace vireo::tcg
