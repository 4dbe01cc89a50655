// Model-specific registers of the software CPU (Intel SDM vol. 4; AMD APM
// vol. 2 appendix A): what RDMSR and WRMSR reach.
//
// An MSR not listed here does not exist: RDMSR/WRMSR raise #GP(0), as on
// hardware and under KVM. (QEMU's TCG reads unknown MSRs as 0 and drops
// writes; guests that probe MSRs use the exception-safe accessors.) So do
// writes that set reserved bits or invalid values.
#pragma once

#include <cstdint>

namespace vireo::tcg {

struct Cpu;

namespace msr {
inline constexpr uint32_t kTsc = 0x10;
inline constexpr uint32_t kApicBase = 0x1b;
inline constexpr uint32_t kUcodeRev = 0x8b;        // IA32_BIOS_SIGN_ID / AMD PATCH_LEVEL
inline constexpr uint32_t kMtrrCap = 0xfe;
inline constexpr uint32_t kSysenterCs = 0x174;
inline constexpr uint32_t kSysenterEsp = 0x175;
inline constexpr uint32_t kSysenterEip = 0x176;
inline constexpr uint32_t kMcgCap = 0x179;
inline constexpr uint32_t kMcgStatus = 0x17a;
inline constexpr uint32_t kMcgCtl = 0x17b;
inline constexpr uint32_t kMiscEnable = 0x1a0;
inline constexpr uint32_t kMtrrPhysBase0 = 0x200;  // base/mask pairs up to 0x20f
inline constexpr uint32_t kMtrrPhysMask7 = 0x20f;
inline constexpr uint32_t kMtrrFix64k00000 = 0x250;
inline constexpr uint32_t kMtrrFix16k80000 = 0x258;
inline constexpr uint32_t kMtrrFix16kA0000 = 0x259;
inline constexpr uint32_t kMtrrFix4kC0000 = 0x268;  // through 0x26f (F8000)
inline constexpr uint32_t kMtrrFix4kF8000 = 0x26f;
inline constexpr uint32_t kPat = 0x277;
inline constexpr uint32_t kMtrrDefType = 0x2ff;
inline constexpr uint32_t kMc0Ctl = 0x400;         // bank n: 0x400 + 4n + {CTL, STATUS, ADDR, MISC}
inline constexpr uint32_t kTscDeadline = 0x6e0;
inline constexpr uint32_t kEfer = 0xc0000080;
inline constexpr uint32_t kStar = 0xc0000081;
inline constexpr uint32_t kLstar = 0xc0000082;
inline constexpr uint32_t kCstar = 0xc0000083;
inline constexpr uint32_t kSfmask = 0xc0000084;
inline constexpr uint32_t kFsBase = 0xc0000100;
inline constexpr uint32_t kGsBase = 0xc0000101;
inline constexpr uint32_t kKernelGsBase = 0xc0000102;
inline constexpr uint32_t kTscAux = 0xc0000103;
inline constexpr uint32_t kAmdSyscfg = 0xc0010010;        // AMD vendors only
inline constexpr uint32_t kAmdIntPendingMsg = 0xc0010055;  // AMD vendors only

// Machine-check banks reported in MCG_CAP, as QEMU gives.
inline constexpr unsigned kMcBanks = 10;
}  // namespace msr

// RDMSR/WRMSR without the CPL check (the instructions make it): the value
// of MSR `index`, or a write to it with its side effects. Both raise
// #GP(0) for an MSR that does not exist; writes also for reserved bits,
// invalid values and read-only MSRs.
uint64_t read_msr(Cpu& cpu, uint32_t index);
void write_msr(Cpu& cpu, uint32_t index, uint64_t value);

}  // namespace vireo::tcg
