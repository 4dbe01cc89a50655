// RDMSR/WRMSR through the decoder and interpreter (accel/tcg/msr.cpp):
// privilege, unknown MSRs, reserved bits, and the MSRs that change how
// later instructions run.
#include <catch2/catch.hpp>

#include <optional>
#include <vector>

#include "accel/tcg/msr.h"
#include "tests/tcg/cpu_fixture.h"

using namespace vireo;
using namespace vireo::tcg;
using namespace vireo::tcg::test;

namespace {

const std::vector<uint8_t> kRdmsr = {0x0f, 0x32};
const std::vector<uint8_t> kWrmsr = {0x0f, 0x30};

struct MsrResult {
  std::optional<Exception> exception;
  uint64_t value = 0;  // EDX:EAX after RDMSR
};

MsrResult rdmsr(CpuFixture& f, uint32_t index, unsigned cpl = 0) {
  CpuSnapshot in;
  in.gpr[kRcx] = index;
  in.gpr[kRax] = 0x1111111111111111;
  in.gpr[kRdx] = 0x2222222222222222;
  CpuSnapshot out = f.run(kRdmsr, in, {CodeMode::Long64, cpl});
  MsrResult r;
  r.exception = out.exception;
  if (!out.exception) {
    // The upper halves of RAX and RDX are cleared.
    CHECK(out.gpr[kRax] >> 32 == 0);
    CHECK(out.gpr[kRdx] >> 32 == 0);
    r.value = (out.gpr[kRdx] << 32) | out.gpr[kRax];
  } else {
    CHECK(out.gpr[kRax] == in.gpr[kRax]);  // nothing written on a fault
  }
  return r;
}

std::optional<Exception> wrmsr(CpuFixture& f, uint32_t index, uint64_t value, unsigned cpl = 0) {
  CpuSnapshot in;
  in.gpr[kRcx] = index;
  in.gpr[kRax] = (value & 0xffffffff) | 0xdead'0000'0000'0000;  // upper halves are ignored
  in.gpr[kRdx] = (value >> 32) | 0xbeef'0000'0000'0000;
  return f.run(kWrmsr, in, {CodeMode::Long64, cpl}).exception;
}

bool is_gp0(const std::optional<Exception>& e) { return e && e->vector == kGeneralProtection && e->error_code == 0; }

uint64_t read_ok(CpuFixture& f, uint32_t index) {
  MsrResult r = rdmsr(f, index);
  REQUIRE_FALSE(r.exception);
  return r.value;
}

}  // namespace

TEST_CASE("msr: RDMSR and WRMSR raise #GP(0) outside ring 0", "[tcg][msr]") {
  CpuFixture f;
  CHECK(is_gp0(rdmsr(f, msr::kPat, 3).exception));
  CHECK(is_gp0(wrmsr(f, msr::kPat, 0, 3)));
  CHECK(f.cpu().msr.pat == 0x0007040600070406ull);
}

TEST_CASE("msr: MSRs that do not exist raise #GP(0)", "[tcg][msr]") {
  CpuFixture f;
  // Arbitrary, IA32_FEATURE_CONTROL and IA32_SPEC_CTRL (not advertised),
  // AMD HWCR, past the last MC bank, between the MTRR ranges.
  for (uint32_t index : {0x12345678u, 0x3au, 0x48u, 0xc0010015u, 0x428u, 0x210u, 0x251u, 0xc0000085u}) {
    INFO(index);
    CHECK(is_gp0(rdmsr(f, index).exception));
    CHECK(is_gp0(wrmsr(f, index, 0)));
  }
}

TEST_CASE("msr: reset values as QEMU's qemu64 reports them", "[tcg][msr]") {
  CpuFixture f;
  f.cpu().model = find_cpu_model("qemu64");
  f.cpu().apic_base = 0xfee00900;
  // Values printed by RDMSR under qemu-system-x86_64 -accel tcg -cpu qemu64.
  CHECK(read_ok(f, msr::kApicBase) == 0xfee00900);
  CHECK(read_ok(f, msr::kUcodeRev) == 0x01000065);
  CHECK(read_ok(f, msr::kMtrrCap) == 0x508);
  CHECK(read_ok(f, msr::kMcgCap) == 0x100010a);
  CHECK(read_ok(f, msr::kMcgStatus) == 0);
  CHECK(read_ok(f, msr::kMcgCtl) == ~0ull);
  CHECK(read_ok(f, msr::kMc0Ctl) == ~0ull);
  CHECK(read_ok(f, msr::kMc0Ctl + 4 * 9) == ~0ull);
  CHECK(read_ok(f, msr::kMc0Ctl + 1) == 0);
  CHECK(read_ok(f, msr::kMiscEnable) == 1);
  CHECK(read_ok(f, msr::kPat) == 0x0007040600070406ull);
  CHECK(read_ok(f, msr::kMtrrDefType) == 0);
  CHECK(read_ok(f, msr::kMtrrFix4kF8000) == 0);
  CHECK(read_ok(f, msr::kMtrrPhysMask7) == 0);
  CHECK(read_ok(f, msr::kSysenterCs) == 0);
  CHECK(read_ok(f, msr::kTscDeadline) == 0);
}

TEST_CASE("msr: EFER through WRMSR follows the EFER rules", "[tcg][msr]") {
  CpuFixture f;  // long mode, paging on, SCE|LME|LMA|NXE
  CHECK(read_ok(f, msr::kEfer) == (kEferSce | kEferLme | kEferLma | kEferNxe));
  SECTION("reserved bits") {
    CHECK(is_gp0(wrmsr(f, msr::kEfer, kEferSce | kEferLme | kEferNxe | (1u << 1))));
    CHECK(is_gp0(wrmsr(f, msr::kEfer, kEferSce | kEferLme | kEferNxe | (1ull << 32))));
  }
  SECTION("LME cannot change while paging is on") {
    CHECK(is_gp0(wrmsr(f, msr::kEfer, kEferSce | kEferNxe)));
    CHECK(f.cpu().efer & kEferLme);
  }
  SECTION("LMA is read-only: a write without it keeps it") {
    CHECK_FALSE(wrmsr(f, msr::kEfer, kEferLme | kEferNxe));
    CHECK(read_ok(f, msr::kEfer) == (kEferLme | kEferLma | kEferNxe));
    CHECK(f.cpu().long_mode);
  }
}

TEST_CASE("msr: PAT accepts only defined memory types in each entry", "[tcg][msr]") {
  CpuFixture f;
  const uint64_t valid = 0x0007050401060007ull;  // UC, UC-, WP, WT, WC, WB, UC-, UC
  CHECK_FALSE(wrmsr(f, msr::kPat, valid));
  CHECK(read_ok(f, msr::kPat) == valid);
  for (uint64_t bad : {0x0000000000000002ull, 0x0300000000000000ull, 0x0000000800000000ull}) {
    INFO(bad);
    CHECK(is_gp0(wrmsr(f, msr::kPat, bad)));
  }
  CHECK(read_ok(f, msr::kPat) == valid);
}

TEST_CASE("msr: MTRRs are storage with the SDM's reserved-bit and type checks", "[tcg][msr]") {
  CpuFixture f;
  CHECK(is_gp0(wrmsr(f, msr::kMtrrCap, 0x508)));  // read-only

  CHECK_FALSE(wrmsr(f, msr::kMtrrDefType, 0xc06));  // E, FE, WB
  CHECK(read_ok(f, msr::kMtrrDefType) == 0xc06);
  CHECK(is_gp0(wrmsr(f, msr::kMtrrDefType, 0x1006)));  // bit 12 reserved
  CHECK(is_gp0(wrmsr(f, msr::kMtrrDefType, 0xc02)));   // type 2 reserved
  CHECK(is_gp0(wrmsr(f, msr::kMtrrDefType, 0xc07)));   // UC- is PAT-only

  const uint32_t base3 = msr::kMtrrPhysBase0 + 6, mask3 = msr::kMtrrPhysBase0 + 7;
  CHECK_FALSE(wrmsr(f, base3, 0xff'c000'0000ull | 6));
  CHECK_FALSE(wrmsr(f, mask3, 0xff'c000'0000ull | (1u << 11)));
  CHECK(read_ok(f, base3) == (0xff'c000'0000ull | 6));
  CHECK(read_ok(f, mask3) == (0xff'c000'0000ull | (1u << 11)));
  CHECK(is_gp0(wrmsr(f, base3, 0x100)));             // bits 11:8 reserved
  CHECK(is_gp0(wrmsr(f, base3, (1ull << 40) | 6)));  // above MAXPHYADDR (40)
  CHECK(is_gp0(wrmsr(f, base3, 3)));                 // type 3 reserved
  CHECK(is_gp0(wrmsr(f, mask3, 0x400)));             // bits 10:0 reserved
  CHECK(is_gp0(wrmsr(f, mask3, 1ull << 40)));

  for (uint32_t fixed : {msr::kMtrrFix64k00000, msr::kMtrrFix16k80000, msr::kMtrrFix16kA0000,
                         msr::kMtrrFix4kC0000, msr::kMtrrFix4kF8000}) {
    INFO(fixed);
    CHECK_FALSE(wrmsr(f, fixed, 0x0605040100060504ull));
    CHECK(read_ok(f, fixed) == 0x0605040100060504ull);
    CHECK(is_gp0(wrmsr(f, fixed, 0x0700000000000000ull)));
  }
}

TEST_CASE("msr: FS_BASE and GS_BASE are the segment bases memory operands use", "[tcg][msr]") {
  CpuFixture f;
  // Each run reloads the segment registers, so write and use in one run:
  //   mov ecx, FS_BASE; mov eax, data+0x10; xor edx, edx; wrmsr
  //   mov ecx, GS_BASE; mov eax, data+0x20; wrmsr
  //   mov rax, fs:[0]; mov rbx, gs:[0]
  const uint32_t fs = static_cast<uint32_t>(kDataAddress + 0x10), gs = static_cast<uint32_t>(kDataAddress + 0x20);
  auto le32 = [](uint32_t v) {
    return std::vector<uint8_t>{uint8_t(v), uint8_t(v >> 8), uint8_t(v >> 16), uint8_t(v >> 24)};
  };
  std::vector<uint8_t> code;
  auto add = [&](std::vector<uint8_t> bytes) { code.insert(code.end(), bytes.begin(), bytes.end()); };
  add({0xb9}), add(le32(msr::kFsBase)), add({0xb8}), add(le32(fs)), add({0x31, 0xd2, 0x0f, 0x30});
  add({0xb9}), add(le32(msr::kGsBase)), add({0xb8}), add(le32(gs)), add({0x0f, 0x30});
  add({0x64, 0x48, 0x8b, 0x04, 0x25, 0, 0, 0, 0, 0x65, 0x48, 0x8b, 0x1c, 0x25, 0, 0, 0, 0});
  CpuSnapshot in;
  in.memory.resize(0x30);
  for (size_t i = 0; i < in.memory.size(); ++i) in.memory[i] = static_cast<uint8_t>(i);
  CpuSnapshot out = f.run(code, in, {CodeMode::Long64, 0});
  REQUIRE_FALSE(out.exception);
  CHECK(out.gpr[kRax] == 0x1716151413121110ull);
  CHECK(out.gpr[kRbx] == 0x2726252423222120ull);
  CHECK(f.cpu().seg[kFs].base == fs);
  CHECK(read_msr(f.cpu(), msr::kGsBase) == gs);

  CHECK(is_gp0(wrmsr(f, msr::kFsBase, 0x0000800000000000ull)));  // not canonical
}

TEST_CASE("msr: system-call MSRs keep what is written; addresses must be canonical", "[tcg][msr]") {
  CpuFixture f;
  CHECK_FALSE(wrmsr(f, msr::kStar, 0x0023001000000000ull));
  CHECK_FALSE(wrmsr(f, msr::kLstar, 0xffffffff81000000ull));
  CHECK_FALSE(wrmsr(f, msr::kCstar, 0xffffffff81000100ull));
  CHECK_FALSE(wrmsr(f, msr::kSfmask, 0x47700));
  CHECK_FALSE(wrmsr(f, msr::kKernelGsBase, 0xffff888000000000ull));
  CHECK_FALSE(wrmsr(f, msr::kSysenterCs, 0xffff0010));
  CHECK_FALSE(wrmsr(f, msr::kSysenterEsp, 0xfffffe0000001000ull));
  CHECK_FALSE(wrmsr(f, msr::kSysenterEip, 0xffffffff81000200ull));
  CHECK(read_ok(f, msr::kStar) == 0x0023001000000000ull);
  CHECK(read_ok(f, msr::kLstar) == 0xffffffff81000000ull);
  CHECK(read_ok(f, msr::kCstar) == 0xffffffff81000100ull);
  CHECK(read_ok(f, msr::kSfmask) == 0x47700);
  CHECK(read_ok(f, msr::kKernelGsBase) == 0xffff888000000000ull);
  CHECK(read_ok(f, msr::kSysenterCs) == 0x10);  // the selector only, as QEMU
  CHECK(read_ok(f, msr::kSysenterEsp) == 0xfffffe0000001000ull);
  CHECK(read_ok(f, msr::kSysenterEip) == 0xffffffff81000200ull);
  for (uint32_t index : {msr::kLstar, msr::kCstar, msr::kKernelGsBase, msr::kSysenterEsp, msr::kSysenterEip}) {
    INFO(index);
    CHECK(is_gp0(wrmsr(f, index, 0x8000000000000000ull)));
  }
}

TEST_CASE("msr: IA32_APIC_BASE keeps base, BSP and enable; other bits are reserved", "[tcg][msr]") {
  CpuFixture f;
  f.cpu().apic_base = 0xfee00900;
  CHECK_FALSE(wrmsr(f, msr::kApicBase, 0xfec00800));
  CHECK(read_ok(f, msr::kApicBase) == 0xfec00800);
  // Bit 9, x2APIC enable (x2APIC not advertised), bits above MAXPHYADDR.
  for (uint64_t bad : {0xfee00a00ull, 0xfee00c00ull, 0x1'0000'fee0'0800ull, 0xfee00801ull}) {
    INFO(bad);
    CHECK(is_gp0(wrmsr(f, msr::kApicBase, bad)));
  }
  CHECK(f.cpu().apic_base == 0xfec00800);
}

TEST_CASE("msr: machine-check registers: MCG_CAP read-only, CTLs all-or-nothing, STATUS clear-only",
          "[tcg][msr]") {
  CpuFixture f;
  CHECK(is_gp0(wrmsr(f, msr::kMcgCap, 0)));
  CHECK_FALSE(wrmsr(f, msr::kMcgStatus, 0x4));
  CHECK(read_ok(f, msr::kMcgStatus) == 0x4);
  CHECK(is_gp0(wrmsr(f, msr::kMcgStatus, 0x8)));
  CHECK(is_gp0(wrmsr(f, msr::kMcgCtl, 5)));
  CHECK_FALSE(wrmsr(f, msr::kMcgCtl, 0));
  CHECK(read_ok(f, msr::kMcgCtl) == 0);

  // Linux on AMD family 0xf clears bit 10 of MC4_CTL (the GART TBL walk
  // error): accepted, as under KVM.
  CHECK_FALSE(wrmsr(f, msr::kMc0Ctl + 16, 0xfffffffffffffbffull));
  CHECK(read_ok(f, msr::kMc0Ctl + 16) == 0xfffffffffffffbffull);

  const uint32_t bank2 = msr::kMc0Ctl + 8;
  CHECK(is_gp0(wrmsr(f, bank2, 0xff)));
  CHECK_FALSE(wrmsr(f, bank2, 0));
  CHECK(read_ok(f, bank2) == 0);
  CHECK(is_gp0(wrmsr(f, bank2 + 1, 1)));  // STATUS
  CHECK_FALSE(wrmsr(f, bank2 + 1, 0));
  CHECK_FALSE(wrmsr(f, bank2 + 2, 0x1234000));  // ADDR
  CHECK_FALSE(wrmsr(f, bank2 + 3, 0x86));       // MISC
  CHECK(read_ok(f, bank2 + 2) == 0x1234000);
  CHECK(read_ok(f, bank2 + 3) == 0x86);
}

TEST_CASE("msr: MISC_ENABLE, TSC_DEADLINE are stored; microcode revision writes are ignored", "[tcg][msr]") {
  CpuFixture f;
  CHECK_FALSE(wrmsr(f, msr::kMiscEnable, 0x850089));
  CHECK(read_ok(f, msr::kMiscEnable) == 0x850089);
  CHECK_FALSE(wrmsr(f, msr::kTscDeadline, 0x123456789a));
  CHECK(read_ok(f, msr::kTscDeadline) == 0x123456789a);
  CHECK_FALSE(wrmsr(f, msr::kUcodeRev, 0));
  CHECK(read_ok(f, msr::kUcodeRev) == 0x01000065);
}

TEST_CASE("msr: TSC_AUX exists only where RDTSCP is advertised", "[tcg][msr]") {
  CpuFixture f;
  SECTION("qemu64: no RDTSCP, no TSC_AUX") {
    f.cpu().model = find_cpu_model("qemu64");
    CHECK(is_gp0(rdmsr(f, msr::kTscAux).exception));
    CHECK(is_gp0(wrmsr(f, msr::kTscAux, 1)));
  }
  SECTION("max (AMD): bits 63:32 are ignored") {
    f.cpu().model = find_cpu_model("max");
    CHECK_FALSE(wrmsr(f, msr::kTscAux, 0x5'0000'0003ull));
    CHECK(read_ok(f, msr::kTscAux) == 3);
  }
  SECTION("an Intel model: bits 63:32 are reserved") {
    CpuModel intel = *find_cpu_model("qemu64");
    intel.vendor = "GenuineIntel";
    intel.features.ext1_edx |= cpuid::kRdtscp;
    f.cpu().model = &intel;
    CHECK(is_gp0(wrmsr(f, msr::kTscAux, 0x5'0000'0003ull)));
    CHECK_FALSE(wrmsr(f, msr::kTscAux, 7));
    CHECK(read_ok(f, msr::kTscAux) == 7);
  }
}

TEST_CASE("msr: AMD's SYSCFG and INT_PENDING_MSG read zero on AMD models only", "[tcg][msr]") {
  // Linux 6.1 reads both with a plain RDMSR on AMD family 0xf (qemu64):
  // SYSCFG in get_mtrr_state, INT_PENDING_MSG for erratum 400's C1E
  // check. Without them, "unchecked MSR access error" at boot.
  CpuFixture f;
  f.cpu().model = find_cpu_model("qemu64");
  CpuModel intel = *find_cpu_model("qemu64");
  intel.vendor = "GenuineIntel";
  for (uint32_t index : {msr::kAmdSyscfg, msr::kAmdIntPendingMsg}) {
    INFO(index);
    f.cpu().model = find_cpu_model("qemu64");
    CHECK(read_ok(f, index) == 0);
    CHECK_FALSE(wrmsr(f, index, 1u << 19));
    CHECK(read_ok(f, index) == 0);
    f.cpu().model = &intel;
    CHECK(is_gp0(rdmsr(f, index).exception));
  }
}
