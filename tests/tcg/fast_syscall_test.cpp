// SYSCALL/SYSRET, SYSENTER/SYSEXIT and SWAPGS through the decoder and
// interpreter (accel/tcg/exec/fast_syscall.cpp): where they go, the
// segment registers and flags they leave, and their faults.
//
// The "kernel" in these tests is code in the fixture's user-accessible
// code page, which ring 0 may run too (no SMEP). A HLT there stops the
// run in ring 0; the fixture's closing HLT ends a run that got back to
// ring 3 (where it raises the #GP the fixture expects).
#include <catch2/catch.hpp>

#include <vector>

#include "accel/tcg/msr.h"
#include "tests/tcg/cpu_fixture.h"

using namespace vireo;
using namespace vireo::tcg;
using namespace vireo::tcg::test;

namespace {

// Linux's selectors: STAR[47:32] = __KERNEL_CS 0x10 (SS 0x18),
// STAR[63:48] = __USER32_CS 0x23 (SS 0x2b, 64-bit CS 0x33).
constexpr uint64_t kStar = 0x0023'0010'0000'0000ull;
constexpr uint64_t kSfmask = kIf | kTf | kDf | kAc | kNt;  // as Linux sets it (plus IOPL)

const CpuModel& intel_model() {
  static const CpuModel m = [] {
    CpuModel model = *find_cpu_model("qemu64");
    model.vendor = "GenuineIntel";
    return model;
  }();
  return m;
}

void check_segment(const SegmentCache& s, uint16_t selector, unsigned dpl, bool code, bool long64) {
  INFO("selector " << s.selector);
  CHECK(s.selector == selector);
  CHECK(s.base == 0);
  CHECK(s.limit == 0xffffffff);
  CHECK(s.dpl == dpl);
  CHECK(s.present);
  CHECK(s.s);
  CHECK(s.g);
  CHECK(s.type == (code ? 0xb : 0x3));
  CHECK(s.l == long64);
  CHECK(s.db == !long64);
}

bool is_exception(const CpuSnapshot& s, uint8_t vector, uint32_t error = 0) {
  return s.exception && s.exception->vector == vector && s.exception->error_code == error;
}

// Legacy protected mode without paging: PE only, EFER.SCE.
void enter_legacy_mode(CpuFixture& f) {
  Cpu& c = f.cpu();
  c.cr0 = kCr0Pe | kCr0Et | kCr0Ne;
  c.cr4 = 0;
  c.efer = kEferSce;
  c.flush_tlb();
}

}  // namespace

TEST_CASE("syscall: 64-bit SYSCALL enters LSTAR in ring 0 with RCX, R11 and SFMASK", "[tcg][syscall]") {
  CpuFixture f;
  Cpu& c = f.cpu();
  c.msr.star = kStar;
  c.msr.lstar = kCodeAddress + 3;  // the HLT below
  c.msr.sfmask = kSfmask;
  // syscall; nop; hlt
  CpuSnapshot in;
  in.rflags = kDf | kCf | kZf;
  in.gpr[kRsp] = 0x7fff0000;
  CpuSnapshot out = f.run(std::vector<uint8_t>{0x0f, 0x05, 0x90, 0xf4}, in, {CodeMode::Long64, 3});
  REQUIRE_FALSE(out.exception);
  CHECK(out.rip_offset == 3);
  CHECK(c.cpl == 0);
  CHECK(c.code_bits == 64);
  CHECK(out.gpr[kRcx] == kCodeAddress + 2);
  CHECK(out.gpr[kR11] == (kDf | kCf | kZf | kIf | kRflagsFixed));
  CHECK(out.rflags == (kCf | kZf | kRflagsFixed));  // IF and DF masked
  CHECK(out.gpr[kRsp] == 0x7fff0000);                // the stack is the kernel's business
  check_segment(c.seg[kCs], 0x10, 0, true, true);
  check_segment(c.seg[kSs], 0x18, 0, false, false);
}

TEST_CASE("syscall: a SYSCALL/SYSRETQ round trip back to 64-bit ring 3", "[tcg][syscall]") {
  CpuFixture f;
  Cpu& c = f.cpu();
  c.msr.star = kStar;
  c.msr.lstar = kCodeAddress + 4;
  c.msr.sfmask = kSfmask;
  const std::vector<uint8_t> code = {
      0x0f, 0x05,              // user:   syscall
      0xeb, 0x0f,              //         jmp done
      0x49, 0x89, 0xcc,        // kernel: mov r12, rcx
      0x4d, 0x89, 0xdd,        //         mov r13, r11
      0x41, 0x8c, 0xce,        //         mov r14d, cs
      0x41, 0x8c, 0xd7,        //         mov r15d, ss
      0x48, 0x0f, 0x07,        //         sysretq
  };                           // done:   (the fixture's HLT)
  CpuSnapshot in;
  in.rflags = kOf | kSf;
  CpuSnapshot out = f.run(code, in, {CodeMode::Long64, 3});
  REQUIRE_FALSE(out.exception);
  CHECK(out.rip_offset == code.size());
  CHECK(out.gpr[kR12] == kCodeAddress + 2);
  CHECK(out.gpr[kR13] == (kOf | kSf | kIf | kRflagsFixed));
  CHECK(out.gpr[kR14] == 0x10);
  CHECK(out.gpr[kR15] == 0x18);
  CHECK(out.rflags == (kOf | kSf | kIf | kRflagsFixed));  // from R11
  CHECK(c.cpl == 3);
  CHECK(c.code_bits == 64);
  check_segment(c.seg[kCs], 0x33, 3, true, true);
  check_segment(c.seg[kSs], 0x2b, 3, false, false);
}

TEST_CASE("syscall: SYSRET without REX.W returns to compatibility mode at ECX", "[tcg][syscall]") {
  CpuFixture f;
  Cpu& c = f.cpu();
  c.msr.star = kStar;
  CpuSnapshot in;
  in.gpr[kRcx] = 0xffffffff'00000000ull | (kCodeAddress + 2);  // upper half ignored
  in.gpr[kR11] = kIf | kAc | kRf | kVm | kCf;                  // RF and VM never come back
  CpuSnapshot out = f.run(std::vector<uint8_t>{0x0f, 0x07}, in, {CodeMode::Long64, 0});
  REQUIRE_FALSE(out.exception);
  CHECK(out.rip_offset == 2);
  CHECK(c.cpl == 3);
  CHECK(c.code_bits == 32);
  CHECK(out.rflags == (kIf | kAc | kCf | kRflagsFixed));
  check_segment(c.seg[kCs], 0x23, 3, true, false);
  check_segment(c.seg[kSs], 0x2b, 3, false, false);
}

TEST_CASE("syscall: SYSRETQ to a non-canonical RCX raises #GP(0) in ring 0", "[tcg][syscall]") {
  CpuFixture f;
  f.cpu().msr.star = kStar;
  CpuSnapshot in;
  in.gpr[kRcx] = 0x0000800000000000ull;
  CpuSnapshot out = f.run(std::vector<uint8_t>{0x48, 0x0f, 0x07}, in, {CodeMode::Long64, 0});
  CHECK(is_exception(out, kGeneralProtection));
  CHECK(out.rip_offset == 0);
  CHECK(f.cpu().cpl == 0);
  CHECK(f.cpu().seg[kCs].selector == 0x10);
}

TEST_CASE("syscall: #UD without EFER.SCE; SYSRET is #GP(0) outside ring 0", "[tcg][syscall]") {
  CpuFixture f;
  SECTION("SCE clear") {
    f.cpu().efer &= ~kEferSce;
    CHECK(is_exception(f.run(std::vector<uint8_t>{0x0f, 0x05}, {}, {CodeMode::Long64, 3}), kInvalidOpcode));
    CHECK(is_exception(f.run(std::vector<uint8_t>{0x0f, 0x07}, {}, {CodeMode::Long64, 0}), kInvalidOpcode));
  }
  SECTION("SYSRET in ring 3") {
    CHECK(is_exception(f.run(std::vector<uint8_t>{0x48, 0x0f, 0x07}, {}, {CodeMode::Long64, 3}), kGeneralProtection));
  }
}

TEST_CASE("syscall: compatibility mode goes to CSTAR on AMD and is #UD on Intel", "[tcg][syscall]") {
  CpuFixture f;
  Cpu& c = f.cpu();
  c.msr.star = kStar;
  c.msr.cstar = kCodeAddress + 3;
  c.msr.sfmask = kSfmask;
  const std::vector<uint8_t> code = {0x0f, 0x05, 0x90, 0xf4};
  SECTION("AMD (the default models)") {
    CpuSnapshot in;
    in.gpr[kRcx] = ~0ull;
    CpuSnapshot out = f.run(code, in, {CodeMode::Compat32, 3});
    REQUIRE_FALSE(out.exception);
    CHECK(out.rip_offset == 3);
    CHECK(out.gpr[kRcx] == kCodeAddress + 2);
    CHECK(c.code_bits == 64);
    check_segment(c.seg[kCs], 0x10, 0, true, true);
  }
  SECTION("Intel") {
    c.model = &intel_model();
    CHECK(is_exception(f.run(code, {}, {CodeMode::Compat32, 3}), kInvalidOpcode));
    CHECK(is_exception(f.run(std::vector<uint8_t>{0x0f, 0x07}, {}, {CodeMode::Compat32, 0}), kInvalidOpcode));
  }
}

TEST_CASE("syscall: legacy-mode SYSCALL/SYSRET (AMD) use STAR's EIP and IF", "[tcg][syscall]") {
  CpuFixture f;
  enter_legacy_mode(f);
  Cpu& c = f.cpu();
  c.msr.star = kStar | (kCodeAddress + 3);
  c.msr.sfmask = ~0ull;  // not used outside long mode
  CpuSnapshot in;
  in.rflags = kDf;
  CpuSnapshot out = f.run(std::vector<uint8_t>{0x0f, 0x05, 0x90, 0xf4}, in, {CodeMode::Compat32, 3});
  REQUIRE_FALSE(out.exception);
  CHECK(out.rip_offset == 3);
  CHECK(out.gpr[kRcx] == kCodeAddress + 2);
  CHECK(out.rflags == (kDf | kRflagsFixed));  // IF cleared, nothing else
  CHECK(c.code_bits == 32);
  CHECK_FALSE(c.long_mode);
  check_segment(c.seg[kCs], 0x10, 0, true, false);
  check_segment(c.seg[kSs], 0x18, 0, false, false);

  // sysret from ring 0 back to the closing HLT, with IF set.
  in = {};
  in.gpr[kRcx] = kCodeAddress + 2;
  out = f.run(std::vector<uint8_t>{0x0f, 0x07}, in, {CodeMode::Compat32, 0});
  REQUIRE_FALSE(out.exception);
  CHECK(c.cpl == 3);
  CHECK(out.rflags & kIf);
  check_segment(c.seg[kCs], 0x23, 3, true, false);
  check_segment(c.seg[kSs], 0x2b, 3, false, false);
}

TEST_CASE("sysenter: Intel long mode: SYSENTER/SYSEXITQ and SYSEXIT to compatibility mode", "[tcg][sysenter]") {
  CpuFixture f;
  Cpu& c = f.cpu();
  c.model = &intel_model();
  c.msr.sysenter_cs = 0x10;
  c.msr.sysenter_esp = 0xffff'8000'0000'1000ull;
  c.msr.sysenter_eip = kCodeAddress + 3;

  SECTION("SYSENTER") {
    CpuSnapshot in;
    in.rflags = kCf;
    CpuSnapshot out = f.run(std::vector<uint8_t>{0x0f, 0x34, 0x90, 0xf4}, in, {CodeMode::Long64, 3});
    REQUIRE_FALSE(out.exception);
    CHECK(out.rip_offset == 3);
    CHECK(out.gpr[kRsp] == 0xffff'8000'0000'1000ull);
    CHECK(out.rflags == (kCf | kRflagsFixed));  // IF cleared
    CHECK(c.cpl == 0);
    check_segment(c.seg[kCs], 0x10, 0, true, true);
    check_segment(c.seg[kSs], 0x18, 0, false, false);
  }
  SECTION("SYSEXITQ") {
    CpuSnapshot in;
    in.gpr[kRcx] = 0x7fff'ffff'e000ull;
    in.gpr[kRdx] = kCodeAddress + 3;
    CpuSnapshot out = f.run(std::vector<uint8_t>{0x48, 0x0f, 0x35}, in, {CodeMode::Long64, 0});
    REQUIRE_FALSE(out.exception);
    CHECK(out.rip_offset == 3);
    CHECK(out.gpr[kRsp] == 0x7fff'ffff'e000ull);
    CHECK(c.cpl == 3);
    check_segment(c.seg[kCs], 0x33, 3, true, true);  // SYSENTER_CS + 32
    check_segment(c.seg[kSs], 0x3b, 3, false, false);  // SYSENTER_CS + 40
  }
  SECTION("SYSEXIT (32-bit)") {
    CpuSnapshot in;
    in.gpr[kRcx] = 0xffffffff'0000e000ull;
    in.gpr[kRdx] = kCodeAddress + 2;
    CpuSnapshot out = f.run(std::vector<uint8_t>{0x0f, 0x35}, in, {CodeMode::Long64, 0});
    REQUIRE_FALSE(out.exception);
    CHECK(out.gpr[kRsp] == 0xe000);
    CHECK(c.code_bits == 32);
    check_segment(c.seg[kCs], 0x23, 3, true, false);  // SYSENTER_CS + 16
    check_segment(c.seg[kSs], 0x2b, 3, false, false);  // SYSENTER_CS + 24
  }
  SECTION("SYSEXITQ to non-canonical RDX") {
    CpuSnapshot in;
    in.gpr[kRdx] = 0x8000'0000'0000'0000ull;
    CHECK(is_exception(f.run(std::vector<uint8_t>{0x48, 0x0f, 0x35}, in, {CodeMode::Long64, 0}), kGeneralProtection));
  }
}

TEST_CASE("sysenter: AMD raises #UD for SYSENTER/SYSEXIT in long mode", "[tcg][sysenter]") {
  CpuFixture f;
  f.cpu().msr.sysenter_cs = 0x10;
  CHECK(is_exception(f.run(std::vector<uint8_t>{0x0f, 0x34}, {}, {CodeMode::Long64, 3}), kInvalidOpcode));
  CHECK(is_exception(f.run(std::vector<uint8_t>{0x0f, 0x34}, {}, {CodeMode::Compat32, 3}), kInvalidOpcode));
  CHECK(is_exception(f.run(std::vector<uint8_t>{0x0f, 0x35}, {}, {CodeMode::Long64, 0}), kInvalidOpcode));
}

TEST_CASE("sysenter: legacy protected mode round trip", "[tcg][sysenter]") {
  CpuFixture f;
  enter_legacy_mode(f);
  Cpu& c = f.cpu();
  c.msr.sysenter_cs = 0x60;
  c.msr.sysenter_esp = 0xabcd'0000'0000'8000ull;  // only ESP's 32 bits count here
  c.msr.sysenter_eip = kCodeAddress + 3;
  CpuSnapshot in;
  in.rflags = kZf;
  CpuSnapshot out = f.run(std::vector<uint8_t>{0x0f, 0x34, 0x90, 0xf4}, in, {CodeMode::Compat32, 3});
  REQUIRE_FALSE(out.exception);
  CHECK(out.rip_offset == 3);
  CHECK(out.gpr[kRsp] == 0x8000);
  CHECK(out.rflags == (kZf | kRflagsFixed));
  CHECK(c.cpl == 0);
  check_segment(c.seg[kCs], 0x60, 0, true, false);
  check_segment(c.seg[kSs], 0x68, 0, false, false);

  in = {};
  in.gpr[kRcx] = 0x9000;
  in.gpr[kRdx] = kCodeAddress + 2;
  out = f.run(std::vector<uint8_t>{0x0f, 0x35}, in, {CodeMode::Compat32, 0});
  REQUIRE_FALSE(out.exception);
  CHECK(out.gpr[kRsp] == 0x9000);
  CHECK(c.cpl == 3);
  check_segment(c.seg[kCs], 0x73, 3, true, false);
  check_segment(c.seg[kSs], 0x7b, 3, false, false);
}

TEST_CASE("sysenter: #GP(0) with a null SYSENTER_CS, in real mode, and SYSEXIT outside ring 0",
          "[tcg][sysenter]") {
  CpuFixture f;
  enter_legacy_mode(f);
  Cpu& c = f.cpu();
  SECTION("SYSENTER_CS zero") {
    c.msr.sysenter_cs = 0;
    CHECK(is_exception(f.run(std::vector<uint8_t>{0x0f, 0x34}, {}, {CodeMode::Compat32, 3}), kGeneralProtection));
    CHECK(is_exception(f.run(std::vector<uint8_t>{0x0f, 0x35}, {}, {CodeMode::Compat32, 0}), kGeneralProtection));
  }
  SECTION("SYSENTER_CS with only RPL bits") {
    c.msr.sysenter_cs = 3;
    CHECK(is_exception(f.run(std::vector<uint8_t>{0x0f, 0x34}, {}, {CodeMode::Compat32, 3}), kGeneralProtection));
  }
  SECTION("SYSEXIT in ring 3") {
    c.msr.sysenter_cs = 0x60;
    CHECK(is_exception(f.run(std::vector<uint8_t>{0x0f, 0x35}, {}, {CodeMode::Compat32, 3}), kGeneralProtection));
  }
  SECTION("real mode") {
    c.msr.sysenter_cs = 0x60;
    c.cr0 = kCr0Et;
    CHECK(is_exception(f.run(std::vector<uint8_t>{0x0f, 0x34}, {}, {CodeMode::Compat32, 0}), kGeneralProtection));
  }
}

TEST_CASE("swapgs: exchanges GS.base and KERNEL_GS_BASE in 64-bit ring 0", "[tcg][swapgs]") {
  CpuFixture f;
  Cpu& c = f.cpu();
  c.msr.kernel_gs_base = kDataAddress + 8;
  // swapgs; mov rax, gs:[0]; swapgs; mov ecx, KERNEL_GS_BASE; rdmsr
  const std::vector<uint8_t> code = {0x0f, 0x01, 0xf8, 0x65, 0x48, 0x8b, 0x04, 0x25, 0, 0, 0, 0,
                                     0x0f, 0x01, 0xf8, 0xb9, 0x02, 0x01, 0x00, 0xc0, 0x0f, 0x32};
  CpuSnapshot in;
  in.memory.resize(16);
  for (size_t i = 0; i < in.memory.size(); ++i) in.memory[i] = static_cast<uint8_t>(0xa0 + i);
  CpuSnapshot out = f.run(code, in, {CodeMode::Long64, 0});
  REQUIRE_FALSE(out.exception);
  CHECK(out.gpr[kRax] == ((kDataAddress + 8) & 0xffffffff));  // RDMSR's EAX: swapped back
  CHECK(c.seg[kGs].base == 0);
  CHECK(c.msr.kernel_gs_base == kDataAddress + 8);

  // mov rax, gs:[0] alone after one swapgs
  out = f.run(std::vector<uint8_t>{0x0f, 0x01, 0xf8, 0x65, 0x48, 0x8b, 0x04, 0x25, 0, 0, 0, 0}, in,
              {CodeMode::Long64, 0});
  REQUIRE_FALSE(out.exception);
  CHECK(out.gpr[kRax] == 0xafaeadacabaaa9a8ull);
}

TEST_CASE("swapgs: #GP(0) in ring 3, #UD outside 64-bit mode", "[tcg][swapgs]") {
  CpuFixture f;
  const std::vector<uint8_t> swapgs = {0x0f, 0x01, 0xf8};
  CHECK(is_exception(f.run(swapgs, {}, {CodeMode::Long64, 3}), kGeneralProtection));
  CHECK(is_exception(f.run(swapgs, {}, {CodeMode::Compat32, 0}), kInvalidOpcode));
}

TEST_CASE("sysret: ring 3 cannot run a supervisor page the kernel just ran", "[tcg][syscall]") {
  // The block cache must not hand ring 3 a block decoded for ring 0: the
  // instruction fetch at CPL 3 has to fault on the supervisor-only page.
  CpuFixture f;
  Cpu& c = f.cpu();
  c.msr.star = 0x0023'0010'0000'0000ull;
  constexpr uint64_t kKernelPage = 0x8000;  // fixture system RAM: supervisor only
  c.write_system<uint16_t>(kKernelPage, 0xe3ff);  // jmp rbx
  const std::vector<uint8_t> code = {
      0x48, 0x8d, 0x1d, 0x07, 0x00, 0x00, 0x00,  //       lea rbx, [rip + 7] (back)
      0xb8, 0x00, 0x80, 0x00, 0x00,              //       mov eax, 0x8000
      0xff, 0xe0,                                //       jmp rax
      0xb9, 0x00, 0x80, 0x00, 0x00,              // back: mov ecx, 0x8000
      0x48, 0x0f, 0x07,                          //       sysretq
  };
  CpuSnapshot out = f.run(code, {}, {CodeMode::Long64, 0});
  REQUIRE(out.exception);
  CHECK(out.exception->vector == kPageFault);
  // P and U/S. (The fixture learns the exception by fetching the bytes
  // again with a data read, so its error code lacks the I/D bit.)
  CHECK((out.exception->error_code & (kPfPresent | kPfUser | kPfWrite)) == (kPfPresent | kPfUser));
  CHECK(out.exception->fault_address == kKernelPage);
  CHECK(c.cpl == 3);
}
