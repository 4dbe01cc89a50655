#include "accel/tcg/msr.h"

#include "accel/tcg/cpu.h"
#include "accel/tcg/cpuid.h"
#include "accel/tcg/system.h"
#include "accel/tcg/tsc.h"

namespace vireo::tcg {

namespace {

// Bits above MAXPHYADDR in a physical-address field are reserved.
constexpr uint64_t kAbovePhysical = ~((1ull << kPhysicalAddressBits) - 1);

// IA32_APIC_BASE (SDM vol. 3 §10.4.4): BSP (8), x2APIC enable (10, only
// with x2APIC), global enable (11), base 12..MAXPHYADDR-1.
constexpr uint64_t kApicBaseReserved = 0x6ffull | kAbovePhysical;

// MTRRs (SDM vol. 3 §11.11).
constexpr uint64_t kMtrrCapValue = 8 | (1u << 8) | (1u << 10);  // 8 variable ranges, fixed ranges, WC
constexpr uint64_t kMtrrDefTypeWritable = 0xff | (1u << 10) | (1u << 11);  // type, FE, E
constexpr uint64_t kMtrrPhysBaseReserved = 0xf00ull | kAbovePhysical;
constexpr uint64_t kMtrrPhysMaskReserved = 0x7ffull | kAbovePhysical;  // bit 11 is V

// Machine checks (SDM vol. 3 §15.3.1): QEMU's MCG_CAP, 10 banks with
// MCG_CTL_P (8) and MCG_SER_P (24).
constexpr uint64_t kMcgCapValue = msr::kMcBanks | (1u << 8) | (1u << 24);
constexpr uint64_t kMcgStatusWritable = 0x7;  // RIPV, EIPV, MCIP

// Microcode revision: QEMU reports 0x01000065 for AMD vendors and
// 0x1_0000_0000 (revision 1 in EDX) otherwise.
constexpr uint64_t kAmdPatchLevel = 0x01000065;
constexpr uint64_t kIntelMicrocodeRevision = 1ull << 32;

bool is_canonical(uint64_t a) {
  constexpr unsigned shift = 64 - kLinearAddressBits;
  return static_cast<uint64_t>(static_cast<int64_t>(a << shift) >> shift) == a;
}

// Memory types an MTRR may hold: UC, WC, WT, WP, WB (SDM vol. 3 table 11-8).
bool valid_mtrr_type(uint64_t type) { return type <= 6 && type != 2 && type != 3; }
// PAT entries may also be UC- (7) (table 11-10).
bool valid_pat_type(uint64_t type) { return type == 7 || valid_mtrr_type(type); }

bool every_byte(uint64_t value, bool (*valid)(uint64_t)) {
  for (unsigned i = 0; i < 8; ++i) {
    if (!valid((value >> (8 * i)) & 0xff)) return false;
  }
  return true;
}

// Index into Msrs::mtrr_fixed, or -1.
int fixed_mtrr_slot(uint32_t index) {
  if (index == msr::kMtrrFix64k00000) return 0;
  if (index == msr::kMtrrFix16k80000) return 1;
  if (index == msr::kMtrrFix16kA0000) return 2;
  if (index >= msr::kMtrrFix4kC0000 && index <= msr::kMtrrFix4kF8000) {
    return static_cast<int>(3 + index - msr::kMtrrFix4kC0000);
  }
  return -1;
}

bool is_mc_bank(uint32_t index) { return index >= msr::kMc0Ctl && index < msr::kMc0Ctl + 4 * msr::kMcBanks; }

bool is_amd(const Cpu& cpu) { return guest_model(cpu.model).vendor == "AuthenticAMD"; }

bool has_rdtscp(const Cpu& cpu) { return guest_features(cpu.model).ext1_edx & cpuid::kRdtscp; }

void require(bool condition) {
  if (!condition) raise_gp(0);
}

}  // namespace

uint64_t read_msr(Cpu& cpu, uint32_t index) {
  Msrs& m = cpu.msr;
  if (index >= msr::kMtrrPhysBase0 && index <= msr::kMtrrPhysMask7) return m.mtrr_var[index - msr::kMtrrPhysBase0];
  if (int slot = fixed_mtrr_slot(index); slot >= 0) return m.mtrr_fixed[slot];
  if (is_mc_bank(index)) {
    unsigned bank = (index - msr::kMc0Ctl) / 4;
    switch ((index - msr::kMc0Ctl) % 4) {
      case 0: return m.mc_ctl[bank];
      case 1: return m.mc_status[bank];
      case 2: return m.mc_addr[bank];
      default: return m.mc_misc[bank];
    }
  }
  switch (index) {
    case msr::kTsc: return read_tsc(cpu);
    case msr::kApicBase: return cpu.apic_base;
    case msr::kUcodeRev: return is_intel(cpu) ? kIntelMicrocodeRevision : kAmdPatchLevel;
    case msr::kMtrrCap: return kMtrrCapValue;
    case msr::kSysenterCs: return m.sysenter_cs;
    case msr::kSysenterEsp: return m.sysenter_esp;
    case msr::kSysenterEip: return m.sysenter_eip;
    case msr::kMcgCap: return kMcgCapValue;
    case msr::kMcgStatus: return m.mcg_status;
    case msr::kMcgCtl: return m.mcg_ctl;
    case msr::kMiscEnable: return m.misc_enable;
    case msr::kPat: return m.pat;
    case msr::kMtrrDefType: return m.mtrr_def_type;
    case msr::kTscDeadline: return cpu.interrupts != nullptr ? cpu.interrupts->read_tsc_deadline() : m.tsc_deadline;
    case msr::kEfer: return cpu.efer;
    case msr::kStar: return m.star;
    case msr::kLstar: return m.lstar;
    case msr::kCstar: return m.cstar;
    case msr::kSfmask: return m.sfmask;
    case msr::kFsBase: return cpu.seg[kFs].base;
    case msr::kGsBase: return cpu.seg[kGs].base;
    case msr::kKernelGsBase: return m.kernel_gs_base;
    case msr::kTscAux:
      require(has_rdtscp(cpu));
      return m.tsc_aux;
    case msr::kAmdSyscfg:
      // Linux reads it without a fault handler on AMD family >= 0xf
      // (get_mtrr_state): no fixed-range DRAM modification, no TOM2.
      require(is_amd(cpu));
      return 0;
    case msr::kAmdIntPendingMsg:
      // Linux reads it without a fault handler on CPUs with AMD erratum
      // 400 (family 0xf from model 0x41: qemu64 is 0x6b) to see whether
      // C1E is active. It is not: no C1E, no SMI-based interrupt pending.
      require(is_amd(cpu));
      return 0;
    default:
      raise_gp(0);
  }
}

void write_msr(Cpu& cpu, uint32_t index, uint64_t value) {
  Msrs& m = cpu.msr;
  if (index >= msr::kMtrrPhysBase0 && index <= msr::kMtrrPhysMask7) {
    unsigned n = index - msr::kMtrrPhysBase0;
    if (n % 2 == 0) {
      require(!(value & kMtrrPhysBaseReserved) && valid_mtrr_type(value & 0xff));
    } else {
      require(!(value & kMtrrPhysMaskReserved));
    }
    m.mtrr_var[n] = value;
    return;
  }
  if (int slot = fixed_mtrr_slot(index); slot >= 0) {
    require(every_byte(value, valid_mtrr_type));
    m.mtrr_fixed[slot] = value;
    return;
  }
  if (is_mc_bank(index)) {
    unsigned bank = (index - msr::kMc0Ctl) / 4;
    switch ((index - msr::kMc0Ctl) % 4) {
      case 0:
        // Only all-zeros or all-ones (SDM vol. 3 §15.3.2.1), except that
        // bits 0 and 10 may be clear, as KVM allows: Linux clears bit 10
        // of MC4_CTL on AMD family 0xf (the GART TBL walk error), and
        // UnixWare bit 0 of MC1_CTL.
        require(value == 0 || (value | (1ull << 10) | 1) == ~0ull);
        m.mc_ctl[bank] = value;
        return;
      case 1:  // software may only clear it (§15.3.2.2)
        require(value == 0);
        m.mc_status[bank] = 0;
        return;
      case 2: m.mc_addr[bank] = value; return;
      default: m.mc_misc[bank] = value; return;
    }
  }
  switch (index) {
    case msr::kTsc:
      write_tsc(cpu, value);
      return;
    case msr::kApicBase:
      require(!(value & kApicBaseReserved));
      write_apic_base(cpu, value);
      return;
    case msr::kUcodeRev:
      // Intel's update protocol writes 0 here before CPUID; the revision
      // is not writable. Ignored, as KVM does.
      return;
    case msr::kSysenterCs:
      m.sysenter_cs = value & 0xffff;  // the selector; QEMU keeps only it too
      return;
    case msr::kSysenterEsp:
    case msr::kSysenterEip:
    case msr::kLstar:
    case msr::kCstar:
    case msr::kKernelGsBase:
    case msr::kFsBase:
    case msr::kGsBase:
      // Addresses: #GP unless canonical (SDM vol. 4, "WRMSR" notes).
      require(is_canonical(value));
      switch (index) {
        case msr::kSysenterEsp: m.sysenter_esp = value; break;
        case msr::kSysenterEip: m.sysenter_eip = value; break;
        case msr::kLstar: m.lstar = value; break;
        case msr::kCstar: m.cstar = value; break;
        case msr::kKernelGsBase: m.kernel_gs_base = value; break;
        case msr::kFsBase: cpu.seg[kFs].base = value; break;
        default: cpu.seg[kGs].base = value; break;
      }
      return;
    case msr::kMcgStatus:
      require(!(value & ~kMcgStatusWritable));
      m.mcg_status = value;
      return;
    case msr::kMcgCtl:
      require(value == 0 || value == ~0ull);
      m.mcg_ctl = value;
      return;
    case msr::kMiscEnable:
      // Model-specific bits; none changes what this CPU does. Stored.
      m.misc_enable = value;
      return;
    case msr::kPat:
      require(every_byte(value, valid_pat_type));
      m.pat = value;
      return;
    case msr::kMtrrDefType:
      require(!(value & ~kMtrrDefTypeWritable) && valid_mtrr_type(value & 0xff));
      m.mtrr_def_type = value;
      return;
    case msr::kTscDeadline:
      // The local APIC's TSC-deadline timer (SDM vol. 3 §10.5.4.1); kept
      // here too for a CPU without one (the unit tests).
      m.tsc_deadline = value;
      if (cpu.interrupts != nullptr) cpu.interrupts->write_tsc_deadline(value, read_tsc(cpu), kGuestTscHz);
      return;
    case msr::kEfer:
      write_efer(cpu, value);  // reserved bits, LME while paging: system.cpp
      return;
    case msr::kStar:
      m.star = value;
      return;
    case msr::kSfmask:
      m.sfmask = value;
      return;
    case msr::kAmdSyscfg:         // memory-controller configuration
    case msr::kAmdIntPendingMsg:  // C1E and SMI message settings
      // Nothing here to configure: writes are dropped, as QEMU's TCG does.
      require(is_amd(cpu));
      return;
    case msr::kTscAux:
      require(has_rdtscp(cpu));
      // Bits 63:32 are reserved: Intel raises #GP, AMD ignores them.
      if (is_intel(cpu)) require(value >> 32 == 0);
      m.tsc_aux = value & 0xffffffffull;
      return;
    case msr::kMtrrCap:  // read-only
    case msr::kMcgCap:
    default:
      raise_gp(0);
  }
}

}  // namespace vireo::tcg
