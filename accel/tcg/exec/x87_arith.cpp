// The computational x87 instructions (ESC opcodes D8-DF, Intel SDM vol. 2
// "FABS" through "FYL2XP1", opcode map tables ): loads, stores,
// constants, arithmetic, comparisons, transcendentals, FXCH, FCMOVcc,
// FFREE, FINCSTP/FDECSTP, FNOP. Each executes on the host's x87 unit
// (x87_host.cpp); what is here is the decode table, the guest memory
// operand, the CR0 checks, pending-exception checks and FIP/FDP/FOP.
//
// The control instructions among D9/DB/DD/DF (FLDENV, FLDCW, FNSTENV,
// FNSTCW, FNCLEX, FNINIT, FRSTOR, FNSAVE, FNSTSW) are in x87_state.cpp.
#include "accel/tcg/exec/families.h"
#include "accel/tcg/exec/operands.h"
#include "accel/tcg/exec/x87.h"

namespace vireo::tcg {

namespace {

using x87::HostRun;
using x87::run_on_host;

void begin_waiting(const Cpu& cpu) {
  x87::check_device_available(cpu);
  x87::check_pending(cpu);
}

// Register forms and forms without operands: ST(i) is in the ModRM byte,
// which run_on_host passes to the host unchanged.
template <bool WritesEflags>
void host_register_form(Cpu& cpu, const Insn& i) {
  begin_waiting(cpu);
  HostRun run;
  run.rflags = cpu.flags();
  run_on_host(cpu.fpu, i.opcode, i.modrm, run);
  // FCOMI and friends set ZF, PF, CF and clear OF, SF, AF (SDM "FCOMI").
  if constexpr (WritesEflags) cpu.set_arithmetic_flags(kArithmeticFlags, run.rflags);
  x87::note_instruction(cpu, i);
  next(cpu, i);
}

// Memory operand of `Bytes` bytes read from the guest before the operation.
template <unsigned Bytes>
void host_load_form(Cpu& cpu, const Insn& i) {
  begin_waiting(cpu);
  uint64_t offset = effective_address(cpu, i);
  alignas(16) uint8_t operand[16] = {};
  uint64_t lin = cpu.linear(i.seg, offset, Bytes, Access::Read);
  if constexpr (Bytes == 2) {
    uint16_t v = cpu.read_linear<uint16_t>(lin);
    std::memcpy(operand, &v, 2);
  } else if constexpr (Bytes == 4) {
    uint32_t v = cpu.read_linear<uint32_t>(lin);
    std::memcpy(operand, &v, 4);
  } else if constexpr (Bytes == 8) {
    uint64_t v = cpu.read_linear<uint64_t>(lin);
    std::memcpy(operand, &v, 8);
  } else {
    cpu.read_slow(lin, operand, Bytes, cpu.cpl == 3);
  }
  HostRun run;
  run.mem = operand;
  run_on_host(cpu.fpu, i.opcode, i.modrm, run);
  x87::note_instruction(cpu, i);
  x87::note_operand(cpu, i, offset);
  next(cpu, i);
}

// Memory operand of `Bytes` bytes written by the operation (FST, FIST,
// FISTTP, FBSTP). With an unmasked exception the hardware may store
// nothing (SDM vol. 1 §8.5: the destination stays unchanged for #IA/#O/#U
// unmasked); rather than restate those rules, the host decides: the
// operation runs a second time over a different background, and bytes it
// left alone both times were not written.
template <unsigned Bytes>
void host_store_form(Cpu& cpu, const Insn& i) {
  begin_waiting(cpu);
  uint64_t offset = effective_address(cpu, i);
  uint64_t lin = cpu.linear(i.seg, offset, Bytes, Access::Write);
  FpuState result = cpu.fpu;
  alignas(16) uint8_t operand[16];
  std::memset(operand, 0x00, sizeof operand);
  HostRun run;
  run.mem = operand;
  run_on_host(result, i.opcode, i.modrm, run);
  bool stored = true;
  if (run.raised & ~cpu.fpu.fcw & x87::kExceptionFlags) {
    FpuState again = cpu.fpu;
    alignas(16) uint8_t background[16];
    std::memset(background, 0xff, sizeof background);
    HostRun rerun;
    rerun.mem = background;
    run_on_host(again, i.opcode, i.modrm, rerun);
    stored = false;
    for (unsigned b = 0; b < Bytes; ++b) stored = stored || operand[b] != 0x00 || background[b] != 0xff;
  }
  // The write may fault; the FPU changes only once it has succeeded.
  if (stored) {
    if constexpr (Bytes == 2) {
      uint16_t v;
      std::memcpy(&v, operand, 2);
      cpu.write_linear<uint16_t>(lin, v);
    } else if constexpr (Bytes == 4) {
      uint32_t v;
      std::memcpy(&v, operand, 4);
      cpu.write_linear<uint32_t>(lin, v);
    } else if constexpr (Bytes == 8) {
      uint64_t v;
      std::memcpy(&v, operand, 8);
      cpu.write_linear<uint64_t>(lin, v);
    } else {
      cpu.write_slow(lin, operand, Bytes, cpu.cpl == 3);
    }
  }
  cpu.fpu = result;
  x87::note_instruction(cpu, i);
  x87::note_operand(cpu, i, offset);
  next(cpu, i);
}

constexpr HandlerSet kRegister = form_handlers(&host_register_form<false>, nullptr);
constexpr HandlerSet kRegisterEflags = form_handlers(&host_register_form<true>, nullptr);
template <unsigned Bytes>
constexpr HandlerSet kLoad = form_handlers(nullptr, &host_load_form<Bytes>);
template <unsigned Bytes>
constexpr HandlerSet kStore = form_handlers(nullptr, &host_store_form<Bytes>);

struct Rows {
  std::vector<OpcodeRow>& t;
  void reg(uint8_t op, int ext, const char* name, const char* operands, HandlerSet h = kRegister) {
    t.push_back({op1(op), static_cast<int8_t>(ext), kAnyPrefix, name, operands, 0, h});
  }
  // A form with a fixed ModRM byte (D9 E8 = FLD1).
  void fixed(uint8_t op, uint8_t modrm, const char* name, const char* operands = "") {
    t.push_back({op1(op), static_cast<int8_t>((modrm >> 3) & 7), kAnyPrefix, name, operands, 0, kRegister,
                 static_cast<int8_t>(modrm & 7)});
  }
  void mem(uint8_t op, int ext, const char* name, const char* operands, HandlerSet h) {
    t.push_back({op1(op), static_cast<int8_t>(ext), kAnyPrefix, name, operands, 0, h});
  }
};

// The eight arithmetic operations of D8/DC/DA/DE /0-/7, in ModRM.reg order.
constexpr const char* kArith[8] = {"fadd", "fmul", "fcom", "fcomp", "fsub", "fsubr", "fdiv", "fdivr"};
constexpr const char* kIntArith[8] = {"fiadd", "fimul", "ficom", "ficomp", "fisub", "fisubr", "fidiv", "fidivr"};

}  // namespace

void add_x87_arith_rows(std::vector<OpcodeRow>& t) {
  Rows r{t};
  for (int n = 0; n < 8; ++n) {
    r.mem(0xd8, n, kArith[n], "Md", kLoad<4>);   // m32fp
    r.mem(0xdc, n, kArith[n], "Mq", kLoad<8>);   // m64fp
    r.mem(0xda, n, kIntArith[n], "Md", kLoad<4>);  // m32int
    r.mem(0xde, n, kIntArith[n], "Mw", kLoad<2>);  // m16int
    r.reg(0xd8, n, kArith[n], "ST0,STi");
  }
  // DC: ST(i) op= ST(0). The SDM names E0+i FSUBR and E8+i FSUB here: the
  // reverse of D8's naming, because the destination is ST(i).
  r.reg(0xdc, 0, "fadd", "STi,ST0");
  r.reg(0xdc, 1, "fmul", "STi,ST0");
  r.reg(0xdc, 2, "fcom", "STi");   // reserved alias of D8 D0+i
  r.reg(0xdc, 3, "fcomp", "STi");  // reserved alias of D8 D8+i
  r.reg(0xdc, 4, "fsubr", "STi,ST0");
  r.reg(0xdc, 5, "fsub", "STi,ST0");
  r.reg(0xdc, 6, "fdivr", "STi,ST0");
  r.reg(0xdc, 7, "fdiv", "STi,ST0");
  r.reg(0xde, 0, "faddp", "STi,ST0");
  r.reg(0xde, 1, "fmulp", "STi,ST0");
  r.reg(0xde, 2, "fcomp", "STi");  // reserved alias of D8 D8+i
  r.fixed(0xde, 0xd9, "fcompp");
  r.reg(0xde, 4, "fsubrp", "STi,ST0");
  r.reg(0xde, 5, "fsubp", "STi,ST0");
  r.reg(0xde, 6, "fdivrp", "STi,ST0");
  r.reg(0xde, 7, "fdivp", "STi,ST0");

  // D9: loads and stores of m32fp, the register stack, constants, and the
  // one-operand functions.
  r.mem(0xd9, 0, "fld", "Md", kLoad<4>);
  r.mem(0xd9, 2, "fst", "Md", kStore<4>);
  r.mem(0xd9, 3, "fstp", "Md", kStore<4>);
  r.reg(0xd9, 0, "fld", "STi");
  r.reg(0xd9, 1, "fxch", "STi");
  r.fixed(0xd9, 0xd0, "fnop");
  r.reg(0xd9, 3, "fstp", "STi");  // reserved alias of DD D8+i
  static constexpr struct {
    uint8_t modrm;
    const char* name;
  } kD9[] = {
      {0xe0, "fchs"},   {0xe1, "fabs"},    {0xe4, "ftst"},   {0xe5, "fxam"},
      {0xe8, "fld1"},   {0xe9, "fldl2t"},  {0xea, "fldl2e"}, {0xeb, "fldpi"},
      {0xec, "fldlg2"}, {0xed, "fldln2"},  {0xee, "fldz"},
      {0xf0, "f2xm1"},  {0xf1, "fyl2x"},   {0xf2, "fptan"},  {0xf3, "fpatan"},
      {0xf4, "fxtract"}, {0xf5, "fprem1"}, {0xf6, "fdecstp"}, {0xf7, "fincstp"},
      {0xf8, "fprem"},  {0xf9, "fyl2xp1"}, {0xfa, "fsqrt"},  {0xfb, "fsincos"},
      {0xfc, "frndint"}, {0xfd, "fscale"}, {0xfe, "fsin"},   {0xff, "fcos"},
  };
  for (const auto& row : kD9) r.fixed(0xd9, row.modrm, row.name);

  // DA/DB: FCMOVcc (EFLAGS in), FUCOMPP, integer and m80 loads and stores,
  // FUCOMI/FCOMI (EFLAGS out).
  r.reg(0xda, 0, "fcmovb", "ST0,STi");
  r.reg(0xda, 1, "fcmove", "ST0,STi");
  r.reg(0xda, 2, "fcmovbe", "ST0,STi");
  r.reg(0xda, 3, "fcmovu", "ST0,STi");
  r.fixed(0xda, 0xe9, "fucompp");
  r.reg(0xdb, 0, "fcmovnb", "ST0,STi");
  r.reg(0xdb, 1, "fcmovne", "ST0,STi");
  r.reg(0xdb, 2, "fcmovnbe", "ST0,STi");
  r.reg(0xdb, 3, "fcmovnu", "ST0,STi");
  r.reg(0xdb, 5, "fucomi", "ST0,STi", kRegisterEflags);
  r.reg(0xdb, 6, "fcomi", "ST0,STi", kRegisterEflags);
  r.mem(0xdb, 0, "fild", "Md", kLoad<4>);
  r.mem(0xdb, 1, "fisttp", "Md", kStore<4>);  // SSE3
  r.mem(0xdb, 2, "fist", "Md", kStore<4>);
  r.mem(0xdb, 3, "fistp", "Md", kStore<4>);
  r.mem(0xdb, 5, "fld", "Mt", kLoad<10>);
  r.mem(0xdb, 7, "fstp", "Mt", kStore<10>);

  // DD: m64fp loads and stores, FFREE, register stores, FUCOM(P).
  r.mem(0xdd, 0, "fld", "Mq", kLoad<8>);
  r.mem(0xdd, 1, "fisttp", "Mq", kStore<8>);  // SSE3
  r.mem(0xdd, 2, "fst", "Mq", kStore<8>);
  r.mem(0xdd, 3, "fstp", "Mq", kStore<8>);
  r.reg(0xdd, 0, "ffree", "STi");
  r.reg(0xdd, 1, "fxch", "STi");  // reserved alias of D9 C8+i
  r.reg(0xdd, 2, "fst", "STi");
  r.reg(0xdd, 3, "fstp", "STi");
  r.reg(0xdd, 4, "fucom", "STi");
  r.reg(0xdd, 5, "fucomp", "STi");

  // DF: m16/m64 integers, packed BCD, FFREEP, FUCOMIP/FCOMIP.
  r.mem(0xdf, 0, "fild", "Mw", kLoad<2>);
  r.mem(0xdf, 1, "fisttp", "Mw", kStore<2>);  // SSE3
  r.mem(0xdf, 2, "fist", "Mw", kStore<2>);
  r.mem(0xdf, 3, "fistp", "Mw", kStore<2>);
  r.mem(0xdf, 4, "fbld", "Mt", kLoad<10>);
  r.mem(0xdf, 5, "fild", "Mq", kLoad<8>);
  r.mem(0xdf, 6, "fbstp", "Mt", kStore<10>);
  r.mem(0xdf, 7, "fistp", "Mq", kStore<8>);
  r.reg(0xdf, 0, "ffreep", "STi");  // undocumented by Intel, used by some compilers
  r.reg(0xdf, 1, "fxch", "STi");    // reserved alias of D9 C8+i
  r.reg(0xdf, 2, "fstp", "STi");    // reserved alias of DD D8+i
  r.reg(0xdf, 3, "fstp", "STi");    // reserved alias of DD D8+i
  r.reg(0xdf, 5, "fucomip", "ST0,STi", kRegisterEflags);
  r.reg(0xdf, 6, "fcomip", "ST0,STi", kRegisterEflags);
}

}  // namespace vireo::tcg
