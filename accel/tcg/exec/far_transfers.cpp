// Far transfers: JMP/CALL far (direct and through memory), call gates with
// their stack switch, RETF, IRET, and the software interrupts INT n, INT3,
// INTO, INT1. Intel SDM vol. 2 "CALL", "JMP", "RET", "IRET", "INT n";
// vol. 3 §5.8 (privilege checks for control transfers).
#include "accel/tcg/exec/privileged.h"

namespace vireo::tcg {

namespace {

enum class FarKind { Jump, Call };

uint64_t operand_mask(unsigned bytes) { return bytes == 8 ? ~0ull : (1ull << (bytes * 8)) - 1; }

// Real mode and virtual-8086 mode: CS base = selector * 16, no checks.
void far_real(Cpu& cpu, const Insn& i, uint16_t selector, uint64_t offset, FarKind kind,
              unsigned bytes) {
  if (kind == FarKind::Call) {
    FrameBuilder frame = current_stack(cpu);
    frame.push_sized(bytes, cpu.seg[kCs].selector);
    frame.push_sized(bytes, cpu.rip + i.length);
    frame.commit_stack_pointer();
  }
  load_segment_real(cpu, kCs, selector);
  cpu.update_mode();
  jump(cpu, offset & operand_mask(bytes));
}

// A far transfer through a call gate (SDM vol. 3 §5.8.4-5.8.6). In IA-32e
// mode gates are 16 bytes and lead to 64-bit code only; a CALL to a more
// privileged non-conforming segment switches to the TSS stack for that
// level, copying the gate's parameter count of stack slots for 16/32-bit
// gates.
void through_call_gate(Cpu& cpu, const Insn& i, uint16_t gate_selector, FarKind kind) {
  const uint32_t gate_error = selector_error(gate_selector, false);
  Descriptor gate;
  if (!read_descriptor(cpu, gate_selector, gate, nullptr, cpu.long_mode)) raise_gp(gate_error);
  if (cpu.long_mode) {
    // The upper half's type field must be 0 (SDM vol. 3 figure 5-9).
    if (gate.type() != kCallGate32 || ((gate.upper_high >> 8) & 0x1f) != 0) raise_gp(gate_error);
  }
  const unsigned rpl = gate_selector & 3u;
  if (gate.dpl() < cpu.cpl || gate.dpl() < rpl) raise_gp(gate_error);
  if (!gate.present()) raise_fault(kSegmentNotPresent, gate_error);

  const uint16_t code_selector = gate.gate_selector();
  const uint32_t code_error = selector_error(code_selector, false);
  if (is_null_selector(code_selector)) raise_gp(0);
  Descriptor code;
  uint64_t code_address;
  if (!read_descriptor(cpu, code_selector, code, &code_address)) raise_gp(code_error);
  if (!code.is_code()) raise_gp(code_error);
  if (kind == FarKind::Jump) {
    if (code.conforming() ? code.dpl() > cpu.cpl : code.dpl() != cpu.cpl) raise_gp(code_error);
  } else if (code.dpl() > cpu.cpl) {
    raise_gp(code_error);
  }
  if (cpu.long_mode && (!code.l() || code.db())) raise_gp(code_error);
  if (!code.present()) raise_fault(kSegmentNotPresent, code_error);

  const unsigned slot = cpu.long_mode ? 8 : gate.type() == kCallGate32 ? 4 : 2;
  const uint64_t target = gate.gate_offset() & operand_mask(slot);
  if (cpu.long_mode ? !canonical_address(target) : target > code.limit()) raise_gp(0);

  const bool inner = kind == FarKind::Call && !code.conforming() && code.dpl() < cpu.cpl;
  const unsigned new_cpl = inner ? code.dpl() : cpu.cpl;
  const uint64_t return_rip = cpu.rip + i.length;
  if (!inner) {
    if (kind == FarKind::Call) {
      FrameBuilder frame = current_stack(cpu);
      frame.push_sized(slot, cpu.seg[kCs].selector);
      frame.push_sized(slot, return_rip);
      frame.commit_stack_pointer();
    }
    set_accessed(cpu, code_address, code);
    load_code_segment(cpu, code, code_selector, new_cpl);
    jump(cpu, target);
    return;
  }

  if (cpu.long_mode) {
    // 64-bit gate: RSPn from the TSS, SS becomes null with RPL = CPL, and
    // the old SS:RSP go on the new stack before CS:RIP (§5.8.6).
    uint64_t rsp = long_mode_tss_stack(cpu, new_cpl, false);
    SegmentCache unused_ss = null_segment(0);
    FrameBuilder frame(cpu, unused_ss, rsp, 64, new_cpl == 3, 0);
    frame.push<uint64_t>(cpu.seg[kSs].selector);
    frame.push<uint64_t>(cpu.gpr[kRsp]);
    frame.push<uint64_t>(cpu.seg[kCs].selector);
    frame.push<uint64_t>(return_rip);
    set_accessed(cpu, code_address, code);
    cpu.seg[kSs] = null_segment(static_cast<uint16_t>(new_cpl), new_cpl);
    cpu.gpr[kRsp] = frame.sp();
  } else {
    StackPointer stack = legacy_tss_stack(cpu, new_cpl, false);
    uint64_t ss_address;
    Descriptor ss = check_tss_stack_segment(cpu, stack.ss, new_cpl, false, &ss_address);
    SegmentCache new_ss = segment_cache(ss, stack.ss);
    FrameBuilder frame(cpu, new_ss, stack.sp, stack_bits(new_ss), new_cpl == 3,
                       selector_error(stack.ss, false));
    frame.push_sized(slot, cpu.seg[kSs].selector);
    frame.push_sized(slot, cpu.gpr[kRsp]);
    // Parameters keep their order: the deepest is copied first.
    for (unsigned n = gate.gate_parameter_count(); n-- > 0;) {
      frame.push_sized(slot, peek_sized(cpu, uint64_t{n} * slot, slot));
    }
    frame.push_sized(slot, cpu.seg[kCs].selector);
    frame.push_sized(slot, return_rip);
    set_accessed(cpu, code_address, code);
    set_accessed(cpu, ss_address, ss);
    cpu.seg[kSs] = segment_cache(ss, stack.ss);
    frame.commit_stack_pointer();
  }
  load_code_segment(cpu, code, code_selector, new_cpl);
  jump(cpu, target);
}

// JMP/CALL far in protected mode (and IA-32e mode): straight to a code
// segment at the same privilege, or through a call gate.
void far_protected(Cpu& cpu, const Insn& i, uint16_t selector, uint64_t offset, FarKind kind,
                   unsigned bytes) {
  const uint32_t error = selector_error(selector, false);
  if (is_null_selector(selector)) raise_gp(0);
  Descriptor d;
  uint64_t address;
  if (!read_descriptor(cpu, selector, d, &address)) raise_gp(error);
  if (!d.s()) {
    switch (d.type()) {
      case kCallGate16:
        if (cpu.long_mode) raise_gp(error);
        [[fallthrough]];
      case kCallGate32:
        through_call_gate(cpu, i, selector, kind);
        return;
      default:
        // Task gates and TSS descriptors would switch tasks; hardware task
        // switching is not implemented (no guest vireo targets uses it).
        raise_gp(error);
    }
  }
  if (!d.is_code()) raise_gp(error);
  const unsigned rpl = selector & 3u;
  if (d.conforming() ? d.dpl() > cpu.cpl : (rpl > cpu.cpl || d.dpl() != cpu.cpl)) raise_gp(error);
  if (cpu.long_mode && d.l() && d.db()) raise_gp(error);
  if (!d.present()) raise_fault(kSegmentNotPresent, error);
  const bool target64 = cpu.long_mode && d.l();
  if (target64 ? !canonical_address(offset) : offset > d.limit()) raise_gp(0);
  if (kind == FarKind::Call) {
    FrameBuilder frame = current_stack(cpu);
    frame.push_sized(bytes, cpu.seg[kCs].selector);
    frame.push_sized(bytes, cpu.rip + i.length);
    frame.commit_stack_pointer();
  }
  set_accessed(cpu, address, d);
  load_code_segment(cpu, d, selector, cpu.cpl);
  jump(cpu, offset);
}

void far_transfer(Cpu& cpu, const Insn& i, uint16_t selector, uint64_t offset, FarKind kind,
                  unsigned bytes) {
  if (!protected_mode(cpu) || virtual_8086(cpu)) {
    far_real(cpu, i, selector, offset, kind, bytes);
  } else {
    far_protected(cpu, i, selector, offset & operand_mask(bytes), kind, bytes);
  }
}

template <typename T, bool>
struct JmpFarDirect {  // ea: jmp ptr16:16 / ptr16:32
  static void run(Cpu& cpu, const Insn& i) {
    far_transfer(cpu, i, static_cast<uint16_t>(i.imm2), i.imm, FarKind::Jump, sizeof(T));
  }
};
template <typename T, bool>
struct CallFarDirect {  // 9a: call ptr16:16 / ptr16:32
  static void run(Cpu& cpu, const Insn& i) {
    far_transfer(cpu, i, static_cast<uint16_t>(i.imm2), i.imm, FarKind::Call, sizeof(T));
  }
};
// ff /5 and ff /3: m16:16, m16:32 or (REX.W, as Intel processors take it)
// m16:64; the offset comes first, the selector after it.
template <FarKind Kind>
struct FarIndirect {
  template <typename T, bool>
  struct Form {
    static void run(Cpu& cpu, const Insn& i) {
      uint64_t ea = effective_address(cpu, i);
      T offset = cpu.read<T>(i.seg, ea);
      uint16_t selector = cpu.read<uint16_t>(i.seg, wrap_address(ea + sizeof(T), i.addr_bits));
      far_transfer(cpu, i, selector, offset, Kind, sizeof(T));
    }
  };
};
template <typename T, bool Mem> using JmpFarIndirect = FarIndirect<FarKind::Jump>::Form<T, Mem>;
template <typename T, bool Mem> using CallFarIndirect = FarIndirect<FarKind::Call>::Form<T, Mem>;

// The code segment a RETF or IRET goes back to (SDM vol. 2 "RET",
// protected-mode return checks): never more privileged than CPL.
Descriptor check_return_code(Cpu& cpu, uint16_t selector, uint64_t& address) {
  const uint32_t error = selector_error(selector, false);
  if (is_null_selector(selector)) raise_gp(0);
  Descriptor d;
  if (!read_descriptor(cpu, selector, d, &address)) raise_gp(error);
  const unsigned rpl = selector & 3u;
  if (!d.is_code() || rpl < cpu.cpl) raise_gp(error);
  if (d.conforming() ? d.dpl() > rpl : d.dpl() != rpl) raise_gp(error);
  if (cpu.long_mode && d.l() && d.db()) raise_gp(error);
  if (!d.present()) raise_fault(kSegmentNotPresent, error);
  return d;
}

// The SS of a return to an outer level, or of any IRET in 64-bit mode.
// `null_ok`: a 64-bit target below ring 3 may keep a null SS.
struct ReturnStack {
  Descriptor d;
  uint64_t address = 0;
  bool null = false;
};
ReturnStack check_return_stack(Cpu& cpu, uint16_t selector, unsigned rpl, bool null_ok) {
  ReturnStack r;
  if (is_null_selector(selector)) {
    if (!null_ok) raise_gp(0);
    r.null = true;
    return r;
  }
  const uint32_t error = selector_error(selector, false);
  if (!read_descriptor(cpu, selector, r.d, &r.address)) raise_gp(error);
  if ((selector & 3u) != rpl || !r.d.writable_data() || r.d.dpl() != rpl) raise_gp(error);
  if (!r.d.present()) raise_fault(kStackFault, error);
  return r;
}

void load_return_stack(Cpu& cpu, ReturnStack& stack, uint16_t selector, unsigned rpl) {
  if (stack.null) {
    cpu.seg[kSs] = null_segment(selector, rpl);
  } else {
    set_accessed(cpu, stack.address, stack.d);
    cpu.seg[kSs] = segment_cache(stack.d, selector);
  }
}

// RETF (and IRET's tail): CS:rIP popped and checked; a return to an outer
// level also pops SS:rSP and drops data segments the new CPL may not use.
// `extra` is the size of what lies between CS and SS (IRET's flags),
// `release` RETF's immediate, applied to both stacks.
void far_return(Cpu& cpu, unsigned bytes, uint64_t release, bool iret, bool always_pop_stack) {
  const uint64_t offset = peek_sized(cpu, 0, bytes);
  const auto selector = static_cast<uint16_t>(peek_sized(cpu, bytes, bytes));
  const uint64_t popped_flags = iret ? peek_sized(cpu, 2 * uint64_t{bytes}, bytes) : 0;
  const uint64_t frame_bytes = (iret ? 3 : 2) * uint64_t{bytes} + release;
  uint64_t code_address;
  Descriptor code = check_return_code(cpu, selector, code_address);
  const unsigned rpl = selector & 3u;
  const bool target64 = cpu.long_mode && code.l();
  if (target64 ? !canonical_address(offset) : offset > code.limit()) raise_gp(0);

  uint64_t new_flags = 0;
  if (iret) {
    // Which flags IRET may change (SDM vol. 2 "IRET"): IOPL only at CPL 0,
    // IF only with CPL <= IOPL, judged by the CPL before the return.
    uint64_t mask = kArithmeticFlags | kTf | kDf | kNt | kRf | kAc | kId;
    if (cpu.cpl == 0) mask |= kIopl | (bytes >= 4 ? kVif | kVip : 0);
    if (cpu.cpl <= iopl(cpu)) mask |= kIf;
    if (bytes == 2) mask &= 0xffff;
    new_flags = (cpu.flags() & ~mask) | (popped_flags & mask);
  }

  const unsigned old_cpl = cpu.cpl;
  if (rpl == old_cpl && !always_pop_stack) {
    set_accessed(cpu, code_address, code);
    set_stack_pointer(cpu, cpu.gpr[kRsp] + frame_bytes);  // with the old mode's stack size
    if (iret) cpu.set_flags(new_flags);
    load_code_segment(cpu, code, selector, rpl);
    jump(cpu, offset);
    return;
  }
  const uint64_t new_sp = peek_sized(cpu, frame_bytes, bytes);
  const auto ss_selector = static_cast<uint16_t>(peek_sized(cpu, frame_bytes + bytes, bytes));
  ReturnStack stack = check_return_stack(cpu, ss_selector, rpl, target64 && rpl != 3);

  set_accessed(cpu, code_address, code);
  load_return_stack(cpu, stack, ss_selector, rpl);
  if (iret) cpu.set_flags(new_flags);
  load_code_segment(cpu, code, selector, rpl);
  set_stack_pointer(cpu, new_sp + release);  // with the new mode's stack size
  if (rpl > old_cpl) drop_inaccessible_data_segments(cpu);
  jump(cpu, offset);
}

template <typename T, bool>
struct RetFar {  // cb, ca iw
  static void run(Cpu& cpu, const Insn& i) {
    const uint64_t release = i.opcode == 0xca ? (i.imm & 0xffff) : 0;
    if (!protected_mode(cpu) || virtual_8086(cpu)) {
      T offset = peek<T>(cpu, 0);
      auto selector = static_cast<uint16_t>(peek<T>(cpu, sizeof(T)));
      set_stack_pointer(cpu, cpu.gpr[kRsp] + 2 * sizeof(T) + release);
      load_segment_real(cpu, kCs, selector);
      cpu.update_mode();
      jump(cpu, offset);
      return;
    }
    far_return(cpu, sizeof(T), release, false, false);
  }
};

// IRET in real mode and virtual-8086 mode (IOPL 3): FLAGS, CS, IP; VM,
// VIF and VIP never change, and virtual-8086 code cannot change IOPL.
void iret_real(Cpu& cpu, unsigned bytes) {
  const uint64_t offset = peek_sized(cpu, 0, bytes);
  const auto selector = static_cast<uint16_t>(peek_sized(cpu, bytes, bytes));
  const uint64_t popped = peek_sized(cpu, 2 * uint64_t{bytes}, bytes);
  uint64_t mask = kArithmeticFlags | kTf | kIf | kDf | kIopl | kNt | kRf | kAc | kId;
  if (virtual_8086(cpu)) mask &= ~kIopl;
  if (bytes == 2) mask &= 0xffff;
  set_stack_pointer(cpu, cpu.gpr[kRsp] + 3 * uint64_t{bytes});
  cpu.set_flags((cpu.flags() & ~mask) | (popped & mask));
  load_segment_real(cpu, kCs, selector);
  cpu.update_mode();
  jump(cpu, offset & operand_mask(bytes));
}

// IRETD at CPL 0 with VM set in the popped EFLAGS: back to virtual-8086
// mode, popping ESP, SS, ES, DS, FS, GS as well (SDM vol. 2 "IRET").
void iret_to_virtual_8086(Cpu& cpu) {
  uint32_t v[9];
  for (unsigned n = 0; n < 9; ++n) v[n] = peek<uint32_t>(cpu, n * 4);
  cpu.set_flags(v[2]);  // all of EFLAGS, VM included
  static constexpr unsigned kOrder[] = {kSs, kEs, kDs, kFs, kGs};
  for (unsigned n = 0; n < 5; ++n) load_segment_real(cpu, kOrder[n], static_cast<uint16_t>(v[4 + n]));
  load_segment_real(cpu, kCs, static_cast<uint16_t>(v[1]));
  cpu.gpr[kRsp] = v[3];
  cpu.cpl = 3;
  cpu.update_mode();
  jump(cpu, v[0] & 0xffff);
}

template <typename T, bool>
struct Iret {  // cf: iret / iretd / iretq
  static void run(Cpu& cpu, const Insn&) {
    constexpr unsigned bytes = sizeof(T);
    if (!protected_mode(cpu)) {
      iret_real(cpu, bytes);
    } else if (virtual_8086(cpu)) {
      if (iopl(cpu) < 3) raise_gp(0);
      iret_real(cpu, bytes);
    } else {
      // NT asks for a return to the previous task; hardware task switching
      // is not implemented, and in IA-32e mode NT faults anyway.
      if (cpu.rflags & kNt) raise_gp(0);
      if (!cpu.long_mode && bytes == 4 && cpu.cpl == 0 && (peek<uint32_t>(cpu, 8) & kVm)) {
        iret_to_virtual_8086(cpu);
      } else {
        // 64-bit mode always pops SS:RSP (SDM vol. 3 §6.14.3).
        far_return(cpu, bytes, 0, true, cpu.code_bits == 64);
      }
    }
    // NMIs are blocked from NMI delivery until the next IRET (§6.7.1).
    cpu.nmi_blocked = false;
  }
};

void int_n(Cpu& cpu, const Insn& i) {  // cd ib
  // Without VME, INT n in virtual-8086 mode is IOPL-sensitive (SDM vol. 3
  // §20.3.3); INT3 and INTO are not.
  if (virtual_8086(cpu) && iopl(cpu) < 3) raise_gp(0);
  deliver_interrupt(cpu, static_cast<uint8_t>(i.imm), false, 0, true, cpu.rip + i.length);
}
void int3(Cpu& cpu, const Insn& i) {  // cc
  deliver_interrupt(cpu, kBreakpoint, false, 0, true, cpu.rip + i.length);
}
void into(Cpu& cpu, const Insn& i) {  // ce
  if (!cpu.of()) {
    next(cpu, i);
    return;
  }
  deliver_interrupt(cpu, kOverflow, false, 0, true, cpu.rip + i.length);
}
void int1(Cpu& cpu, const Insn& i) {  // f1: ICEBP
  // A trap-like #DB that is not a software interrupt: no gate DPL check,
  // and EXT is set in error codes of faults during its delivery.
  deliver_interrupt(cpu, kDebug, false, 0, false, cpu.rip + i.length);
}

}  // namespace

void add_far_transfer_rows(std::vector<OpcodeRow>& t) {
  t.push_back({op1(0xea), -1, kAnyPrefix, "jmp", "Ap", kInvalid64 | kEndsBlock, word_sized_handlers<JmpFarDirect>()});
  t.push_back({op1(0x9a), -1, kAnyPrefix, "call", "Ap", kInvalid64 | kEndsBlock, word_sized_handlers<CallFarDirect>()});
  t.push_back({op1(0xff), 5, kAnyPrefix, "jmp", "Mp", kEndsBlock, word_sized_handlers<JmpFarIndirect>()});
  t.push_back({op1(0xff), 3, kAnyPrefix, "call", "Mp", kEndsBlock, word_sized_handlers<CallFarIndirect>()});
  t.push_back({op1(0xcb), -1, kAnyPrefix, "retf", "", kEndsBlock, word_sized_handlers<RetFar>()});
  t.push_back({op1(0xca), -1, kAnyPrefix, "retf", "Iw", kEndsBlock, word_sized_handlers<RetFar>()});
  t.push_back({op1(0xcf), -1, kAnyPrefix, "iret", "", kEndsBlock, word_sized_handlers<Iret>()});
  t.push_back({op1(0xcd), -1, kAnyPrefix, "int", "Ib", kEndsBlock, one_handler(&int_n)});
  t.push_back({op1(0xcc), -1, kAnyPrefix, "int3", "", kEndsBlock, one_handler(&int3)});
  t.push_back({op1(0xce), -1, kAnyPrefix, "into", "", kInvalid64 | kEndsBlock, one_handler(&into)});
  t.push_back({op1(0xf1), -1, kAnyPrefix, "int1", "", kEndsBlock, one_handler(&int1)});
}

}  // namespace vireo::tcg
