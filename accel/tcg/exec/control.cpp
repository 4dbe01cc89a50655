// Near control transfers and condition codes: JMP, Jcc, CALL, RET, LOOPcc,
// JrCXZ (Intel SDM vol. 2), plus SETcc and CMOVcc which share the
// condition encoding (vol. 1 appendix B).
#include <array>
#include <utility>

#include "accel/tcg/exec/families.h"
#include "accel/tcg/exec/operands.h"

namespace vireo::tcg {

namespace {

uint64_t next_rip(const Cpu& cpu, const Insn& i) { return cpu.rip + i.length; }

void jmp_rel(Cpu& cpu, const Insn& i) {
  uint64_t target = branch_target(i, next_rip(cpu, i) + i.imm);
  check_branch_target(cpu, target);
  jump(cpu, target);
}

// One handler per condition code, so each evaluates only the flags it needs.
template <unsigned Cc>
void jcc_rel(Cpu& cpu, const Insn& i) {
  uint64_t target = branch_target(i, condition(cpu, Cc) ? next_rip(cpu, i) + i.imm : next_rip(cpu, i));
  check_branch_target(cpu, target);
  jump(cpu, target);
}

template <unsigned... Cc>
constexpr std::array<Handler, 16> make_jcc_handlers(std::integer_sequence<unsigned, Cc...>) {
  return {&jcc_rel<Cc>...};
}
constexpr std::array<Handler, 16> kJccHandlers = make_jcc_handlers(std::make_integer_sequence<unsigned, 16>{});

template <typename T, bool Mem>
struct JmpE {  // ff /4
  static void run(Cpu& cpu, const Insn& i) {
    T target = read_rm<T, Mem>(cpu, i);
    check_branch_target(cpu, target);
    jump(cpu, target);
  }
};

template <typename T, bool>
struct CallRel {  // e8
  static void run(Cpu& cpu, const Insn& i) {
    uint64_t ret = next_rip(cpu, i);
    uint64_t target = branch_target(i, ret + i.imm);
    check_branch_target(cpu, target);
    push<T>(cpu, static_cast<T>(ret));
    jump(cpu, target);
  }
};
template <typename T, bool Mem>
struct CallE {  // ff /2
  static void run(Cpu& cpu, const Insn& i) {
    T target = read_rm<T, Mem>(cpu, i);
    check_branch_target(cpu, target);
    push<T>(cpu, static_cast<T>(next_rip(cpu, i)));
    jump(cpu, target);
  }
};
template <typename T, bool>
struct Ret {  // c3, c2 (with imm16 to release)
  static void run(Cpu& cpu, const Insn& i) {
    T target = peek<T>(cpu, 0);
    check_branch_target(cpu, target);
    set_stack_pointer(cpu, cpu.gpr[kRsp] + sizeof(T) + (i.opcode == 0xc2 ? (i.imm & 0xffff) : 0));
    jump(cpu, target);
  }
};

// LOOP/LOOPE/LOOPNE/JrCXZ count with the address-size part of rCX.
uint64_t count_register(const Cpu& cpu, const Insn& i) { return wrap_address(cpu.gpr[kRcx], i.addr_bits); }
void set_count_register(Cpu& cpu, const Insn& i, uint64_t v) {
  if (i.addr_bits == 64) cpu.gpr[kRcx] = v;
  else if (i.addr_bits == 32) cpu.gpr[kRcx] = v & 0xffffffffull;
  else cpu.gpr[kRcx] = (cpu.gpr[kRcx] & ~0xffffull) | (v & 0xffff);
}

void loop_family(Cpu& cpu, const Insn& i) {
  bool taken;
  uint64_t count = 0;
  if (i.opcode == 0xe3) {  // jrcxz
    taken = count_register(cpu, i) == 0;
  } else {
    count = wrap_address(count_register(cpu, i) - 1, i.addr_bits);
    taken = count != 0;
    if (i.opcode == 0xe1) taken = taken && cpu.zf();   // loope
    if (i.opcode == 0xe0) taken = taken && !cpu.zf();  // loopne
  }
  uint64_t target = branch_target(i, taken ? next_rip(cpu, i) + i.imm : next_rip(cpu, i));
  check_branch_target(cpu, target);  // before rCX changes
  if (i.opcode != 0xe3) set_count_register(cpu, i, count);
  jump(cpu, target);
}

template <typename T, bool Mem>
struct Setcc {  // 0f 90-9f
  static void run(Cpu& cpu, const Insn& i) {
    write_rm<uint8_t, Mem>(cpu, i, condition(cpu, i.opcode & 0xf) ? 1 : 0);
    next(cpu, i);
  }
};
template <typename T, bool Mem>
struct Cmovcc {  // 0f 40-4f
  static void run(Cpu& cpu, const Insn& i) {
    // The source is read (and may fault) whatever the condition; a 32-bit
    // destination is zero-extended even when the move does not happen.
    T v = read_rm<T, Mem>(cpu, i);
    if (condition(cpu, i.opcode & 0xf)) cpu.set<T>(i.reg, v);
    else if constexpr (sizeof(T) == 4) cpu.set<T>(i.reg, cpu.get<T>(i.reg));
    next(cpu, i);
  }
};

}  // namespace

void add_control_rows(std::vector<OpcodeRow>& t) {
  constexpr uint32_t kBranch = kForce64 | kEndsBlock;
  t.push_back({op1(0xeb), -1, kAnyPrefix, "jmp", "Jb", kBranch, one_handler(&jmp_rel)});
  t.push_back({op1(0xe9), -1, kAnyPrefix, "jmp", "Jz", kBranch, one_handler(&jmp_rel)});
  t.push_back({op1(0xff), 4, kAnyPrefix, "jmp", "Ev", kBranch, sized_handlers<JmpE>()});
  for (uint8_t cc = 0; cc < 16; ++cc) {
    t.push_back({op1(0x70 + cc), -1, kAnyPrefix, "jcc", "Jb", kBranch, one_handler(kJccHandlers[cc])});
    t.push_back({op0f(0x80 + cc), -1, kAnyPrefix, "jcc", "Jz", kBranch, one_handler(kJccHandlers[cc])});
    t.push_back({op0f(0x90 + cc), -1, kAnyPrefix, "setcc", "Eb", 0, sized_handlers<Setcc>()});
    t.push_back({op0f(0x40 + cc), -1, kAnyPrefix, "cmovcc", "Gv,Ev", 0, sized_handlers<Cmovcc>()});
  }
  t.push_back({op1(0xe8), -1, kAnyPrefix, "call", "Jz", kBranch, sized_handlers<CallRel>()});
  t.push_back({op1(0xff), 2, kAnyPrefix, "call", "Ev", kBranch, sized_handlers<CallE>()});
  t.push_back({op1(0xc3), -1, kAnyPrefix, "ret", "", kBranch, sized_handlers<Ret>()});
  t.push_back({op1(0xc2), -1, kAnyPrefix, "ret", "Iw", kBranch, sized_handlers<Ret>()});
  for (uint8_t op = 0xe0; op <= 0xe3; ++op) {
    t.push_back({op1(op), -1, kAnyPrefix, op == 0xe3 ? "jrcxz" : "loop", "Jb", kBranch, one_handler(&loop_family)});
  }
}

}  // namespace vireo::tcg
