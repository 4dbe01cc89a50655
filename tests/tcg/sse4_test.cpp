// SSE3, SSSE3, SSE4.1 and SSE4.2 (PCMPGTQ, PCMPxSTRx) against the host:
// every form of every instruction, register and memory operands, random
// lanes that include NaNs (quiet and signalling, with payloads), denormals,
// signed zeros, infinities and ties for rounding, random MXCSR modes, and
// every imm8 for the instructions that take one. XMM, MXCSR, x87/MMX
// state, GPRs, flags, memory and exceptions are all compared.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "tests/tcg/differential.h"
#include "tests/tcg/encode.h"
#include "tests/tcg/random_values.h"
#include "tests/tcg/sse_values.h"

using namespace vireo;
using namespace vireo::tcg;
using namespace vireo::tcg::test;

namespace {

enum class Values { Int, F32, F64, Text };

struct Form {
  const char* name;
  uint8_t prefix;  // mandatory 66/F2/F3, or 0 for none (the MMX forms)
  std::vector<uint8_t> opcode;
  Values lanes = Values::Int;
  unsigned mem_bytes = 16;  // size of the memory operand
  bool aligned = true;      // an m128 that must be 16-byte aligned
  bool imm = false;         // an imm8 follows
  bool mmx = false;         // P/Q: MMX registers
  bool gpr_rm = false;      // the register form's r/m is a general register
  bool rex_w = false;
  bool mem_only = false;
};

// Strings for PCMPxSTRx: a small alphabet so matches happen, nulls, runs.
void random_text(TestRandom& r, uint8_t* out) {
  static constexpr uint8_t kAlphabet[] = {0x00, 0x01, 0x41, 0x42, 0x43, 0x7f, 0x80, 0xff, 0x61, 0x30};
  const unsigned style = static_cast<unsigned>(r.below(4));
  for (unsigned k = 0; k < 16; ++k) {
    out[k] = style == 0 ? static_cast<uint8_t>(r.next()) : kAlphabet[r.below(style == 1 ? 4 : sizeof kAlphabet)];
  }
  if (style == 3) std::memset(out, 0x41, r.below(17));
}

// Operands by kind: sse_values.h's lanes, or strings.
void random_vector(TestRandom& r, Values values, uint8_t* out) {
  switch (values) {
    case Values::F32: fill_vector(r, Lanes::F32, out); break;
    case Values::F64: fill_vector(r, Lanes::F64, out); break;
    case Values::Int: fill_vector(r, Lanes::Int, out); break;
    case Values::Text: random_text(r, out); break;
  }
}

int64_t random_length(TestRandom& r) {
  switch (r.below(6)) {
    case 0: return -static_cast<int64_t>(r.below(20));
    case 1: return static_cast<int64_t>(r.next());
    default: return static_cast<int64_t>(r.below(18));
  }
}

std::string hex32(uint32_t v) {
  char text[16];
  std::snprintf(text, sizeof text, "%08x", v);
  return text;
}
// High lane first, as a debugger shows it.
std::string hex128(const uint8_t* bytes) {
  std::string text;
  for (int k = 15; k >= 0; --k) {
    char pair[4];
    std::snprintf(pair, sizeof pair, "%02x", bytes[k]);
    text += pair;
    if (k % 4 == 0 && k) text += '_';
  }
  return text;
}

constexpr unsigned kBase = kRbx;  // memory operands are [rbx + disp]

// One case of `form` with `imm8`: random state, then host and vireo.
void run_case(Differential& d, const Form& form, uint8_t imm8, TestRandom& r) {
  CpuSnapshot in;
  for (unsigned g = 0; g < 16; ++g) in.gpr[g] = r.value(64);
  in.gpr[kRsp] = kDataAddress + 0x8000;
  in.rflags = r.next() & kSnapshotFlags;
  for (auto& xmm : in.fx.xmm) random_vector(r, form.lanes, xmm);
  if (form.lanes == Values::Text) {
    in.gpr[kRax] = static_cast<uint64_t>(random_length(r));
    in.gpr[kRdx] = static_cast<uint64_t>(random_length(r));
  }
  // MXCSR: every rounding mode, FTZ and DAZ, sometimes sticky flags, and
  // now and then unmasked exceptions (then #XM on both, or not).
  in.fx.mxcsr = random_mxcsr(r);
  if (form.mmx) {
    // MMi is physical register i; a random TOP makes ST(i) differ from it.
    in.fx.fsw = static_cast<uint16_t>(r.below(8) << 11);
    in.fx.ftw = static_cast<uint8_t>(r.next());
    for (auto& st : in.fx.st) {
      uint64_t mantissa = r.value(64);
      uint16_t exponent = static_cast<uint16_t>(r.next());
      std::memcpy(st, &mantissa, 8);
      std::memcpy(st + 8, &exponent, 2);
    }
  }

  const unsigned reg_count = form.mmx ? 8 : 16;
  Encoding e;
  if (form.prefix) e.prefixes = {form.prefix};
  e.op_bits = form.rex_w ? 64 : 32;
  e.opcode = form.opcode;
  e.reg = static_cast<unsigned>(r.below(reg_count));
  const bool memory = form.mem_only || (form.mem_bytes != 0 && r.chance(35));
  if (memory) {
    // Inside the window; aligned, or misaligned now and then to see #GP
    // (or its absence) for the aligned forms.
    int32_t disp = static_cast<int32_t>(r.below(64) * 16);
    if (r.chance(15)) disp += static_cast<int32_t>(1 + r.below(15));
    in.gpr[kBase] = kDataAddress + 0x100;
    e.rm = mem(kBase, disp);
    in.memory.resize(0x100 + 64 * 16 + 32);
    for (size_t k = 0; k + 16 <= in.memory.size(); k += 16) random_vector(r, form.lanes, in.memory.data() + k);
  } else {
    e.rm = reg(static_cast<unsigned>(r.below(form.gpr_rm ? 16 : reg_count)));
    if (form.gpr_rm && e.rm.reg == kRsp) e.rm.reg = kRbp;
  }
  if (form.imm) {
    e.imm = imm8;
    e.imm_bytes = 1;
  }
  // describe_input() shows GPRs and flags; the vector state is here.
  std::string state = "mxcsr in " + hex32(in.fx.mxcsr) + ", imm8 " + hex32(imm8) + "\nxmm" +
                      std::to_string(e.reg) + " = " + hex128(in.fx.xmm[e.reg]);
  if (!e.rm.mem && !form.gpr_rm) state += "\nxmm" + std::to_string(e.rm.reg) + " = " + hex128(in.fx.xmm[e.rm.reg]);
  if (e.rm.mem) state += "\nmemory operand at +" + std::to_string(0x100 + e.rm.disp);
  INFO(state);
  DiffOptions options;
  options.mask.sse = true;
  options.mask.x87 = true;
  CHECK_LIKE_HOST(d, encode(e), in, options);
}

void run_form(Differential& d, const Form& form, TestRandom& r, unsigned cases) {
  INFO(form.name);
  if (form.imm) {
    for (unsigned imm = 0; imm < 256; ++imm) {
      for (unsigned k = 0; k < cases; ++k) run_case(d, form, static_cast<uint8_t>(imm), r);
    }
  } else {
    for (unsigned k = 0; k < cases; ++k) run_case(d, form, 0, r);
  }
}

std::vector<uint8_t> map38(uint8_t op) { return {0x0f, 0x38, op}; }
std::vector<uint8_t> map3a(uint8_t op) { return {0x0f, 0x3a, op}; }

}  // namespace

TEST_CASE("SSE3 matches the host", "[tcg][sse3]") {
  Differential d;
  TestRandom r(3);
  const Form forms[] = {
      {"addsubpd", 0x66, {0x0f, 0xd0}, Values::F64},
      {"addsubps", 0xf2, {0x0f, 0xd0}, Values::F32},
      {"haddpd", 0x66, {0x0f, 0x7c}, Values::F64},
      {"haddps", 0xf2, {0x0f, 0x7c}, Values::F32},
      {"hsubpd", 0x66, {0x0f, 0x7d}, Values::F64},
      {"hsubps", 0xf2, {0x0f, 0x7d}, Values::F32},
      {"movsldup", 0xf3, {0x0f, 0x12}, Values::F32},
      {"movshdup", 0xf3, {0x0f, 0x16}, Values::F32},
      {"movddup", 0xf2, {0x0f, 0x12}, Values::F64, 8, false},
      {"lddqu", 0xf2, {0x0f, 0xf0}, Values::Int, 16, false, false, false, false, false, true},
  };
  for (const Form& f : forms) run_form(d, f, r, 400);
  CHECK_NO_MISMATCHES(d);
}

TEST_CASE("SSSE3 matches the host in MMX and XMM forms", "[tcg][ssse3]") {
  Differential d;
  TestRandom r(33);
  const std::pair<const char*, uint8_t> ops[] = {
      {"pshufb", 0x00},   {"phaddw", 0x01},  {"phaddd", 0x02}, {"phaddsw", 0x03}, {"pmaddubsw", 0x04},
      {"phsubw", 0x05},   {"phsubd", 0x06},  {"phsubsw", 0x07}, {"psignb", 0x08}, {"psignw", 0x09},
      {"psignd", 0x0a},   {"pmulhrsw", 0x0b}, {"pabsb", 0x1c},  {"pabsw", 0x1d},   {"pabsd", 0x1e},
  };
  for (const auto& [name, op] : ops) {
    Form mmx{name, 0, map38(op)};
    mmx.mmx = true;
    mmx.mem_bytes = 8;
    run_form(d, mmx, r, 250);
    run_form(d, Form{name, 0x66, map38(op)}, r, 250);
  }
  Form palignr_mmx{"palignr", 0, map3a(0x0f)};
  palignr_mmx.mmx = true;
  palignr_mmx.mem_bytes = 8;
  palignr_mmx.imm = true;
  run_form(d, palignr_mmx, r, 2);
  Form palignr{"palignr", 0x66, map3a(0x0f)};
  palignr.imm = true;
  run_form(d, palignr, r, 2);
  CHECK_NO_MISMATCHES(d);
}

TEST_CASE("SSE4.1 integer and data movement match the host", "[tcg][sse41]") {
  Differential d;
  TestRandom r(41);
  std::vector<Form> forms = {
      {"pblendvb", 0x66, map38(0x10)},
      {"blendvps", 0x66, map38(0x14), Values::F32},
      {"blendvpd", 0x66, map38(0x15), Values::F64},
      {"ptest", 0x66, map38(0x17)},
      {"pmuldq", 0x66, map38(0x28)},
      {"pcmpeqq", 0x66, map38(0x29)},
      {"packusdw", 0x66, map38(0x2b)},
      {"pcmpgtq", 0x66, map38(0x37)},
      {"pminsb", 0x66, map38(0x38)},
      {"pminsd", 0x66, map38(0x39)},
      {"pminuw", 0x66, map38(0x3a)},
      {"pminud", 0x66, map38(0x3b)},
      {"pmaxsb", 0x66, map38(0x3c)},
      {"pmaxsd", 0x66, map38(0x3d)},
      {"pmaxuw", 0x66, map38(0x3e)},
      {"pmaxud", 0x66, map38(0x3f)},
      {"pmulld", 0x66, map38(0x40)},
      {"phminposuw", 0x66, map38(0x41)},
  };
  Form movntdqa{"movntdqa", 0x66, map38(0x2a)};
  movntdqa.mem_only = true;
  forms.push_back(movntdqa);
  // PMOVSX/PMOVZX read 8, 4 or 2 bytes, unaligned.
  const unsigned extend_bytes[] = {8, 4, 2, 8, 4, 8};
  for (uint8_t k = 0; k < 6; ++k) {
    forms.push_back({"pmovsx", 0x66, map38(static_cast<uint8_t>(0x20 + k)), Values::Int, extend_bytes[k], false});
    forms.push_back({"pmovzx", 0x66, map38(static_cast<uint8_t>(0x30 + k)), Values::Int, extend_bytes[k], false});
  }
  for (const Form& f : forms) run_form(d, f, r, 300);

  // imm8 forms: every imm8.
  std::vector<Form> imm_forms = {
      {"blendps", 0x66, map3a(0x0c), Values::F32},
      {"blendpd", 0x66, map3a(0x0d), Values::F64},
      {"pblendw", 0x66, map3a(0x0e)},
      {"mpsadbw", 0x66, map3a(0x42)},
      {"insertps", 0x66, map3a(0x21), Values::F32, 4, false},
      // Lane to a general register or memory of the lane's size.
      {"pextrb", 0x66, map3a(0x14), Values::Int, 1, false, true, false, true},
      {"pextrw", 0x66, map3a(0x15), Values::Int, 2, false, true, false, true},
      {"pextrd", 0x66, map3a(0x16), Values::Int, 4, false, true, false, true},
      {"pextrq", 0x66, map3a(0x16), Values::Int, 8, false, true, false, true, true},
      {"extractps", 0x66, map3a(0x17), Values::F32, 4, false, true, false, true},
      {"extractps (REX.W)", 0x66, map3a(0x17), Values::F32, 4, false, true, false, true, true},
      {"pinsrb", 0x66, map3a(0x20), Values::Int, 1, false, true, false, true},
      {"pinsrd", 0x66, map3a(0x22), Values::Int, 4, false, true, false, true},
      {"pinsrq", 0x66, map3a(0x22), Values::Int, 8, false, true, false, true, true},
  };
  for (Form& f : imm_forms) {
    f.imm = true;
    run_form(d, f, r, 3);
  }
  CHECK_NO_MISMATCHES(d);
}

TEST_CASE("SSE4.1 floating point (ROUND, DPPS, DPPD) matches the host for every imm8", "[tcg][sse41]") {
  Differential d;
  TestRandom r(4141);
  std::vector<Form> forms = {
      {"roundps", 0x66, map3a(0x08), Values::F32},
      {"roundpd", 0x66, map3a(0x09), Values::F64},
      {"roundss", 0x66, map3a(0x0a), Values::F32, 4, false},
      {"roundsd", 0x66, map3a(0x0b), Values::F64, 8, false},
      {"dpps", 0x66, map3a(0x40), Values::F32},
      {"dppd", 0x66, map3a(0x41), Values::F64},
  };
  for (Form& f : forms) {
    f.imm = true;
    run_form(d, f, r, 6);
  }
  CHECK_NO_MISMATCHES(d);
}

TEST_CASE("SSE4.2 string compares match the host for every imm8", "[tcg][sse42]") {
  Differential d;
  TestRandom r(42);
  for (uint8_t op = 0x60; op <= 0x63; ++op) {
    for (bool wide : {false, true}) {
      Form f{"pcmpxstrx", 0x66, map3a(op), Values::Text, 16, false, true};
      f.rex_w = wide;  // 64-bit lengths for the explicit forms; ignored by the implicit ones
      run_form(d, f, r, 3);
    }
  }
  CHECK_NO_MISMATCHES(d);
}
