// The -cpu models: what CPUID tells the guest.
//
// A named model is a fixed identity (vendor, family/model/stepping) and a
// feature list. "host" and "max" ask for everything the accelerator can
// provide: under kvm what KVM_GET_SUPPORTED_CPUID reports, under tcg what
// the interpreter implements. Every accelerator intersects the model with
// what it can really do, so CPUID never advertises a missing feature.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

namespace vireo {

// CPUID feature bits, named as in the Intel SDM vol. 2A CPUID tables.
namespace cpuid {
// Leaf 1, EDX.
inline constexpr uint32_t kFpu = 1u << 0, kVme = 1u << 1, kDe = 1u << 2, kPse = 1u << 3,
                          kTsc = 1u << 4, kMsr = 1u << 5, kPae = 1u << 6, kMce = 1u << 7,
                          kCx8 = 1u << 8, kApic = 1u << 9, kSep = 1u << 11, kMtrr = 1u << 12,
                          kPge = 1u << 13, kMca = 1u << 14, kCmov = 1u << 15, kPat = 1u << 16,
                          kPse36 = 1u << 17, kClflush = 1u << 19, kMmx = 1u << 23,
                          kFxsr = 1u << 24, kSse = 1u << 25, kSse2 = 1u << 26;
// Leaf 1, ECX.
inline constexpr uint32_t kSse3 = 1u << 0, kPclmulqdq = 1u << 1, kSsse3 = 1u << 9,
                          kCx16 = 1u << 13, kSse41 = 1u << 19, kSse42 = 1u << 20,
                          kX2apic = 1u << 21, kMovbe = 1u << 22, kPopcnt = 1u << 23,
                          kTscDeadline = 1u << 24, kXsave = 1u << 26, kOsxsave = 1u << 27,
                          kRdrand = 1u << 30, kHypervisor = 1u << 31;
// Leaf 0x80000001, EDX.
inline constexpr uint32_t kSyscall = 1u << 11, kNx = 1u << 20, kPdpe1gb = 1u << 26,
                          kRdtscp = 1u << 27, kLm = 1u << 29;
// Leaf 0x80000001, ECX.
inline constexpr uint32_t kLahfLm = 1u << 0, kAbm = 1u << 5, kSse4a = 1u << 6;
}  // namespace cpuid

struct CpuFeatures {
  uint32_t leaf1_edx = 0;
  uint32_t leaf1_ecx = 0;
  uint32_t leaf7_ebx = 0;
  uint32_t leaf7_ecx = 0;
  uint32_t leaf7_edx = 0;
  uint32_t ext1_edx = 0;  // 0x80000001
  uint32_t ext1_ecx = 0;
};

struct CpuModel {
  std::string name;
  std::string description;
  // "host"/"max": identity and features come from the accelerator.
  bool from_accelerator = false;
  std::string vendor;  // 12 characters, e.g. "AuthenticAMD"
  unsigned family = 0;
  unsigned model = 0;
  unsigned stepping = 0;
  std::string brand;   // up to 48 characters for leaves 0x80000002..4
  CpuFeatures features;
  uint32_t max_basic_leaf = 0xd;
  uint32_t max_extended_leaf = 0x80000008;

  // EAX of CPUID leaf 1: stepping, model, family with the extended fields.
  uint32_t signature() const;
};

const std::vector<CpuModel>& cpu_models();
const CpuModel* find_cpu_model(std::string_view name);

}  // namespace vireo
