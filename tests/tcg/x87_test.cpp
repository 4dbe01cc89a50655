// The x87 FPU (accel/tcg/exec/x87_*.cpp) against the host CPU: every x87
// instruction form from random register stacks (zeros of both signs,
// denormals, pseudo-denormals, unnormals, infinities, quiet and signalling
// NaNs, huge and tiny exponents), under all rounding and precision
// controls, with empty and full stacks and with exceptions masked and
// unmasked. Compared: FCW, FSW (C0-C3, flags, SF, ES/B, TOP), the tag
// word, ST(0)-ST(7), EFLAGS, memory and exceptions (#MF for pending ones).
#include <catch2/catch.hpp>

#include <cstring>
#include <optional>
#include <vector>

#include "accel/tcg/exec/x87.h"
#include "tests/tcg/differential.h"
#include "tests/tcg/random_values.h"

using namespace vireo;
using namespace vireo::tcg;
using namespace vireo::tcg::test;

namespace {

using Bytes = std::vector<uint8_t>;

// ---- random x87 values --------------------------------------------------

struct Ext80 {
  uint64_t significand;
  uint16_t sign_exponent;
};

Ext80 random_ext80(TestRandom& rng) {
  const uint16_t sign = rng.chance(50) ? 0x8000 : 0;
  const uint64_t j = 1ull << 63;
  uint64_t fraction = rng.next() & (j - 1);
  if (rng.chance(30)) fraction &= ~0ull << (rng.below(63) + 1);  // short fractions: exact halves, integers
  switch (rng.below(20)) {
    case 0: return {0, sign};                                                        // zero
    case 1: return {fraction | 1, sign};                                             // denormal
    case 2: return {j | fraction, sign};                                             // pseudo-denormal
    case 3: return {j, static_cast<uint16_t>(sign | 0x7fff)};                        // infinity
    case 4: return {j | (1ull << 62) | (fraction >> 1), static_cast<uint16_t>(sign | 0x7fff)};  // QNaN
    case 5: return {j | ((fraction >> 2) | 1), static_cast<uint16_t>(sign | 0x7fff)};  // SNaN
    case 6: return {j | (1ull << 62), 0xffff};                                       // QNaN indefinite
    case 7: return {fraction, static_cast<uint16_t>(sign | (1 + rng.below(0x7ffe)))};  // unnormal
    case 8:                                                                          // near the top
      return {j | fraction, static_cast<uint16_t>(sign | (0x7ffe - rng.below(64)))};
    case 9:                                                                          // near the bottom
      return {j | fraction, static_cast<uint16_t>(sign | (1 + rng.below(64)))};
    case 10: {                                                                       // small integers
      uint64_t n = 1 + rng.below(1000);
      int shift = __builtin_clzll(n);
      return {n << shift, static_cast<uint16_t>(sign | (0x3fff + 63 - shift))};
    }
    case 11:                                                                         // huge: trig out of range
      return {j | fraction, static_cast<uint16_t>(sign | (0x3fff + 55 + rng.below(20)))};
    default:                                                                         // around 1
      return {j | fraction, static_cast<uint16_t>(sign | (0x3fff - 40 + rng.below(80)))};
  }
}

void put_ext80(uint8_t* p, Ext80 v) {
  std::memcpy(p, &v.significand, 8);
  std::memcpy(p + 8, &v.sign_exponent, 2);
}

// An IEEE single or double with the same spread of classes.
uint64_t random_ieee(TestRandom& rng, unsigned exponent_bits, unsigned fraction_bits) {
  const uint64_t exp_max = (1ull << exponent_bits) - 1;
  const uint64_t bias = exp_max >> 1;
  const uint64_t sign = rng.chance(50) ? 1ull << (exponent_bits + fraction_bits) : 0;
  uint64_t fraction = rng.next() & ((1ull << fraction_bits) - 1);
  if (rng.chance(30)) fraction &= ~0ull << rng.below(fraction_bits);
  uint64_t exponent;
  switch (rng.below(10)) {
    case 0: exponent = 0; fraction = 0; break;
    case 1: exponent = 0; fraction |= 1; break;  // denormal
    case 2: exponent = exp_max; fraction = 0; break;
    case 3: exponent = exp_max; fraction |= 1; break;  // NaN, quiet or signalling
    case 4: exponent = exp_max - 1 - rng.below(4); break;
    case 5: exponent = 1 + rng.below(4); break;
    default: exponent = bias - 20 + rng.below(40); break;
  }
  return sign | (exponent << fraction_bits) | fraction;
}

// FCW: any rounding and precision control (including the reserved
// precision 01), usually every exception masked.
uint16_t random_fcw(TestRandom& rng) {
  uint16_t masks = rng.chance(75) ? 0x3f : static_cast<uint16_t>(rng.below(64));
  uint16_t pc = static_cast<uint16_t>(rng.below(4) << 8);
  uint16_t rc = static_cast<uint16_t>(rng.below(4) << 10);
  return static_cast<uint16_t>(masks | pc | rc | x87::kFcwFixedOnes | (rng.chance(10) ? 0x1000 : 0));
}

enum class Stack { Random, Empty, Full, TwoFree };

// A random x87 state in the snapshot (the FXSAVE image both CPUs load).
// With `pending` false no unmasked exception flag is set, so the code
// runs instead of taking #MF.
void random_x87(TestRandom& rng, CpuSnapshot& s, Stack stack = Stack::Random, bool pending = false) {
  FxsaveArea& fx = s.fx;
  fx.fcw = random_fcw(rng);
  unsigned top = static_cast<unsigned>(rng.below(8));
  uint16_t flags = rng.chance(30) ? static_cast<uint16_t>(rng.below(128)) : 0;
  if (!pending) flags &= static_cast<uint16_t>(fx.fcw | x87::kSf);  // only masked flags set
  uint16_t cbits = static_cast<uint16_t>(rng.next() & (x87::kC0 | x87::kC1 | x87::kC2 | x87::kC3));
  fx.fsw = x87::with_summary(static_cast<uint16_t>(flags | cbits | (top << 11)), fx.fcw);
  uint8_t tags = 0;
  for (unsigned p = 0; p < 8; ++p) {
    bool full;
    switch (stack) {
      case Stack::Empty: full = false; break;
      case Stack::Full: full = true; break;
      case Stack::TwoFree: full = p != ((top + 7) & 7) && p != ((top + 6) & 7); break;
      default: full = !rng.chance(20); break;
    }
    if (full) tags = static_cast<uint8_t>(tags | (1u << p));
  }
  fx.ftw = tags;
  for (unsigned i = 0; i < 8; ++i) {
    std::memset(fx.st[i], 0, 16);
    put_ext80(fx.st[i], random_ext80(rng));
  }
}

CpuSnapshot base_input(TestRandom& rng) {
  CpuSnapshot s;
  for (unsigned r = 0; r < 16; ++r) s.gpr[r] = rng.next();
  s.gpr[kRdi] = kDataAddress;
  s.gpr[kRsp] = kDataAddress + 0x1000;
  s.rflags = rng.next() & 0x8d5;
  s.memory.assign(0x400, 0);
  for (auto& b : s.memory) b = static_cast<uint8_t>(rng.next());
  return s;
}

DiffOptions x87_compare() {
  DiffOptions o;
  o.mask.x87 = true;
  return o;
}

// Runs one case like CHECK_LIKE_HOST, with two allowances:
//  - the fixture loads FpuState from a 64-bit FXSAVE image, which has no
//    FCS/FDS selectors; the host's FXRSTOR64 leaves them 0, so they are
//    zeroed here rather than left over from the previous case;
//  - memory bytes [skip_begin, skip_end) of the window are not compared
//    (MXCSR_MASK in an FXSAVE image is the host model's, not vireo's).
void check_case(Differential& diff, const Bytes& code, const CpuSnapshot& in, DiffOptions options,
                size_t skip_begin = 0, size_t skip_end = 0) {
  diff.fixture().cpu().fpu.fcs = 0;
  diff.fixture().cpu().fpu.fds = 0;
  options.mask.memory = false;
  const uint64_t before = diff.mismatches;
  std::string report = diff.compare(code, in, options);
  std::string memory;
  const std::vector<uint8_t>& expected = diff.host().memory;
  const std::vector<uint8_t>& actual = diff.guest().memory;
  for (size_t b = 0; b < expected.size() && b < actual.size(); ++b) {
    if ((b < skip_begin || b >= skip_end) && expected[b] != actual[b]) {
      char line[80];
      std::snprintf(line, sizeof line, "memory[0x%zx]: expected %02x actual %02x\n", b, expected[b], actual[b]);
      memory += line;
    }
  }
  if (!memory.empty()) {
    if (diff.mismatches == before) ++diff.mismatches;
    report += (report.empty() ? "code: " + describe_code(code, options.mode) + "\n" : "") + memory;
  }
  if (!report.empty() && diff.mismatches <= 8) FAIL_CHECK(report);
}

// The memory operand at [rdi+0x40] in the form's format.
enum class Operand { None, M16Int, M32Int, M64Int, M32Fp, M64Fp, M80, Bcd };

void random_operand(TestRandom& rng, CpuSnapshot& s, Operand kind) {
  uint8_t* p = s.memory.data() + 0x40;
  switch (kind) {
    case Operand::None: break;
    case Operand::M16Int: { uint64_t v = rng.value(16); std::memcpy(p, &v, 2); break; }
    case Operand::M32Int: { uint64_t v = rng.value(32); std::memcpy(p, &v, 4); break; }
    case Operand::M64Int: { uint64_t v = rng.value(64); std::memcpy(p, &v, 8); break; }
    case Operand::M32Fp: { uint64_t v = random_ieee(rng, 8, 23); std::memcpy(p, &v, 4); break; }
    case Operand::M64Fp: { uint64_t v = random_ieee(rng, 11, 52); std::memcpy(p, &v, 8); break; }
    case Operand::M80: put_ext80(p, random_ext80(rng)); break;
    case Operand::Bcd:
      for (int d = 0; d < 9; ++d) {
        // Mostly valid digit pairs; now and then an invalid nibble.
        p[d] = rng.chance(95) ? static_cast<uint8_t>(rng.below(10) | (rng.below(10) << 4)) : static_cast<uint8_t>(rng.next());
      }
      p[9] = rng.chance(50) ? 0x80 : static_cast<uint8_t>(rng.chance(90) ? 0 : rng.next());
      break;
  }
}

struct Form {
  uint8_t op;
  int reg;        // ModRM.reg of a memory form, or -1 for a register form
  uint8_t modrm;  // register forms: ModRM with rm = 0 (ST(i) added), or the fixed byte
  bool sti;       // the register form takes ST(i)
  Operand operand;
};

// Every computational form (x87_arith.cpp's rows).
std::vector<Form> computational_forms() {
  std::vector<Form> f;
  for (int n = 0; n < 8; ++n) {
    f.push_back({0xd8, n, 0, false, Operand::M32Fp});
    f.push_back({0xdc, n, 0, false, Operand::M64Fp});
    f.push_back({0xda, n, 0, false, Operand::M32Int});
    f.push_back({0xde, n, 0, false, Operand::M16Int});
    f.push_back({0xd8, -1, static_cast<uint8_t>(0xc0 | n << 3), true, Operand::None});
    f.push_back({0xdc, -1, static_cast<uint8_t>(0xc0 | n << 3), true, Operand::None});
    if (n != 3) f.push_back({0xde, -1, static_cast<uint8_t>(0xc0 | n << 3), true, Operand::None});
  }
  f.push_back({0xde, -1, 0xd9, false, Operand::None});  // fcompp
  f.push_back({0xd9, 0, 0, false, Operand::M32Fp});
  f.push_back({0xd9, 2, 0, false, Operand::None});
  f.push_back({0xd9, 3, 0, false, Operand::None});
  f.push_back({0xd9, -1, 0xc0, true, Operand::None});  // fld st(i)
  f.push_back({0xd9, -1, 0xc8, true, Operand::None});  // fxch
  f.push_back({0xd9, -1, 0xd0, false, Operand::None}); // fnop
  f.push_back({0xd9, -1, 0xd8, true, Operand::None});  // fstp1
  for (uint8_t m : {0xe0, 0xe1, 0xe4, 0xe5, 0xe8, 0xe9, 0xea, 0xeb, 0xec, 0xed, 0xee, 0xf0, 0xf1, 0xf2, 0xf3,
                    0xf4, 0xf5, 0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb, 0xfc, 0xfd, 0xfe, 0xff}) {
    f.push_back({0xd9, -1, m, false, Operand::None});
  }
  for (uint8_t m : {0xc0, 0xc8, 0xd0, 0xd8}) {
    f.push_back({0xda, -1, m, true, Operand::None});  // fcmovb/e/be/u
    f.push_back({0xdb, -1, m, true, Operand::None});  // fcmovnb/ne/nbe/nu
  }
  f.push_back({0xda, -1, 0xe9, false, Operand::None});  // fucompp
  f.push_back({0xdb, -1, 0xe8, true, Operand::None});   // fucomi
  f.push_back({0xdb, -1, 0xf0, true, Operand::None});   // fcomi
  f.push_back({0xdb, 0, 0, false, Operand::M32Int});
  for (int n : {1, 2, 3, 7}) f.push_back({0xdb, n, 0, false, Operand::None});
  f.push_back({0xdb, 5, 0, false, Operand::M80});
  f.push_back({0xdd, 0, 0, false, Operand::M64Fp});
  for (int n : {1, 2, 3}) f.push_back({0xdd, n, 0, false, Operand::None});
  for (uint8_t m : {0xc0, 0xc8, 0xd0, 0xd8, 0xe0, 0xe8}) f.push_back({0xdd, -1, m, true, Operand::None});
  f.push_back({0xdf, 0, 0, false, Operand::M16Int});
  for (int n : {1, 2, 3, 6, 7}) f.push_back({0xdf, n, 0, false, Operand::None});
  f.push_back({0xdf, 4, 0, false, Operand::Bcd});
  f.push_back({0xdf, 5, 0, false, Operand::M64Int});
  for (uint8_t m : {0xc0, 0xc8, 0xd0, 0xd8, 0xe8, 0xf0}) f.push_back({0xdf, -1, m, true, Operand::None});
  return f;
}

Bytes encode_form(const Form& f, unsigned sti) {
  if (f.reg >= 0) return {f.op, static_cast<uint8_t>(0x47 | (f.reg << 3)), 0x40};  // [rdi+0x40]
  return {f.op, static_cast<uint8_t>(f.modrm + (f.sti ? sti : 0))};
}

std::string form_name(const Form& f) {
  char buf[32];
  if (f.reg >= 0) std::snprintf(buf, sizeof buf, "%02x /%d", f.op, f.reg);
  else std::snprintf(buf, sizeof buf, "%02x %02x%s", f.op, f.modrm, f.sti ? "+i" : "");
  return buf;
}

}  // namespace

TEST_CASE("x87: every computational form matches the host from random states", "[tcg][x87]") {
  Differential diff;
  TestRandom rng(0x87);
  for (const Form& form : computational_forms()) {
    INFO("form " << form_name(form));
    for (int n = 0; n < 120; ++n) {
      CpuSnapshot in = base_input(rng);
      Stack stack = n < 8 ? Stack::Empty : n < 16 ? Stack::Full : n < 24 ? Stack::TwoFree : Stack::Random;
      random_x87(rng, in, stack);
      random_operand(rng, in, form.operand);
      check_case(diff, encode_form(form, static_cast<unsigned>(rng.below(8))), in, x87_compare());
    }
  }
  CHECK_NO_MISMATCHES(diff);
}

TEST_CASE("x87: a pending unmasked exception raises #MF at the next waiting instruction", "[tcg][x87]") {
  Differential diff;
  TestRandom rng(0x16);
  for (const Form& form : computational_forms()) {
    INFO("form " << form_name(form));
    for (int n = 0; n < 6; ++n) {
      CpuSnapshot in = base_input(rng);
      random_x87(rng, in, Stack::Random, true);
      random_operand(rng, in, form.operand);
      check_case(diff, encode_form(form, static_cast<unsigned>(rng.below(8))), in, x87_compare());
    }
  }
  // An exception the first instruction raises unmasked is taken by the
  // second one: fdiv by zero with ZE unmasked, then fld1 / fwait / fnstsw.
  for (Bytes tail : {Bytes{0xd9, 0xe8}, Bytes{0x9b}, Bytes{0xdf, 0xe0}, Bytes{0xdb, 0xe2}, Bytes{0xd9, 0x7f, 0x40}}) {
    CpuSnapshot in = base_input(rng);
    random_x87(rng, in, Stack::Full);
    in.fx.fcw = 0x037b;
    in.fx.fsw &= x87::kTopMask;  // nothing pending before the fdiv
    std::memset(in.fx.st[1], 0, 10);  // st(1) = +0
    Bytes code = {0xd8, 0xf1};         // fdiv st0, st1
    code.insert(code.end(), tail.begin(), tail.end());
    check_case(diff, code, in, x87_compare());
  }
  CHECK_NO_MISMATCHES(diff);
}

TEST_CASE("x87: control and state instructions match the host", "[tcg][x87]") {
  Differential diff;
  TestRandom rng(0xc0);
  const std::vector<Bytes> codes = {
      {0xdb, 0xe3},                    // fninit
      {0xdb, 0xe2},                    // fnclex
      {0xdb, 0xe0}, {0xdb, 0xe1}, {0xdb, 0xe4},  // fneni, fndisi, fsetpm
      {0x9b},                          // fwait
      {0xdf, 0xe0},                    // fnstsw ax
      {0xdd, 0x7f, 0x40},              // fnstsw [rdi+0x40]
      {0xd9, 0x7f, 0x40},              // fnstcw
      {0xd9, 0x6f, 0x40},              // fldcw
      {0xd9, 0x77, 0x40},              // fnstenv (28 bytes)
      {0x66, 0xd9, 0x77, 0x40},        // fnstenv (14 bytes)
      {0xd9, 0x67, 0x40},              // fldenv
      {0x66, 0xd9, 0x67, 0x40},        // fldenv (14 bytes)
      {0xdd, 0x77, 0x40},              // fnsave (108 bytes)
      {0x66, 0xdd, 0x77, 0x40},        // fnsave (94 bytes)
      {0xdd, 0x67, 0x40},              // frstor
      {0x66, 0xdd, 0x67, 0x40},        // frstor (94 bytes)
      {0x0f, 0xae, 0x47, 0x40},        // fxsave
      {0x48, 0x0f, 0xae, 0x47, 0x40},  // fxsave64
      {0x0f, 0xae, 0x4f, 0x40},        // fxrstor
      {0x48, 0x0f, 0xae, 0x4f, 0x40},  // fxrstor64
      {0x0f, 0xae, 0x47, 0x48},        // fxsave misaligned: #GP(0)
  };
  for (const Bytes& code : codes) {
    for (int n = 0; n < 200; ++n) {
      CpuSnapshot in = base_input(rng);
      random_x87(rng, in, Stack::Random, n % 4 == 0);
      uint8_t* operand = in.memory.data() + 0x40;
      // Loads get plausible images: a control word, or an environment /
      // save / FXSAVE image made of random but consistent pieces.
      uint16_t fcw = random_fcw(rng);
      std::memcpy(operand, &fcw, 2);
      if (code.back() == 0x40 && (code[code.size() - 2] == 0x4f || code[code.size() - 2] == 0x67)) {
        CpuSnapshot other = base_input(rng);
        random_x87(rng, other, Stack::Random, n % 3 == 0);
        const bool wide_env = code[0] != 0x66;
        if (code[code.size() - 2] == 0x4f) {
          std::memcpy(operand, &other.fx, 160);
          other.fx.mxcsr = 0x1f80 | static_cast<uint32_t>(rng.below(0x40)) |
                           (rng.chance(5) ? 0x10000u : 0);  // reserved bit: #GP
          std::memcpy(operand + 24, &other.fx.mxcsr, 4);
        } else {
          unsigned env = wide_env ? 28 : 14;
          const unsigned word = wide_env ? 4 : 2;
          std::memcpy(operand, &other.fx.fcw, 2);
          std::memcpy(operand + word, &other.fx.fsw, 2);
          uint16_t ftw = 0;
          for (unsigned p = 0; p < 8; ++p) {
            unsigned tag = (other.fx.ftw & (1u << p)) ? static_cast<unsigned>(rng.below(3)) : 3;
            ftw = static_cast<uint16_t>(ftw | (tag << (2 * p)));
          }
          std::memcpy(operand + 2 * word, &ftw, 2);
          for (unsigned i = 0; i < 8; ++i) std::memcpy(operand + env + 10 * i, other.fx.st[i], 10);
        }
      }
      DiffOptions options = x87_compare();
      options.mask.sse = true;
      const bool is_fxsave = code[code.size() - 3] == 0xae && code[code.size() - 2] == 0x47;
      check_case(diff, code, in, options, is_fxsave ? 0x40 + 28 : 0, is_fxsave ? 0x40 + 32 : 0);
    }
  }
  CHECK_NO_MISMATCHES(diff);
}

TEST_CASE("x87: short programs match the host", "[tcg][x87]") {
  Differential diff;
  TestRandom rng(0x5eed);
  const std::vector<Form> forms = computational_forms();
  for (int n = 0; n < 1500; ++n) {
    CpuSnapshot in = base_input(rng);
    random_x87(rng, in, Stack::Random);
    Bytes code;
    unsigned length = 2 + static_cast<unsigned>(rng.below(5));
    for (unsigned k = 0; k < length; ++k) {
      const Form& form = forms[rng.below(forms.size())];
      if (form.operand != Operand::None) {
        // Each memory form reads [rdi+0x40]: give it a fresh operand and
        // let later stores overwrite it, as real code would.
        random_operand(rng, in, form.operand);
      }
      Bytes one = encode_form(form, static_cast<unsigned>(rng.below(8)));
      code.insert(code.end(), one.begin(), one.end());
    }
    check_case(diff, code, in, x87_compare());
  }
  CHECK_NO_MISMATCHES(diff);
}

TEST_CASE("x87: 32-bit code (compatibility mode) stores the 32-bit layouts", "[tcg][x87]") {
  Differential diff;
  TestRandom rng(0x32);
  DiffOptions options = x87_compare();
  options.mode = CodeMode::Compat32;
  options.mask.sse = true;
  const std::vector<Bytes> codes = {
      {0xd8, 0x47, 0x40, 0xd9, 0x77, 0x50},  // fadd dword [edi+0x40]; fnstenv [edi+0x50]
      {0xdd, 0x77, 0x40},                    // fnsave
      {0x0f, 0xae, 0x47, 0x40},              // fxsave: XMM0-7 only
      {0x0f, 0xae, 0x4f, 0x40},              // fxrstor
      {0xdd, 0x67, 0x40},                    // frstor
  };
  for (const Bytes& code : codes) {
    for (int n = 0; n < 100; ++n) {
      CpuSnapshot in = base_input(rng);
      random_x87(rng, in, Stack::Random);
      in.gpr[kRdi] = kDataAddress;
      for (unsigned x = 0; x < 16; ++x) {
        for (unsigned b = 0; b < 16; ++b) in.fx.xmm[x][b] = static_cast<uint8_t>(rng.next());
      }
      if (code[1] == 0xae && code[2] == 0x4f) {
        uint32_t mxcsr = 0x1f80;
        std::memcpy(in.memory.data() + 0x40 + 24, &mxcsr, 4);
      }
      const bool is_fxsave = code[1] == 0xae && code[2] == 0x47;
      check_case(diff, code, in, options, is_fxsave ? 0x40 + 28 : 0, is_fxsave ? 0x40 + 32 : 0);
    }
  }
  CHECK_NO_MISMATCHES(diff);
}

TEST_CASE("x87: every ESC encoding decodes and faults like the host", "[tcg][x87]") {
  // All 512 register-form ModRM bytes of D8-DF and all 64 memory forms,
  // including the reserved and invalid ones: the host raises #UD exactly
  // where vireo must.
  Differential diff;
  TestRandom rng(0xe5c);
  for (unsigned op = 0xd8; op <= 0xdf; ++op) {
    for (unsigned modrm = 0; modrm < 256; ++modrm) {
      if (modrm < 0xc0 && (modrm & 0xc7) != 0x47) continue;  // memory forms: [rdi+0x40] only
      Bytes code = {static_cast<uint8_t>(op), static_cast<uint8_t>(modrm)};
      if (modrm < 0xc0) code.push_back(0x40);
      for (int n = 0; n < 3; ++n) {
        CpuSnapshot in = base_input(rng);
        random_x87(rng, in, Stack::Random);
        check_case(diff, code, in, x87_compare());
      }
    }
  }
  CHECK_NO_MISMATCHES(diff);
}

namespace {

constexpr uint64_t kCr0Mp = 1ull << 1, kCr0Em = 1ull << 2, kCr0Ts = 1ull << 3;

std::optional<uint8_t> vector_with_cr0(CpuFixture& fixture, const Bytes& code, uint64_t set, uint64_t clear,
                                       bool pending = false) {
  CpuSnapshot in;
  in.gpr[kRdi] = kDataAddress;
  in.memory.assign(0x400, 0);
  uint32_t mxcsr = 0x1f80;
  std::memcpy(in.memory.data() + 0x40 + 24, &mxcsr, 4);
  if (pending) {
    in.fx.fcw = 0x037b;                   // ZE unmasked
    in.fx.fsw = x87::kZe | x87::kEs | x87::kBusy;  // and pending
  }
  const uint64_t saved = fixture.cpu().cr0;
  fixture.cpu().cr0 = (saved | set) & ~clear;
  CpuSnapshot out = fixture.run(code, in);
  fixture.cpu().cr0 = saved;
  if (!out.exception) return std::nullopt;
  return out.exception->vector;
}

}  // namespace

TEST_CASE("x87: CR0.EM, MP and TS gate the FPU as SDM vol. 3 table 2-2 says", "[tcg][x87]") {
  CpuFixture fixture;
  const Bytes fld1 = {0xd9, 0xe8}, fninit = {0xdb, 0xe3}, fnstsw_ax = {0xdf, 0xe0}, fwait = {0x9b};
  const Bytes fxsave = {0x0f, 0xae, 0x47, 0x40}, fxrstor = {0x0f, 0xae, 0x4f, 0x40};
  SECTION("EM: every ESC instruction #NM, WAIT runs, FXSAVE/FXRSTOR #UD") {
    CHECK(vector_with_cr0(fixture, fld1, kCr0Em, kCr0Ts) == kDeviceNotAvailable);
    CHECK(vector_with_cr0(fixture, fninit, kCr0Em, kCr0Ts) == kDeviceNotAvailable);
    CHECK(vector_with_cr0(fixture, fnstsw_ax, kCr0Em, kCr0Ts) == kDeviceNotAvailable);
    CHECK(vector_with_cr0(fixture, fwait, kCr0Em, kCr0Ts) == std::nullopt);
    CHECK(vector_with_cr0(fixture, fxsave, kCr0Em, kCr0Ts) == kInvalidOpcode);
    CHECK(vector_with_cr0(fixture, fxrstor, kCr0Em, kCr0Ts) == kInvalidOpcode);
  }
  SECTION("TS: #NM for ESC instructions and FXSAVE/FXRSTOR; for WAIT only with MP") {
    CHECK(vector_with_cr0(fixture, fld1, kCr0Ts | kCr0Mp, 0) == kDeviceNotAvailable);
    CHECK(vector_with_cr0(fixture, fnstsw_ax, kCr0Ts | kCr0Mp, 0) == kDeviceNotAvailable);
    CHECK(vector_with_cr0(fixture, fxsave, kCr0Ts | kCr0Mp, 0) == kDeviceNotAvailable);
    CHECK(vector_with_cr0(fixture, fxrstor, kCr0Ts | kCr0Mp, 0) == kDeviceNotAvailable);
    CHECK(vector_with_cr0(fixture, fwait, kCr0Ts | kCr0Mp, 0) == kDeviceNotAvailable);
    CHECK(vector_with_cr0(fixture, fwait, kCr0Ts, kCr0Mp) == std::nullopt);
    CHECK(vector_with_cr0(fixture, fld1, kCr0Ts, kCr0Mp) == kDeviceNotAvailable);
  }
  SECTION("#NM comes before a pending #MF, so a lazy FPU switch happens first") {
    CHECK(vector_with_cr0(fixture, fld1, kCr0Ts | kCr0Mp, 0, true) == kDeviceNotAvailable);
    CHECK(vector_with_cr0(fixture, fwait, kCr0Ts | kCr0Mp, 0, true) == kDeviceNotAvailable);
    CHECK(vector_with_cr0(fixture, fld1, 0, kCr0Ts, true) == kFpuError);
  }
  SECTION("with CR0.NE clear a pending exception does not fault (IGNNE# behaviour)") {
    constexpr uint64_t kNe = 1ull << 5;
    CHECK(vector_with_cr0(fixture, fld1, 0, kCr0Ts | kNe, true) == std::nullopt);
    CHECK(vector_with_cr0(fixture, fwait, 0, kCr0Ts | kNe, true) == std::nullopt);
  }
}

TEST_CASE("x87: FXSAVE keeps the last instruction and operand pointers in both layouts", "[tcg][x87]") {
  CpuFixture fixture;
  CpuSnapshot in;
  in.gpr[kRdi] = kDataAddress;
  in.memory.assign(0x400, 0);
  // fadd dword [rdi+0x40]; fxsave64 [rdi+0x100]; fxsave [rdi+0x300]
  const Bytes code = {0xd8, 0x47, 0x40, 0x48, 0x0f, 0xae, 0x87, 0x00, 0x01, 0x00, 0x00,
                      0x0f, 0xae, 0x87, 0x00, 0x03, 0x00, 0x00};
  CpuSnapshot out = fixture.run(code, in);
  REQUIRE_FALSE(out.exception);
  auto u16 = [&](size_t at) { uint16_t v; std::memcpy(&v, out.memory.data() + at, 2); return v; };
  auto u32 = [&](size_t at) { uint32_t v; std::memcpy(&v, out.memory.data() + at, 4); return v; };
  auto u64 = [&](size_t at) { uint64_t v; std::memcpy(&v, out.memory.data() + at, 8); return v; };
  CHECK(u16(0x100 + 6) == 0x047);  // FOP: D8 /0 with ModRM 0x47 (SDM vol. 1 §8.1.9)
  CHECK(u64(0x100 + 8) == kCodeAddress);
  CHECK(u64(0x100 + 16) == kDataAddress + 0x40);
  CHECK(u16(0x300 + 6) == 0x047);
  CHECK(u32(0x300 + 8) == static_cast<uint32_t>(kCodeAddress));
  CHECK(u16(0x300 + 12) == 0x33);  // CS
  CHECK(u32(0x300 + 16) == static_cast<uint32_t>(kDataAddress + 0x40));
  CHECK(u16(0x300 + 20) == 0x2b);  // DS
  CHECK(u32(0x300 + 28) == 0xffff);  // MXCSR_MASK: DAZ supported
}

namespace {

// Runs `code` in real-address mode with CS based at kCodeAddress and the
// data segments at kDataAddress (base and selector disagree, as after a
// return from protected mode: the pointers must come from the bases).
std::vector<uint8_t> run_real_mode(CpuFixture& fixture, Bytes code) {
  code.push_back(0xf4);  // hlt
  REQUIRE(fixture.memory().write(kCodeAddress, code.data(), code.size()));
  fixture.cpu().phys->note_write(kCodeAddress, code.size());
  std::vector<uint8_t> zeros(0x400, 0);
  REQUIRE(fixture.memory().write(kDataAddress, zeros.data(), zeros.size()));
  Cpu& c = fixture.cpu();
  c.cr0 = kCr0Et | kCr0Ne;
  c.cr4 = 0;
  c.efer = 0;
  for (unsigned s = 0; s < kSegmentCount; ++s) {
    c.seg[s] = SegmentCache{};
    c.seg[s].base = kDataAddress;
    c.seg[s].selector = 0x1234;
  }
  c.seg[kCs].base = kCodeAddress;
  c.seg[kCs].selector = 0x5678;
  c.seg[kCs].type = 0xb;
  c.cpl = 0;
  c.set_flags(kRflagsFixed);
  c.update_mode();
  c.flush_tlb();
  c.rip = 0;
  c.gpr[kRbx] = 0;
  c.halted = false;
  c.fpu = FpuState{};
  for (int blocks = 0; blocks < 16 && !c.halted; ++blocks) REQUIRE(fixture.interpreter().step_block());
  REQUIRE(c.halted);
  std::vector<uint8_t> data(0x400);
  REQUIRE(fixture.memory().read(kDataAddress, data.data(), data.size()));
  return data;
}

}  // namespace

TEST_CASE("x87: real-mode FNSTENV/FNSAVE store linear pointers around the opcode", "[tcg][x87]") {
  // SDM vol. 1 figures 8-10 (32-bit) and 8-12 (16-bit real mode).
  CpuFixture fixture;
  const uint32_t ip = static_cast<uint32_t>(kCodeAddress);         // the fadd at offset 0
  const uint32_t dp = static_cast<uint32_t>(kDataAddress + 0x40);  // its operand
  auto u16 = [](const std::vector<uint8_t>& m, size_t at) { uint16_t v; std::memcpy(&v, m.data() + at, 2); return v; };
  auto u32 = [](const std::vector<uint8_t>& m, size_t at) { uint32_t v; std::memcpy(&v, m.data() + at, 4); return v; };
  SECTION("32-bit operand size: 28 bytes") {
    // fadd dword [bx+0x40]; o32 fnstenv [bx+0x80]
    auto m = run_real_mode(fixture, {0xd8, 0x47, 0x40, 0x66, 0xd9, 0xb7, 0x80, 0x00});
    CHECK(u16(m, 0x80) == 0x037f);
    // The fadd found ST(0) empty: masked stack underflow leaves the QNaN
    // indefinite in R0, tagged special (10); the others are empty.
    CHECK(u16(m, 0x80 + 8) == 0xfffe);
    CHECK(u16(m, 0x80 + 12) == (ip & 0xffff));
    CHECK(u32(m, 0x80 + 16) == (0x047u | ((ip >> 16) << 12)));
    CHECK(u16(m, 0x80 + 20) == (dp & 0xffff));
    CHECK(u32(m, 0x80 + 24) == ((dp >> 16) << 12));
  }
  SECTION("16-bit operand size: 14 bytes, pointers cut to 20 bits") {
    // fadd dword [bx+0x40]; fnsave [bx+0x80]; frstor [bx+0x80]; fnstenv [bx+0x100]
    auto m = run_real_mode(fixture, {0xd8, 0x47, 0x40, 0xdd, 0xb7, 0x80, 0x00, 0xdd, 0xa7, 0x80, 0x00,
                                     0xd9, 0xb7, 0x00, 0x01});
    for (size_t env : {0x80, 0x100}) {
      CHECK(u16(m, env + 6) == (ip & 0xffff));
      CHECK(u16(m, env + 8) == (0x047u | (((ip >> 16) & 0xf) << 12)));
      CHECK(u16(m, env + 10) == (dp & 0xffff));
      CHECK(u16(m, env + 12) == (((dp >> 16) & 0xf) << 12));
    }
    CHECK(u16(m, 0x80 + 4) == 0xfffe);   // R0 special (indefinite), the rest empty
    CHECK(u16(m, 0x100 + 4) == 0xfffe);  // FRSTOR brought it back
  }
}
