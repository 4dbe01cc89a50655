// CPUID, RDMSR/WRMSR, RDTSC/RDTSCP and PAUSE (Intel SDM vol. 2).
// The leaves, the MSRs and the clock live in cpuid.cpp, msr.cpp, tsc.cpp.
#include <thread>

#include "accel/tcg/cpuid.h"
#include "accel/tcg/exec/families.h"
#include "accel/tcg/exec/operands.h"
#include "accel/tcg/msr.h"
#include "accel/tcg/tsc.h"

namespace vireo::tcg {

namespace {

constexpr uint64_t kCr4Tsd = 1ull << 2;  // RDTSC/RDTSCP privileged (SDM vol. 3 §2.5)
constexpr uint64_t kCr4Pce = 1ull << 8;  // RDPMC allowed at any CPL

// RDMSR/WRMSR are privileged (SDM vol. 3 §5.9): CPL is 0 in real mode,
// 3 in virtual-8086 mode.
void require_ring0(const Cpu& cpu) {
  if (cpu.cpl != 0) raise_gp(0);
}

// EDX:EAX <- value; the upper halves of RAX and RDX are cleared.
void set_edx_eax(Cpu& cpu, uint64_t value) {
  cpu.gpr[kRax] = value & 0xffffffffull;
  cpu.gpr[kRdx] = value >> 32;
}

void cpuid(Cpu& cpu, const Insn& i) {
  CpuidRegs r = cpuid_leaf(cpu, static_cast<uint32_t>(cpu.gpr[kRax]), static_cast<uint32_t>(cpu.gpr[kRcx]));
  cpu.gpr[kRax] = r.eax;
  cpu.gpr[kRbx] = r.ebx;
  cpu.gpr[kRcx] = r.ecx;
  cpu.gpr[kRdx] = r.edx;
  next(cpu, i);
}

void rdmsr(Cpu& cpu, const Insn& i) {
  require_ring0(cpu);
  set_edx_eax(cpu, read_msr(cpu, static_cast<uint32_t>(cpu.gpr[kRcx])));
  next(cpu, i);
}

void wrmsr(Cpu& cpu, const Insn& i) {
  require_ring0(cpu);
  uint64_t value = (cpu.gpr[kRdx] << 32) | (cpu.gpr[kRax] & 0xffffffffull);
  write_msr(cpu, static_cast<uint32_t>(cpu.gpr[kRcx]), value);
  next(cpu, i);
  // EFER, APIC_BASE and the segment bases change how the next
  // instructions run; the row ends the block.
}

void rdtsc(Cpu& cpu, const Insn& i) {
  if ((cpu.cr4 & kCr4Tsd) && cpu.cpl != 0) raise_gp(0);
  set_edx_eax(cpu, read_tsc(cpu));
  next(cpu, i);
}

// 0F 01 F9. Gated on CPUID like QEMU does: #UD unless advertised.
void rdtscp(Cpu& cpu, const Insn& i) {
  if (!(guest_features(cpu.model).ext1_edx & cpuid::kRdtscp)) raise_ud();
  if ((cpu.cr4 & kCr4Tsd) && cpu.cpl != 0) raise_gp(0);
  set_edx_eax(cpu, read_tsc(cpu));
  cpu.gpr[kRcx] = cpu.msr.tsc_aux & 0xffffffffull;
  next(cpu, i);
}

// 0F 33 RDPMC (SDM vol. 2B "RDPMC"). #GP(0) outside ring 0 unless
// CR4.PCE is set, and #GP(0) when ECX names no counter. This CPU has no
// performance counters (CPUID leaf 0xA reads zero, PDCM is clear), so no
// ECX is valid and a permitted RDPMC faults too; that is what a guest
// without a virtual PMU sees under KVM. QEMU 7.2's TCG raises #UD instead
// of the second #GP (its RDPMC is unimplemented), which no guest expects
// from a documented instruction.
void rdpmc(Cpu& cpu, const Insn&) {
  if (!(cpu.cr4 & kCr4Pce) && cpu.cpl != 0) raise_gp(0);
  raise_gp(0);  // no counter exists: every ECX is out of range
}

// F3 90. A spin-wait hint. With one vCPU nothing can change while the
// guest spins, so it is a NOP. With several, the lock holder may be a vCPU
// thread the host has not scheduled; yielding the host CPU lets it run
// sooner, which is what PAUSE is for (a real core lends its resources to
// the sibling thread). Spin loops are time-based, so a slower PAUSE does
// not change what the guest computes. MONITOR/MWAIT are not advertised and
// have no rows: #UD.
template <typename T, bool>
struct Pause {
  static void run(Cpu& cpu, const Insn& i) {
    if (i.reg != kRax) {
      // F3 REX.B 90 is XCHG r8, rAX with an ignored REP prefix.
      T a = cpu.get<T>(kRax);
      cpu.set<T>(kRax, cpu.get<T>(i.reg));
      cpu.set<T>(i.reg, a);
    } else if (cpu.cpu_count > 1) {
      std::this_thread::yield();
    }
    next(cpu, i);
  }
};

}  // namespace

void add_cpuid_msr_rows(std::vector<OpcodeRow>& t) {
  t.push_back({op0f(0xa2), -1, kAnyPrefix, "cpuid", "", 0, one_handler(&cpuid)});
  t.push_back({op0f(0x32), -1, kAnyPrefix, "rdmsr", "", 0, one_handler(&rdmsr)});
  t.push_back({op0f(0x30), -1, kAnyPrefix, "wrmsr", "", kEndsBlock, one_handler(&wrmsr)});
  t.push_back({op0f(0x31), -1, kAnyPrefix, "rdtsc", "", 0, one_handler(&rdtsc)});
  t.push_back({op0f(0x33), -1, kAnyPrefix, "rdpmc", "", 0, one_handler(&rdpmc)});
  t.push_back({op0f(0x01), 7, kAnyPrefix, "rdtscp", "", 0, one_handler(&rdtscp), 1});
  t.push_back({op1(0x90), -1, kPrefixF3, "pause", "Zv", 0, sized_handlers<Pause>()});
}

}  // namespace vireo::tcg
