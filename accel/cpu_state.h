// The x86 architectural state an accelerator exchanges with the machine:
// what a loader sets before the first instruction and what `info registers`
// shows. Both accelerators convert to and from their own representation.
#pragma once

#include <cstdint>

namespace vireo {

// Segment registers in the order of their encoding in ModRM.reg / Sreg.
enum SegmentIndex : unsigned { kEs = 0, kCs, kSs, kDs, kFs, kGs, kSegmentCount };

// General registers in encoding order.
enum GprIndex : unsigned {
  kRax = 0, kRcx, kRdx, kRbx, kRsp, kRbp, kRsi, kRdi,
  kR8, kR9, kR10, kR11, kR12, kR13, kR14, kR15, kGprCount
};

// A segment register's visible selector and hidden descriptor cache
// (Intel SDM vol. 3 §3.4.3), with the attribute bits unpacked.
struct SegmentCache {
  uint64_t base = 0;
  uint32_t limit = 0xffff;  // byte granular, already expanded when g=1
  uint16_t selector = 0;
  uint8_t type = 3;         // read/write, accessed data segment
  uint8_t dpl = 0;
  bool present = true;
  bool s = true;            // code/data (not system)
  bool db = false;          // default operand size 32
  bool l = false;           // 64-bit code segment
  bool g = false;
  bool avl = false;
  bool unusable = false;
};

struct DescriptorTableReg {
  uint64_t base = 0;
  uint16_t limit = 0xffff;
};

// CR0/CR4/EFER bits the loaders and accelerators name.
inline constexpr uint64_t kCr0Pe = 1ull << 0;
inline constexpr uint64_t kCr0Et = 1ull << 4;
inline constexpr uint64_t kCr0Ne = 1ull << 5;
inline constexpr uint64_t kCr0Wp = 1ull << 16;
inline constexpr uint64_t kCr0Pg = 1ull << 31;
inline constexpr uint64_t kCr0Cd = 1ull << 30;
inline constexpr uint64_t kCr0Nw = 1ull << 29;
inline constexpr uint64_t kCr4Pae = 1ull << 5;
inline constexpr uint64_t kEferSce = 1ull << 0;
inline constexpr uint64_t kEferLme = 1ull << 8;
inline constexpr uint64_t kEferLma = 1ull << 10;
inline constexpr uint64_t kEferNxe = 1ull << 11;
inline constexpr uint64_t kRflagsFixed = 1ull << 1;  // bit 1 always reads 1
inline constexpr uint64_t kRflagsIf = 1ull << 9;

struct X86CpuState {
  uint64_t gpr[kGprCount] = {};
  uint64_t rip = 0;
  uint64_t rflags = kRflagsFixed;
  SegmentCache segment[kSegmentCount];
  SegmentCache ldtr;
  SegmentCache tr;
  DescriptorTableReg gdtr;
  DescriptorTableReg idtr;
  uint64_t cr0 = 0;
  uint64_t cr2 = 0;
  uint64_t cr3 = 0;
  uint64_t cr4 = 0;
  uint64_t cr8 = 0;
  uint64_t efer = 0;
  uint64_t apic_base = 0;
  // An application processor after RESET/INIT waits for a startup IPI
  // instead of fetching at the reset vector (SDM vol. 3 §9.4).
  bool waiting_for_sipi = false;
};

// What "info registers" shows beyond X86CpuState: debug registers, the
// x87/SSE register files and execution flags. Read-only for the monitor;
// defaults are the RESET values (SDM vol. 3 table 9-1).
struct X86DumpState {
  uint64_t dr[8] = {0, 0, 0, 0, 0xffff0ff0, 0x400, 0xffff0ff0, 0x400};
  uint16_t fcw = 0x37f;
  uint16_t fsw = 0;        // with TOP in bits 13:11
  uint8_t ftw_abridged = 0;  // FXSAVE's: bit i set = physical register i not empty
  struct Fpr {
    uint64_t mantissa = 0;
    uint16_t sign_exponent = 0;
  } fpr[8];                // physical registers R0-R7
  uint32_t mxcsr = 0x1f80;
  uint64_t xmm[16][2] = {};  // [i][0] low quadword
  uint64_t ymm_high[16][2] = {};  // bits 255:128 of YMM0-15 (kvm with AVX enabled)
  uint64_t xcr0 = 1;
  unsigned cpl = 0;
  bool halted = false;
  bool interrupt_shadow = false;
  bool a20 = true;
  bool smm = false;
};

// The state after RESET/INIT (Intel SDM vol. 3 §9.1.1, table 9-1): real
// mode, CS base 0xffff0000 with IP 0xfff0 so the first fetch is at the top
// of 4 GiB, EDX holding the processor signature.
X86CpuState power_on_cpu_state(uint32_t processor_signature, bool bootstrap_processor);

}  // namespace vireo
