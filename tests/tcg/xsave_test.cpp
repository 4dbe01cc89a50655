// The XSAVE family. XSAVE, XSAVEOPT and XRSTOR run against the host with
// the requested-feature bitmap limited to x87 and SSE, the two components
// this CPU has (the host's XCR0 enables more, which EDX:EAX masks off).
// XGETBV/XSETBV and the checks that depend on XCR0 itself differ from the
// host by design and are tested on the software CPU alone.
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstring>
#include <string>

#include "accel/tcg/exec/xsave.h"
#include "tests/tcg/differential.h"
#include "tests/tcg/encode.h"
#include "tests/tcg/random_values.h"

using namespace vireo;
using namespace vireo::tcg;
using namespace vireo::tcg::test;

namespace {

constexpr uint64_t kCr4Osxsave = 1ull << 18;
constexpr uint32_t kArea = 0x1000;  // offset of the XSAVE area in the window
constexpr uint32_t kXstateBv = 512, kXcompBv = 520, kMxcsrMask = 28;

void put64(std::vector<uint8_t>& m, size_t at, uint64_t v) { std::memcpy(m.data() + at, &v, 8); }
uint64_t get64(const std::vector<uint8_t>& m, size_t at) {
  uint64_t v;
  std::memcpy(&v, m.data() + at, 8);
  return v;
}

// "offset: host xx vireo yy" for the first differing bytes of the window,
// offsets relative to the XSAVE area.
std::string memory_differences(const std::vector<uint8_t>& host, const std::vector<uint8_t>& guest) {
  std::string out;
  unsigned shown = 0;
  for (size_t k = 0; k < host.size() && k < guest.size() && shown < 12; ++k) {
    if (host[k] == guest[k]) continue;
    char line[64];
    std::snprintf(line, sizeof line, "%+ld: host %02x vireo %02x\n", static_cast<long>(k) - kArea, host[k], guest[k]);
    out += line;
    ++shown;
  }
  return out;
}

void enable_xsave(Cpu& cpu) {
  cpu.cr4 |= kCr4Osxsave;
  cpu.xcr0 = kXcr0X87 | kXcr0Sse;
}

// x87 and SSE state that is not in its initial configuration, so the host
// and this CPU both report it in use.
void random_fpu_state(TestRandom& r, CpuSnapshot& in) {
  in.fx.fcw = static_cast<uint16_t>(0x037f ^ (r.next() & 0x0f00));  // precision and rounding control
  in.fx.fsw = static_cast<uint16_t>(r.next() & 0x3f00);              // C0-C2 and TOP; no pending exception
  in.fx.ftw = static_cast<uint8_t>(r.next() | 1);
  // The host (AMD) restores FOP/FIP/FDP only with an unmasked exception
  // pending: then they are random, otherwise 0 as the host would have them.
  if (r.chance(50)) {
    in.fx.fcw &= static_cast<uint16_t>(~1u);  // IE unmasked ...
    in.fx.fsw |= 0x8081;                      // ... and pending: IE, ES, B
    in.fx.fop = static_cast<uint16_t>(r.next() & 0x7ff);
    // Canonical addresses: the host keeps fewer pointer bits than 64.
    in.fx.fip = static_cast<uint64_t>(static_cast<int64_t>(r.next() << 16) >> 16);
    in.fx.fdp = static_cast<uint64_t>(static_cast<int64_t>(r.next() << 16) >> 16);
  }
  for (auto& st : in.fx.st) {
    for (unsigned b = 0; b < 10; ++b) st[b] = static_cast<uint8_t>(r.next());
  }
  for (auto& xmm : in.fx.xmm) {
    for (uint8_t& b : xmm) b = static_cast<uint8_t>(r.next());
  }
  in.fx.mxcsr = 0x1f80 | static_cast<uint32_t>(r.next() & 0xe07f);  // RC, FTZ, DAZ, flags
}

CpuSnapshot random_input(TestRandom& r) {
  CpuSnapshot in;
  for (uint64_t& g : in.gpr) g = r.value(64);
  in.gpr[kRsp] = kDataAddress + 0x8000;
  in.gpr[kRbx] = kDataAddress + kArea;
  // EDX:EAX asks for x87 and/or SSE only; the upper halves of RAX/RDX are
  // ignored and EDX names components neither CPU enables.
  in.gpr[kRax] = (r.next() & ~0xffffffffull) | r.below(4);
  in.rflags = r.next() & kSnapshotFlags;
  random_fpu_state(r, in);
  in.memory.resize(kArea + 1024);
  for (uint8_t& b : in.memory) b = static_cast<uint8_t>(r.next());
  return in;
}

// 0F AE /ext [rbx + disp], REX.W optional.
Bytes xsave_insn(unsigned ext, bool wide, int32_t disp = 0) {
  Encoding e;
  e.op_bits = wide ? 64 : 32;
  e.opcode = {0x0f, 0xae};
  e.reg = ext;
  e.rm = mem(kRbx, disp);
  return encode(e);
}

}  // namespace

TEST_CASE("XSAVE and XSAVEOPT write the legacy region and XSTATE_BV as the host does", "[tcg][xsave]") {
  Differential d;
  enable_xsave(d.fixture().cpu());
  TestRandom r(0xd);
  for (unsigned ext : {4u, 6u}) {  // XSAVE, XSAVEOPT
    for (CodeMode mode : {CodeMode::Long64, CodeMode::Compat32}) {
      for (int k = 0; k < 300; ++k) {
        const bool wide = mode == CodeMode::Long64 && r.chance(50);
        CpuSnapshot in = random_input(r);
        // Misaligned now and then: #GP on both.
        const int32_t disp = r.chance(10) ? static_cast<int32_t>(8 * (1 + r.below(7))) : 0;
        DiffOptions options;
        options.mode = mode;
        options.mask.memory = false;  // compared below, but for MXCSR_MASK
        options.mask.x87 = true;
        options.mask.sse = true;
        CHECK_LIKE_HOST(d, xsave_insn(ext, wide, disp), in, options);
        // MXCSR_MASK is a property of the CPU: the host's has AMD's
        // misaligned-SSE bit 17, this CPU's is 0xffff.
        std::vector<uint8_t> host = d.host().memory, guest = d.guest().memory;
        const size_t mask_at = kArea + static_cast<size_t>(disp) + kMxcsrMask;
        if (!d.host().exception && (d.host().gpr[kRax] & 2)) {
          CHECK(get64(guest, mask_at) << 32 >> 32 == 0xffff);
        }
        std::memset(host.data() + mask_at, 0, 4);
        std::memset(guest.data() + mask_at, 0, 4);
        INFO("form 0F AE /" << ext << (wide ? " with REX.W" : "") << ", EAX " << (in.gpr[kRax] & 3));
        CHECK(memory_differences(host, guest) == "");
      }
    }
  }
  CHECK_NO_MISMATCHES(d);
}

TEST_CASE("XRSTOR loads and initializes components as the host does", "[tcg][xsave]") {
  Differential d;
  enable_xsave(d.fixture().cpu());
  TestRandom r(0xdd);
  for (CodeMode mode : {CodeMode::Long64, CodeMode::Compat32}) {
    for (int k = 0; k < 600; ++k) {
      const bool wide = mode == CodeMode::Long64 && r.chance(50);
      CpuSnapshot in = random_input(r);
      std::vector<uint8_t>& m = in.memory;
      // A valid standard-form header and MXCSR, then now and then one
      // thing wrong that both CPUs refuse with #GP.
      uint32_t mxcsr = 0x1f80 | static_cast<uint32_t>(r.next() & 0xffff);
      std::memcpy(m.data() + kArea + 24, &mxcsr, 4);
      put64(m, kArea + kXstateBv, r.below(4));
      std::memset(m.data() + kArea + kXcompBv, 0, 56);
      switch (r.below(12)) {
        case 0: m[kArea + 528 + r.below(8)] = static_cast<uint8_t>(1 + r.below(255)); break;  // header bytes 23:16
        case 3: m[kArea + 536 + r.below(40)] = static_cast<uint8_t>(1 + r.below(255)); break;  // 63:24, ignored
        case 1: put64(m, kArea + kXcompBv, 1 + r.below(3)); break;                              // XCOMP_BV without bit 63
        case 2: mxcsr |= 1u << 16; std::memcpy(m.data() + kArea + 24, &mxcsr, 4); break;        // reserved MXCSR bit
        default: break;
      }
      DiffOptions options;
      options.mode = mode;
      options.mask.x87 = true;
      options.mask.sse = true;
      INFO("XSTATE_BV " << get64(m, kArea + kXstateBv) << ", EAX " << (in.gpr[kRax] & 3));
      CHECK_LIKE_HOST(d, xsave_insn(5, wide), in, options);
    }
  }
  CHECK_NO_MISMATCHES(d);
}

TEST_CASE("XSAVE then XRSTOR round-trips the x87 and SSE state", "[tcg][xsave]") {
  Differential d;
  enable_xsave(d.fixture().cpu());
  TestRandom r(0xddd);
  for (int k = 0; k < 200; ++k) {
    CpuSnapshot in = random_input(r);
    in.gpr[kRax] = 3;
    put64(in.memory, kArea + kXstateBv, 0);
    std::memset(in.memory.data() + kArea + kXcompBv, 0, 56);
    // xsave64 [rbx]; fninit; pxor xmm3, xmm3; xrstor64 [rbx]
    Bytes code = join({xsave_insn(4, true), Bytes{0xdb, 0xe3, 0x66, 0x0f, 0xef, 0xdb}, xsave_insn(5, true)});
    DiffOptions options;
    options.mask.x87 = true;
    options.mask.sse = true;
    options.mask.memory = false;  // the area differs in MXCSR_MASK (see above)
    CHECK_LIKE_HOST(d, code, in, options);
  }
  CHECK_NO_MISMATCHES(d);
}

namespace {

// Runs `code` at CPL 0 on the software CPU alone.
CpuSnapshot run_privileged(CpuFixture& f, const Bytes& code, const CpuSnapshot& in) {
  return f.run(code, in, RunOptions{CodeMode::Long64, 0});
}

const Bytes kXgetbv = {0x0f, 0x01, 0xd0};
const Bytes kXsetbv = {0x0f, 0x01, 0xd1};

}  // namespace

TEST_CASE("XGETBV and XSETBV: XCR0 takes x87 or x87+SSE at CPL 0 only", "[tcg][xsave]") {
  CpuFixture f;
  f.cpu().cr4 |= kCr4Osxsave;
  CpuSnapshot in;
  in.gpr[kRsp] = kDataAddress + 0x8000;

  SECTION("reset value 1, read back with the upper halves cleared") {
    in.gpr[kRax] = in.gpr[kRdx] = ~0ull;
    in.gpr[kRcx] = 0xffffffff'00000000ull;  // only ECX counts
    CpuSnapshot out = run_privileged(f, kXgetbv, in);
    REQUIRE_FALSE(out.exception);
    CHECK(out.gpr[kRax] == 1);
    CHECK(out.gpr[kRdx] == 0);
  }
  SECTION("3 is accepted and XGETBV at CPL 3 sees it") {
    in.gpr[kRax] = 3;
    REQUIRE_FALSE(run_privileged(f, kXsetbv, in).exception);
    CHECK(f.cpu().xcr0 == 3);
    in.gpr[kRax] = 0;
    CpuSnapshot out = f.run(kXgetbv, in);
    REQUIRE_FALSE(out.exception);
    CHECK(out.gpr[kRax] == 3);
  }
  SECTION("values without x87, with AVX or any unknown bit, or ECX != 0 raise #GP(0)") {
    struct Case {
      uint64_t rax, rdx, rcx;
    };
    const Case bad[] = {{0, 0, 0}, {2, 0, 0}, {7, 0, 0}, {5, 0, 0}, {1ull << 9 | 3, 0, 0}, {3, 1, 0}, {3, 0, 1}};
    for (const Case& c : bad) {
      in.gpr[kRax] = c.rax;
      in.gpr[kRdx] = c.rdx;
      in.gpr[kRcx] = c.rcx;
      CpuSnapshot out = run_privileged(f, kXsetbv, in);
      REQUIRE(out.exception);
      CHECK(out.exception->vector == kGeneralProtection);
      CHECK(f.cpu().xcr0 == 1);
    }
  }
  SECTION("XSETBV at CPL 3 raises #GP(0); XGETBV with ECX = 1 (no XINUSE support) too") {
    in.gpr[kRax] = 3;
    CpuSnapshot out = f.run(kXsetbv, in);
    REQUIRE(out.exception);
    CHECK(out.exception->vector == kGeneralProtection);
    in.gpr[kRcx] = 1;
    out = f.run(kXgetbv, in);
    REQUIRE(out.exception);
    CHECK(out.exception->vector == kGeneralProtection);
  }
  SECTION("without CR4.OSXSAVE all five raise #UD") {
    f.cpu().cr4 &= ~kCr4Osxsave;
    in.gpr[kRbx] = kDataAddress;
    in.memory.assign(1024, 0);
    for (const Bytes& code : {kXgetbv, kXsetbv, xsave_insn(4, false), xsave_insn(5, false), xsave_insn(6, false)}) {
      CpuSnapshot out = run_privileged(f, code, in);
      REQUIRE(out.exception);
      CHECK(out.exception->vector == kInvalidOpcode);
    }
  }
}

TEST_CASE("XSAVE family: what depends on this CPU's XCR0 and XINUSE", "[tcg][xsave]") {
  CpuFixture f;
  enable_xsave(f.cpu());
  CpuSnapshot in;
  in.gpr[kRsp] = kDataAddress + 0x8000;
  in.gpr[kRbx] = kDataAddress;
  in.gpr[kRax] = 3;
  in.memory.assign(1024, 0xaa);

  SECTION("XRSTOR refuses XSTATE_BV bits outside XCR0 (AVX) and the compacted form") {
    for (uint64_t bad : {uint64_t{4}, uint64_t{1} << 9}) {
      put64(in.memory, kXstateBv, bad | 3);
      std::memset(in.memory.data() + kXcompBv, 0, 56);
      CpuSnapshot out = f.run(xsave_insn(5, false), in);
      REQUIRE(out.exception);
      CHECK(out.exception->vector == kGeneralProtection);
    }
    put64(in.memory, kXstateBv, 3);
    put64(in.memory, kXcompBv, 1ull << 63 | 3);
    CpuSnapshot out = f.run(xsave_insn(5, false), in);
    REQUIRE(out.exception);
    CHECK(out.exception->vector == kGeneralProtection);
  }
  SECTION("components in their initial configuration are reported unused") {
    // The default snapshot is the initial configuration of both.
    CpuSnapshot out = f.run(xsave_insn(4, false), in);
    REQUIRE_FALSE(out.exception);
    CHECK((get64(out.memory, kXstateBv) & 3) == 0);
    CHECK((get64(out.memory, kXstateBv) & ~3ull) == (0xaaaaaaaaaaaaaaaaull & ~3ull));
    CHECK(out.memory[0] == 0x7f);  // XSAVE writes them all the same
    CHECK(out.memory[160] == 0);
  }
  SECTION("XSAVEOPT skips components in their initial configuration but still writes MXCSR") {
    in.fx.xmm[2][5] = 1;  // SSE in use, x87 initial
    CpuSnapshot out = f.run(xsave_insn(6, false), in);
    REQUIRE_FALSE(out.exception);
    CHECK((get64(out.memory, kXstateBv) & 3) == 2);
    CHECK(out.memory[0] == 0xaa);              // FCW not written
    CHECK(out.memory[160 + 2 * 16 + 5] == 1);  // XMM2 written
    CHECK(out.memory[24] == 0x80);             // MXCSR 0x1f80
  }
  SECTION("XRSTOR with XSTATE_BV clear initializes: x87 as FNINIT with zeroed registers, XMM zero") {
    in.fx.fcw = 0x27f;
    in.fx.ftw = 0xff;
    in.fx.xmm[7][0] = 9;
    put64(in.memory, kXstateBv, 0);
    std::memset(in.memory.data() + kXcompBv, 0, 56);
    uint32_t mxcsr = 0x1f80 | (1u << 13);
    std::memcpy(in.memory.data() + 24, &mxcsr, 4);
    CpuSnapshot out = f.run(xsave_insn(5, false), in);
    REQUIRE_FALSE(out.exception);
    CHECK(out.fx.fcw == 0x37f);
    CHECK(out.fx.ftw == 0);
    CHECK(out.fx.xmm[7][0] == 0);
    CHECK(out.fx.mxcsr == mxcsr);  // MXCSR is loaded whatever XSTATE_BV says
  }
}

TEST_CASE("CPUID leaf 0xD describes the XSAVE this CPU implements", "[tcg][xsave]") {
  CpuidRegisters sub0 = xsave_cpuid_leaf(0, 3);
  CHECK(sub0.eax == 3);
  CHECK(sub0.ebx == 576);
  CHECK(sub0.ecx == 576);
  CHECK(sub0.edx == 0);
  CpuidRegisters sub1 = xsave_cpuid_leaf(1, 3);
  CHECK(sub1.eax == 1);  // XSAVEOPT only
  for (uint32_t sub = 2; sub < 64; ++sub) {
    CpuidRegisters r = xsave_cpuid_leaf(sub, 3);
    CHECK(r.eax == 0);
    CHECK(r.ebx == 0);
  }
}
