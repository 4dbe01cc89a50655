#include "accel/cpu_model.h"

namespace vireo {

uint32_t CpuModel::signature() const {
  // Family above 15 goes in the extended family field, and the extended
  // model field holds model bits 7:4 (Intel SDM vol. 2A, CPUID leaf 1 EAX).
  uint32_t base_family = family > 15 ? 15 : family;
  uint32_t ext_family = family > 15 ? family - 15 : 0;
  return (stepping & 0xf) | ((model & 0xf) << 4) | (base_family << 8) |
         (((model >> 4) & 0xf) << 16) | (ext_family << 20);
}

const std::vector<CpuModel>& cpu_models() {
  using namespace cpuid;
  // QEMU's qemu64: a conservative x86-64 baseline every host can provide.
  static const CpuFeatures kQemu64Features = {
      .leaf1_edx = kFpu | kDe | kPse | kTsc | kMsr | kPae | kMce | kCx8 | kApic | kSep | kMtrr |
                   kPge | kMca | kCmov | kPat | kPse36 | kClflush | kMmx | kFxsr | kSse | kSse2,
      .leaf1_ecx = kSse3 | kCx16 | kHypervisor,
      .ext1_edx = kSyscall | kNx | kLm,
      .ext1_ecx = kLahfLm,
  };
  static const std::vector<CpuModel> models = {
      {.name = "qemu64",
       .description = "QEMU Virtual CPU version 2.5+",
       .vendor = "AuthenticAMD",
       .family = 15,
       .model = 107,
       .stepping = 1,
       .brand = "QEMU Virtual CPU version 2.5+",
       .features = kQemu64Features,
       // QEMU's qemu64 "xlevel": the range reaches SVM's leaf whether or not
       // SVM is offered (the leaf then reads zero).
       .max_extended_leaf = 0x8000000a},
      {.name = "max",
       .description = "Enables all features supported by the accelerator in the current host",
       .from_accelerator = true},
      {.name = "host",
       .description = "processor with all supported host features (kvm only)",
       .from_accelerator = true},
  };
  return models;
}

const CpuModel* find_cpu_model(std::string_view name) {
  for (const CpuModel& m : cpu_models()) {
    if (m.name == name) return &m;
  }
  return nullptr;
}

}  // namespace vireo
