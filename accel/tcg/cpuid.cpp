// CPUID leaves (Intel SDM vol. 2A "CPUID"; AMD APM vol. 3 appendix E).
//
// Values follow QEMU 7.2 -accel tcg for the same -cpu model and -smp count
// (one socket, one thread per core), checked with tests/tcg/roms/cpuid_dump.
// Deliberate differences from QEMU:
// - Features the interpreter lacks are not advertised (features.h). For
//   qemu64 that includes SVM, which QEMU's TCG emulates; so leaf 0x8000000A
//   reads zero, as QEMU's does when SVM is off.
// - No hypervisor leaves: QEMU's TCG answers 0x40000000 with "TCGTCGTCGTCG";
//   here 0x40000000-0x4fffffff are out of range like any unknown leaf.
// - -cpu max reports 48-bit linear addresses (no LA57 paging here).
#include "accel/tcg/cpuid.h"

#include <algorithm>
#include <bit>
#include <string_view>

#include "accel/tcg/cpu.h"
#include "accel/tcg/exec/xsave.h"
#include "accel/tcg/features.h"

namespace vireo::tcg {

namespace {

constexpr uint32_t kHtt = 1u << 28;        // leaf 1 EDX: the logical-count field is valid
constexpr uint32_t kCmpLegacy = 1u << 1;   // 0x80000001 ECX (AMD): cores are not threads
// Leaf 1 EDX bits that AMD repeats in 0x80000001 EDX (AMD APM vol. 3,
// CPUID Fn8000_0001_EDX): FPU..APIC, MTRR..PSE36, MMX, FXSR.
constexpr uint32_t kAmdAliases = 0x0183f3ff;
constexpr uint64_t kCr4Osxsave = 1ull << 18;
constexpr uint64_t kApicBaseEnable = 1ull << 11;

// 0x80000008 EAX: 0x3028 = 48 linear, 40 physical address bits.
constexpr uint32_t kAddressSizes = (kLinearAddressBits << 8) | kPhysicalAddressBits;

// The identity QEMU's TCG gives -cpu max: qemu64's vendor and signature
// with its own brand string.
const CpuModel& tcg_max_model() {
  static const CpuModel model = [] {
    CpuModel m = *find_cpu_model("qemu64");
    m.name = "max";
    m.brand = "QEMU TCG CPU version 2.5+";
    m.features = kImplementedFeatures;
    return m;
  }();
  return model;
}

CpuFeatures intersect(const CpuFeatures& a, const CpuFeatures& b) {
  return {.leaf1_edx = a.leaf1_edx & b.leaf1_edx,
          .leaf1_ecx = a.leaf1_ecx & b.leaf1_ecx,
          .leaf7_ebx = a.leaf7_ebx & b.leaf7_ebx,
          .leaf7_ecx = a.leaf7_ecx & b.leaf7_ecx,
          .leaf7_edx = a.leaf7_edx & b.leaf7_edx,
          .ext1_edx = a.ext1_edx & b.ext1_edx,
          .ext1_ecx = a.ext1_ecx & b.ext1_ecx};
}

// Four ASCII characters of `text` from `at`, little-endian, zero padded.
uint32_t text_dword(std::string_view text, size_t at) {
  uint32_t v = 0;
  for (size_t b = 0; b < 4; ++b) {
    uint8_t c = at + b < text.size() ? static_cast<uint8_t>(text[at + b]) : 0;
    v |= uint32_t{c} << (8 * b);
  }
  return v;
}

CpuidRegs vendor_leaf(uint32_t max_leaf, std::string_view vendor) {
  // The vendor string is EBX, EDX, ECX in that order.
  return {max_leaf, text_dword(vendor, 0), text_dword(vendor, 8), text_dword(vendor, 4)};
}

// Bits of an APIC ID that number the CPUs of one package: the x2APIC
// topology's "shift to the next level" (SDM vol. 3 §10.12.8.1).
uint32_t package_id_bits(uint32_t cpu_count) {
  return cpu_count <= 1 ? 0 : static_cast<uint32_t>(std::bit_width(cpu_count - 1));
}

// Intel's deterministic cache parameters (leaf 4) and descriptors (leaf 2)
// for QEMU's legacy cache model: 32 KiB 8-way L1d and L1i, 4 MiB 16-way L2
// per core, 16 MiB 16-way L3 per package, 64-byte lines.
struct CacheInfo {
  uint32_t type;   // 1 data, 2 instruction, 3 unified
  uint32_t level;
  uint32_t ways;
  uint32_t sets;
  bool per_package;
  uint32_t edx;    // bit 0: WBINVD not guaranteed on lower levels, 1 inclusive, 2 complex indexing
};
constexpr CacheInfo kIntelCaches[] = {
    {1, 1, 8, 64, false, 1},
    {2, 1, 8, 64, false, 1},
    {3, 2, 16, 4096, false, 1},
    {3, 3, 16, 16384, true, 6},
};
constexpr uint32_t kLineBytes = 64;

CpuidRegs intel_cache_leaf(uint32_t subleaf, uint32_t cpu_count) {
  if (subleaf >= std::size(kIntelCaches)) return {};  // type 0: no more caches
  const CacheInfo& c = kIntelCaches[subleaf];
  uint32_t sharing = c.per_package ? (1u << package_id_bits(cpu_count)) : 1;
  uint32_t eax = c.type | (c.level << 5) | (1u << 8) /* self-initialising */ |
                 ((std::min(sharing, 4096u) - 1) << 14) | ((std::min(cpu_count, 64u) - 1) << 26);
  uint32_t ebx = ((c.ways - 1) << 22) | (kLineBytes - 1);  // one partition
  return {eax, ebx, c.sets - 1, c.edx};
}

}  // namespace

const CpuModel& guest_model(const CpuModel* model) {
  if (model == nullptr || model->from_accelerator) return tcg_max_model();
  return *model;
}

CpuFeatures guest_features(const CpuModel* model) {
  return intersect(guest_model(model).features, kImplementedFeatures);
}

bool is_intel(const Cpu& cpu) { return guest_model(cpu.model).vendor == "GenuineIntel"; }

CpuidRegs cpuid_leaf(const Cpu& cpu, uint32_t leaf, uint32_t subleaf) {
  const CpuModel& model = guest_model(cpu.model);
  const CpuFeatures features = guest_features(cpu.model);
  const bool amd = model.vendor == "AuthenticAMD";
  const bool intel = model.vendor == "GenuineIntel";
  const uint32_t count = std::max(cpu.cpu_count, 1u);
  const uint32_t apic_id = cpu.index;

  // Past the maximum of its range a leaf reads as the highest basic leaf
  // (SDM vol. 2A: "If a value entered for CPUID.EAX is higher than the
  // maximum input value ..."); QEMU does this for every vendor.
  // Neither hypervisor (0x4000xxxx) nor Centaur (0xc000xxxx) leaves exist.
  uint32_t limit = leaf >= 0xc0000000 ? 0
                 : leaf >= 0x80000000 ? model.max_extended_leaf
                 : leaf >= 0x40000000 ? 0
                                      : model.max_basic_leaf;
  if (leaf > limit) leaf = model.max_basic_leaf;

  switch (leaf) {
    case 0:
      return vendor_leaf(model.max_basic_leaf, model.vendor);
    case 1: {
      uint32_t ebx = (apic_id << 24) | (8u << 8);  // CLFLUSH line: 8 * 8 bytes; brand index 0
      uint32_t edx = features.leaf1_edx;
      uint32_t ecx = features.leaf1_ecx & ~cpuid::kOsxsave;
      if (count > 1) {
        ebx |= std::min(count, 255u) << 16;
        edx |= kHtt;
      }
      // The APIC bit follows IA32_APIC_BASE.EN (SDM vol. 3 §10.4.3).
      if (!(cpu.apic_base & kApicBaseEnable)) edx &= ~cpuid::kApic;
      if ((features.leaf1_ecx & cpuid::kXsave) && (cpu.cr4 & kCr4Osxsave)) ecx |= cpuid::kOsxsave;
      return {model.signature(), ebx, ecx, edx};
    }
    case 2:
      // QEMU 7.1+ answers leaves 2 and 4 only for Intel vendors.
      if (amd) return {};
      return {1, 0, 0x4d, 0x002c307d};  // L3 16M/16-way; L1d 32K, L1i 32K, L2 2M descriptors
    case 4:
      if (amd) return {};
      return intel_cache_leaf(subleaf, count);
    case 5:
      // MONITOR/MWAIT parameters. MONITOR is not advertised, but QEMU
      // still reports the extensions word (EMX | IBE); kept for equality.
      return {0, 0, 3, 0};
    case 7:
      if (subleaf != 0) return {};
      return {0, features.leaf7_ebx, features.leaf7_ecx, features.leaf7_edx};
    case 0xb: {
      // x2APIC topology (SDM vol. 2A, leaf 0BH): one thread per core, all
      // CPUs cores of one package.
      uint32_t level = subleaf & 0xff;
      if (subleaf == 0) return {0, 1, level | (1u << 8), apic_id};
      if (subleaf == 1) return {package_id_bits(count), count & 0xffff, level | (2u << 8), apic_id};
      return {0, 0, level, apic_id};
    }
    case 0xd: {
      // XSAVE state components, as exec/xsave.cpp implements them.
      if (!(features.leaf1_ecx & cpuid::kXsave)) return {};
      const CpuidRegisters r = xsave_cpuid_leaf(subleaf, cpu.xcr0);
      return {r.eax, r.ebx, r.ecx, r.edx};
    }
    case 0x80000000:
      return vendor_leaf(model.max_extended_leaf, model.vendor);
    case 0x80000001: {
      uint32_t ecx = features.ext1_ecx;
      uint32_t edx = features.ext1_edx;
      if (amd) {
        edx |= features.leaf1_edx & kAmdAliases;
        if (!(cpu.apic_base & kApicBaseEnable)) edx &= ~cpuid::kApic;
      }
      // QEMU sets CmpLegacy for every vendor but Intel when there are
      // several cores; Linux then counts them as cores, not threads.
      if (!intel && count > 1) ecx |= kCmpLegacy;
      return {model.signature(), 0, ecx, edx};
    }
    case 0x80000002:
    case 0x80000003:
    case 0x80000004: {
      size_t at = (leaf - 0x80000002) * 16;
      return {text_dword(model.brand, at), text_dword(model.brand, at + 4),
              text_dword(model.brand, at + 8), text_dword(model.brand, at + 12)};
    }
    case 0x80000005:
      // AMD L1 TLBs and caches (QEMU's legacy values for both vendors):
      // 255-entry direct-mapped 2M/4M and 4K TLBs; 64 KiB 2-way L1d and
      // L1i, one line per tag, 64-byte lines.
      return {0x01ff01ff, 0x01ff01ff, 0x40020140, 0x40020140};
    case 0x80000006:
      // No 2M/4M L2 TLB; 512-entry 4-way 4K L2 TLBs; 512 KiB 16-way L2;
      // 16 MiB 16-way L3 (in 512 KiB units).
      return {0, 0x42004200, 0x02008140, 0x00808140};
    case 0x80000008: {
      // ECX: cores per package minus one, and the APIC-ID bits that number them.
      uint32_t ecx = count > 1 ? (package_id_bits(count) << 12) | ((count - 1) & 0xff) : 0;
      return {kAddressSizes, 0, ecx, 0};
    }
    default:
      // 3 (serial number), 6 (power management), 8, 0xa (no PMU), 0xc,
      // 0x80000007 (no invariant-TSC claim, as QEMU without +invtsc),
      // 0x80000009, 0x8000000a (SVM, not implemented).
      return {};
  }
}

}  // namespace vireo::tcg
