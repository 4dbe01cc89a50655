// CPUID leaves of the software CPU against QEMU 7.2's, and the rule that
// a feature is advertised only if the interpreter implements it.
//
// The QEMU values below were printed by tests/tcg/roms/cpuid_dump.asm under
// `qemu-system-x86_64 -accel tcg -cpu <model> -smp <n>` (QEMU 7.2.22,
// Debian 12). Where QEMU advertises a feature vireo lacks, vireo must
// report the same register with just those bits clear.
#include <catch2/catch.hpp>

#include <memory>
#include <string>
#include <vector>

#include "accel/tcg/cpu.h"
#include "accel/tcg/cpuid.h"
#include "accel/tcg/decoder.h"
#include "accel/tcg/features.h"

using namespace vireo;
using namespace vireo::tcg;

namespace {

struct Row {
  uint32_t leaf, subleaf;
  CpuidRegs regs;
};

// qemu-system-x86_64 -accel tcg -cpu qemu64 -smp 1
const std::vector<Row> kQemu64Smp1 = {
    {0x00000000, 0, {0x0000000d, 0x68747541, 0x444d4163, 0x69746e65}},
    {0x00000001, 0, {0x00060fb1, 0x00000800, 0x80002001, 0x078bfbfd}},
    {0x00000002, 0, {0, 0, 0, 0}},
    {0x00000003, 0, {0, 0, 0, 0}},
    {0x00000004, 0, {0, 0, 0, 0}},
    {0x00000004, 3, {0, 0, 0, 0}},
    {0x00000005, 0, {0x00000000, 0x00000000, 0x00000003, 0x00000000}},
    {0x00000006, 0, {0, 0, 0, 0}},
    {0x00000007, 0, {0, 0, 0, 0}},
    {0x00000007, 1, {0, 0, 0, 0}},
    {0x00000008, 0, {0, 0, 0, 0}},
    {0x0000000a, 0, {0, 0, 0, 0}},
    {0x0000000b, 0, {0x00000000, 0x00000001, 0x00000100, 0x00000000}},
    {0x0000000b, 1, {0x00000000, 0x00000001, 0x00000201, 0x00000000}},
    {0x0000000b, 2, {0x00000000, 0x00000000, 0x00000002, 0x00000000}},
    {0x0000000c, 0, {0, 0, 0, 0}},
    {0x0000000d, 0, {0, 0, 0, 0}},
    {0x0000000d, 1, {0, 0, 0, 0}},
    {0x0000000e, 0, {0, 0, 0, 0}},
    {0x0000001f, 0, {0, 0, 0, 0}},
    {0x80000000, 0, {0x8000000a, 0x68747541, 0x444d4163, 0x69746e65}},
    {0x80000001, 0, {0x00060fb1, 0x00000000, 0x00000005, 0x2193fbfd}},
    {0x80000002, 0, {0x554d4551, 0x72695620, 0x6c617574, 0x55504320}},
    {0x80000003, 0, {0x72657620, 0x6e6f6973, 0x352e3220, 0x0000002b}},
    {0x80000004, 0, {0, 0, 0, 0}},
    {0x80000005, 0, {0x01ff01ff, 0x01ff01ff, 0x40020140, 0x40020140}},
    {0x80000006, 0, {0x00000000, 0x42004200, 0x02008140, 0x00808140}},
    {0x80000007, 0, {0, 0, 0, 0}},
    {0x80000008, 0, {0x00003028, 0, 0, 0}},
    {0x80000009, 0, {0, 0, 0, 0}},
    {0x8000000b, 0, {0, 0, 0, 0}},
    {0x80000020, 0, {0, 0, 0, 0}},
    {0xc0000000, 0, {0, 0, 0, 0}},
};

// The rows -smp 2 and -smp 4 change (the others are as with -smp 1).
const std::vector<Row> kQemu64Smp2 = {
    {0x00000001, 0, {0x00060fb1, 0x00020800, 0x80002001, 0x178bfbfd}},
    {0x0000000b, 1, {0x00000001, 0x00000002, 0x00000201, 0x00000000}},
    {0x80000001, 0, {0x00060fb1, 0x00000000, 0x00000007, 0x2193fbfd}},
    {0x80000008, 0, {0x00003028, 0x00000000, 0x00001001, 0x00000000}},
};
const std::vector<Row> kQemu64Smp3 = {
    {0x00000001, 0, {0x00060fb1, 0x00030800, 0x80002001, 0x178bfbfd}},
    {0x0000000b, 1, {0x00000002, 0x00000003, 0x00000201, 0x00000000}},
    {0x80000008, 0, {0x00003028, 0x00000000, 0x00002002, 0x00000000}},
};
const std::vector<Row> kQemu64Smp4 = {
    {0x00000001, 0, {0x00060fb1, 0x00040800, 0x80002001, 0x178bfbfd}},
    {0x0000000b, 1, {0x00000002, 0x00000004, 0x00000201, 0x00000000}},
    {0x80000001, 0, {0x00060fb1, 0x00000000, 0x00000007, 0x2193fbfd}},
    {0x80000008, 0, {0x00003028, 0x00000000, 0x00002003, 0x00000000}},
};

// -cpu qemu64,vendor=GenuineIntel: the cache leaves Intel vendors get.
const std::vector<Row> kQemu64IntelSmp1 = {
    {0x00000002, 0, {0x00000001, 0x00000000, 0x0000004d, 0x002c307d}},
    {0x00000004, 0, {0x00000121, 0x01c0003f, 0x0000003f, 0x00000001}},
    {0x00000004, 1, {0x00000122, 0x01c0003f, 0x0000003f, 0x00000001}},
    {0x00000004, 2, {0x00000143, 0x03c0003f, 0x00000fff, 0x00000001}},
    {0x00000004, 3, {0x00000163, 0x03c0003f, 0x00003fff, 0x00000006}},
    {0x00000004, 4, {0, 0, 0, 0}},
    {0x80000001, 0, {0x00060fb1, 0x00000000, 0x00000005, 0x20100800}},
};
const std::vector<Row> kQemu64IntelSmp3 = {
    {0x00000004, 0, {0x08000121, 0x01c0003f, 0x0000003f, 0x00000001}},
    {0x00000004, 3, {0x0800c163, 0x03c0003f, 0x00003fff, 0x00000006}},
    {0x80000001, 0, {0x00060fb1, 0x00000000, 0x00000005, 0x20100800}},
};
const std::vector<Row> kQemu64IntelSmp4 = {
    {0x00000004, 0, {0x0c000121, 0x01c0003f, 0x0000003f, 0x00000001}},
    {0x00000004, 2, {0x0c000143, 0x03c0003f, 0x00000fff, 0x00000001}},
    {0x00000004, 3, {0x0c00c163, 0x03c0003f, 0x00003fff, 0x00000006}},
};

constexpr uint32_t kHtt = 1u << 28;
constexpr uint32_t kCmpLegacy = 1u << 1;
constexpr uint32_t kAmdAliases = 0x0183f3ff;

// The bits of each register vireo may legitimately clear relative to
// QEMU: feature words, where it advertises only what it implements.
// Everything else must be equal.
CpuidRegs implemented_mask(uint32_t leaf, uint32_t subleaf) {
  const CpuFeatures& f = kImplementedFeatures;
  constexpr uint32_t all = ~0u;
  switch (leaf) {
    case 1: return {all, all, f.leaf1_ecx, f.leaf1_edx | kHtt};
    case 7: return subleaf == 0 ? CpuidRegs{all, f.leaf7_ebx, f.leaf7_ecx, f.leaf7_edx} : CpuidRegs{all, all, all, all};
    case 0x80000001: return {all, all, f.ext1_ecx | kCmpLegacy, f.ext1_edx | (f.leaf1_edx & kAmdAliases)};
    default: return {all, all, all, all};
  }
}

std::string hex(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%08x", v);
  return buf;
}

std::string describe(const Row& r, const CpuidRegs& got) {
  return "leaf " + hex(r.leaf) + "." + std::to_string(r.subleaf) + ": qemu " + hex(r.regs.eax) + " " +
         hex(r.regs.ebx) + " " + hex(r.regs.ecx) + " " + hex(r.regs.edx) + ", vireo " + hex(got.eax) + " " +
         hex(got.ebx) + " " + hex(got.ecx) + " " + hex(got.edx);
}

void check_against_qemu(const Cpu& cpu, const std::vector<Row>& rows) {
  for (const Row& r : rows) {
    CpuidRegs got = cpuid_leaf(cpu, r.leaf, r.subleaf);
    CpuidRegs mask = implemented_mask(r.leaf, r.subleaf);
    INFO(describe(r, got));
    CHECK((got.eax & mask.eax) == (r.regs.eax & mask.eax));
    CHECK((got.ebx & mask.ebx) == (r.regs.ebx & mask.ebx));
    CHECK((got.ecx & mask.ecx) == (r.regs.ecx & mask.ecx));
    CHECK((got.edx & mask.edx) == (r.regs.edx & mask.edx));
    // Outside the mask nothing may be set that QEMU does not set.
    CHECK((got.eax & ~mask.eax) == 0);
    CHECK((got.ebx & ~mask.ebx) == 0);
    CHECK((got.ecx & ~mask.ecx) == 0);
    CHECK((got.edx & ~mask.edx) == 0);
  }
}

std::unique_ptr<Cpu> make_cpu(const CpuModel* model, unsigned cpu_count, unsigned index = 0) {
  auto cpu = std::make_unique<Cpu>();
  cpu->model = model;
  cpu->cpu_count = cpu_count;
  cpu->index = index;
  cpu->apic_base = 0xfee00900;  // enabled, BSP: what QEMU's guest had when it ran CPUID
  return cpu;
}

const CpuModel& qemu64() { return *find_cpu_model("qemu64"); }

CpuModel qemu64_intel() {
  CpuModel m = qemu64();
  m.vendor = "GenuineIntel";
  return m;
}

std::string brand_of(const Cpu& cpu) {
  std::string s;
  for (uint32_t leaf = 0x80000002; leaf <= 0x80000004; ++leaf) {
    CpuidRegs r = cpuid_leaf(cpu, leaf, 0);
    for (uint32_t v : {r.eax, r.ebx, r.ecx, r.edx}) {
      for (int b = 0; b < 4; ++b) {
        char c = static_cast<char>(v >> (8 * b));
        if (c) s += c;
      }
    }
  }
  return s;
}

}  // namespace

TEST_CASE("cpuid: qemu64 matches QEMU's qemu64 except unimplemented features", "[tcg][cpuid]") {
  check_against_qemu(*make_cpu(&qemu64(), 1), kQemu64Smp1);
}

TEST_CASE("cpuid: CPU count shapes leaves 1, 0xb, 0x80000001 and 0x80000008 as QEMU's -smp", "[tcg][cpuid]") {
  SECTION("2 CPUs") { check_against_qemu(*make_cpu(&qemu64(), 2), kQemu64Smp2); }
  SECTION("3 CPUs") { check_against_qemu(*make_cpu(&qemu64(), 3), kQemu64Smp3); }
  SECTION("4 CPUs") { check_against_qemu(*make_cpu(&qemu64(), 4), kQemu64Smp4); }
}

TEST_CASE("cpuid: Intel vendors get QEMU's cache leaves 2 and 4, AMD vendors zeros", "[tcg][cpuid]") {
  const CpuModel intel = qemu64_intel();
  check_against_qemu(*make_cpu(&intel, 1), kQemu64IntelSmp1);
  check_against_qemu(*make_cpu(&intel, 3), kQemu64IntelSmp3);
  check_against_qemu(*make_cpu(&intel, 4), kQemu64IntelSmp4);
  CHECK(cpuid_leaf(*make_cpu(&qemu64(), 4), 4, 0) == CpuidRegs{});
}

TEST_CASE("cpuid: the initial APIC ID is the vCPU index", "[tcg][cpuid]") {
  auto cpu = make_cpu(&qemu64(), 4, 3);
  CHECK(cpuid_leaf(*cpu, 1, 0).ebx >> 24 == 3);
  CHECK(cpuid_leaf(*cpu, 0xb, 0).edx == 3);
  CHECK(cpuid_leaf(*cpu, 0xb, 1).edx == 3);
  CHECK(cpuid_leaf(*cpu, 0xb, 7).edx == 3);
}

TEST_CASE("cpuid: SVM's leaf reads zero because SVM is not implemented", "[tcg][cpuid]") {
  // QEMU's TCG emulates SVM and reports revision 1 with 16 ASIDs here.
  REQUIRE_FALSE(kImplementedFeatures.ext1_ecx & (1u << 2));
  CHECK(cpuid_leaf(*make_cpu(&qemu64(), 1), 0x8000000a, 0) == CpuidRegs{});
}

TEST_CASE("cpuid: leaves past the maximum read as the highest basic leaf", "[tcg][cpuid]") {
  auto cpu = make_cpu(&qemu64(), 1);
  const CpuidRegs last = cpuid_leaf(*cpu, 0xd, 0);
  for (uint32_t leaf : {0xeu, 0x1fu, 0x40000000u, 0x40000001u, 0x8000000bu, 0xc0000000u, 0xffffffffu}) {
    INFO(hex(leaf));
    CHECK(cpuid_leaf(*cpu, leaf, 0) == last);
  }
}

TEST_CASE("cpuid: -cpu max is QEMU's TCG identity with exactly the implemented features", "[tcg][cpuid]") {
  const CpuModel* max = find_cpu_model("max");
  REQUIRE(max != nullptr);
  auto cpu = make_cpu(max, 1);
  // qemu-system-x86_64 -accel tcg -cpu max: leaf 0 and the signature as qemu64.
  CHECK(cpuid_leaf(*cpu, 0, 0) == CpuidRegs{0x0000000d, 0x68747541, 0x444d4163, 0x69746e65});
  CHECK(cpuid_leaf(*cpu, 1, 0).eax == 0x00060fb1);
  CHECK(cpuid_leaf(*cpu, 0x80000000, 0).eax == 0x8000000a);
  CHECK(brand_of(*cpu) == "QEMU TCG CPU version 2.5+");

  const CpuFeatures& f = kImplementedFeatures;
  CHECK(cpuid_leaf(*cpu, 1, 0).edx == f.leaf1_edx);  // one CPU: no HTT
  CHECK(cpuid_leaf(*cpu, 1, 0).ecx == (f.leaf1_ecx & ~cpuid::kOsxsave));
  CHECK(cpuid_leaf(*cpu, 7, 0).ebx == f.leaf7_ebx);
  CHECK(cpuid_leaf(*cpu, 7, 0).ecx == f.leaf7_ecx);
  CHECK(cpuid_leaf(*cpu, 7, 0).edx == f.leaf7_edx);
  CHECK(cpuid_leaf(*cpu, 0x80000001, 0).ecx == f.ext1_ecx);
  CHECK(cpuid_leaf(*cpu, 0x80000001, 0).edx == (f.ext1_edx | (f.leaf1_edx & kAmdAliases)));
  // "host" under tcg is "max", and so is a vCPU without a model.
  CHECK(cpuid_leaf(*make_cpu(find_cpu_model("host"), 1), 0x80000001, 0) == cpuid_leaf(*cpu, 0x80000001, 0));
  CHECK(cpuid_leaf(*make_cpu(nullptr, 1), 1, 0) == cpuid_leaf(*cpu, 1, 0));
}

TEST_CASE("cpuid: the APIC bit follows IA32_APIC_BASE.EN and OSXSAVE follows CR4", "[tcg][cpuid]") {
  CpuModel model = qemu64();
  model.features.leaf1_ecx |= cpuid::kXsave | cpuid::kOsxsave;
  auto cpu = make_cpu(&model, 1);
  const bool apic = kImplementedFeatures.leaf1_edx & cpuid::kApic;
  CHECK(bool(cpuid_leaf(*cpu, 1, 0).edx & cpuid::kApic) == apic);
  cpu->apic_base &= ~(1ull << 11);
  CHECK_FALSE(cpuid_leaf(*cpu, 1, 0).edx & cpuid::kApic);
  CHECK_FALSE(cpuid_leaf(*cpu, 0x80000001, 0).edx & cpuid::kApic);

  const bool xsave = kImplementedFeatures.leaf1_ecx & cpuid::kXsave;
  CHECK_FALSE(cpuid_leaf(*cpu, 1, 0).ecx & cpuid::kOsxsave);  // a model cannot claim it
  cpu->cr4 |= 1ull << 18;
  CHECK(bool(cpuid_leaf(*cpu, 1, 0).ecx & cpuid::kOsxsave) == xsave);
}

namespace {

// One instruction of each feature, in the mode where it exists. An
// advertised feature whose instruction decodes as invalid is a lie.
struct FeatureProbe {
  const char* name;
  uint32_t CpuFeatures::*word;
  uint32_t bit;
  std::vector<uint8_t> bytes;
  unsigned code_bits;
};

const std::vector<FeatureProbe>& feature_probes() {
  using namespace cpuid;
  static const std::vector<FeatureProbe> probes = {
      {"fpu: fld1", &CpuFeatures::leaf1_edx, kFpu, {0xd9, 0xe8}, 32},
      {"tsc: rdtsc", &CpuFeatures::leaf1_edx, kTsc, {0x0f, 0x31}, 32},
      {"msr: rdmsr", &CpuFeatures::leaf1_edx, kMsr, {0x0f, 0x32}, 32},
      {"msr: wrmsr", &CpuFeatures::leaf1_edx, kMsr, {0x0f, 0x30}, 32},
      {"cx8: cmpxchg8b [eax]", &CpuFeatures::leaf1_edx, kCx8, {0x0f, 0xc7, 0x08}, 32},
      {"sep: sysenter", &CpuFeatures::leaf1_edx, kSep, {0x0f, 0x34}, 32},
      {"sep: sysexit", &CpuFeatures::leaf1_edx, kSep, {0x0f, 0x35}, 32},
      {"cmov: cmovz eax, ecx", &CpuFeatures::leaf1_edx, kCmov, {0x0f, 0x44, 0xc1}, 32},
      {"clflush: clflush [eax]", &CpuFeatures::leaf1_edx, kClflush, {0x0f, 0xae, 0x38}, 32},
      {"mmx: movq mm0, mm1", &CpuFeatures::leaf1_edx, kMmx, {0x0f, 0x6f, 0xc1}, 32},
      {"fxsr: fxsave [eax]", &CpuFeatures::leaf1_edx, kFxsr, {0x0f, 0xae, 0x00}, 32},
      {"sse: addps xmm0, xmm1", &CpuFeatures::leaf1_edx, kSse, {0x0f, 0x58, 0xc1}, 32},
      {"sse2: addpd xmm0, xmm1", &CpuFeatures::leaf1_edx, kSse2, {0x66, 0x0f, 0x58, 0xc1}, 32},
      {"sse3: haddps xmm0, xmm1", &CpuFeatures::leaf1_ecx, kSse3, {0xf2, 0x0f, 0x7c, 0xc1}, 32},
      {"pclmulqdq", &CpuFeatures::leaf1_ecx, kPclmulqdq, {0x66, 0x0f, 0x3a, 0x44, 0xc1, 0x00}, 32},
      {"ssse3: pshufb xmm0, xmm1", &CpuFeatures::leaf1_ecx, kSsse3, {0x66, 0x0f, 0x38, 0x00, 0xc1}, 32},
      {"cx16: cmpxchg16b [rax]", &CpuFeatures::leaf1_ecx, kCx16, {0x48, 0x0f, 0xc7, 0x08}, 64},
      {"sse4.1: ptest xmm0, xmm1", &CpuFeatures::leaf1_ecx, kSse41, {0x66, 0x0f, 0x38, 0x17, 0xc1}, 32},
      {"sse4.2: crc32 eax, ecx", &CpuFeatures::leaf1_ecx, kSse42, {0xf2, 0x0f, 0x38, 0xf1, 0xc1}, 32},
      {"movbe eax, [ecx]", &CpuFeatures::leaf1_ecx, kMovbe, {0x0f, 0x38, 0xf0, 0x01}, 32},
      {"popcnt eax, ecx", &CpuFeatures::leaf1_ecx, kPopcnt, {0xf3, 0x0f, 0xb8, 0xc1}, 32},
      {"xsave: xgetbv", &CpuFeatures::leaf1_ecx, kXsave, {0x0f, 0x01, 0xd0}, 32},
      {"rdrand eax", &CpuFeatures::leaf1_ecx, kRdrand, {0x0f, 0xc7, 0xf0}, 32},
      {"syscall", &CpuFeatures::ext1_edx, kSyscall, {0x0f, 0x05}, 64},
      {"sysret", &CpuFeatures::ext1_edx, kSyscall, {0x0f, 0x07}, 64},
      {"rdtscp", &CpuFeatures::ext1_edx, kRdtscp, {0x0f, 0x01, 0xf9}, 64},
      {"lahf_lm: lahf in 64-bit mode", &CpuFeatures::ext1_ecx, kLahfLm, {0x9f}, 64},
      {"lahf_lm: sahf in 64-bit mode", &CpuFeatures::ext1_ecx, kLahfLm, {0x9e}, 64},
      {"abm: lzcnt eax, ecx", &CpuFeatures::ext1_ecx, kAbm, {0xf3, 0x0f, 0xbd, 0xc1}, 32},
      {"sse4a: extrq xmm0, xmm1", &CpuFeatures::ext1_ecx, kSse4a, {0x66, 0x0f, 0x79, 0xc1}, 32},
  };
  return probes;
}

}  // namespace

TEST_CASE("cpuid: every advertised instruction feature has its instructions in the decode table",
          "[tcg][cpuid]") {
  for (const FeatureProbe& p : feature_probes()) {
    if (!(kImplementedFeatures.*p.word & p.bit)) continue;
    INFO(p.name);
    Insn insn;
    REQUIRE(decode(p.bytes.data(), p.bytes.size(), p.code_bits, insn) == DecodeStatus::Ok);
    CHECK(disassemble(insn) != "(bad)");
  }
}
