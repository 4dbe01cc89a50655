// What the differential tests compare: the state a CPU ends in after running
// some instruction bytes, produced once by the host CPU (host_oracle.h) and
// once by the software CPU (cpu_fixture.h) from the same input snapshot.
//
// Both sides place the code at kCodeAddress and a memory window at
// kDataAddress, at the same virtual addresses, so memory operands, stack
// pointers and even RIP-relative operands mean the same thing on both.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <vector>

namespace vireo::tcg::test {

// The fixed layout shared by host and guest. Below 2 GiB so that 32-bit
// code and absolute disp32 addressing reach it; everything around these
// ranges is unmapped on both sides, so a stray access faults on both. The
// upper half is different: the host kernel's pages are present there, so
// a #PF on them has P set, where the fixture has nothing mapped.
// Non-canonical addresses raise #GP on both.
inline constexpr uint64_t kCodeAddress = 0x1001'0000;  // instruction bytes under test
inline constexpr uint64_t kCodeSize = 0x1000;
inline constexpr uint64_t kDataAddress = 0x1002'0000;  // the memory window
inline constexpr uint64_t kDataSize = 0x10000;          // followed by an unmapped guard page

// Which kind of code segment the bytes run in.
enum class CodeMode {
  Long64,    // 64-bit mode
  Compat32,  // a 32-bit code segment under long mode (compatibility mode)
};

// RFLAGS bits a snapshot carries in: the arithmetic flags and DF. Other bits
// (TF, AC, IF...) would change how the host runs the test, not what it computes.
inline constexpr uint64_t kSnapshotFlags = 0x8d5 | 0x400;

// The FXSAVE image (Intel SDM vol. 1 §10.5.1, table 10-2, 64-bit format):
// the x87 and SSE state, in the layout the host saves and restores directly.
struct alignas(16) FxsaveArea {
  uint16_t fcw = 0x37f;
  uint16_t fsw = 0;
  uint8_t ftw = 0;  // abridged tag word: bit i set = physical register i not empty
  uint8_t reserved1 = 0;
  uint16_t fop = 0;
  uint64_t fip = 0;
  uint64_t fdp = 0;
  uint32_t mxcsr = 0x1f80;
  uint32_t mxcsr_mask = 0;
  uint8_t st[8][16] = {};  // ST(0)..ST(7) (stack order, not physical), 80 bits each
  uint8_t xmm[16][16] = {};
  uint8_t reserved2[96] = {};
};
static_assert(sizeof(FxsaveArea) == 512);

struct Exception {
  uint8_t vector = 0;
  uint32_t error_code = 0;  // 0 for exceptions without one
  uint64_t fault_address = 0;  // CR2, for #PF
  bool operator==(const Exception&) const = default;
};

struct CpuSnapshot {
  uint64_t gpr[16] = {};
  uint64_t rflags = 0x2;
  FxsaveArea fx;
  // The memory window's first memory.size() bytes. The rest of the window
  // keeps whatever earlier runs left there (on each side its own), so the
  // image must cover every byte the code reads.
  std::vector<uint8_t> memory;
  // Set when the code raised an exception; the state is then the one the
  // exception saw (for REP string instructions, the registers part-way).
  std::optional<Exception> exception;
  // Where execution stopped, as an offset from kCodeAddress: the end of the
  // code, or the faulting instruction.
  uint64_t rip_offset = 0;
};

// What to compare. Defaults: every GPR, the arithmetic flags and DF, the
// memory window, the exception and where it happened.
struct CompareMask {
  uint16_t gprs = 0xffff;  // bit n: register n
  uint64_t flags = kSnapshotFlags;
  bool low32 = false;  // GPRs compared in their low 32 bits (compatibility mode)
  bool memory = true;
  bool x87 = false;    // FCW FSW FTW and ST(0)-ST(7)
  bool sse = false;    // MXCSR and XMM0-15
};

// Register names in encoding order.
const char* gpr_name(unsigned n);

// Hex bytes and the decoder's disassembly of `code`.
std::string describe_code(std::span<const uint8_t> code, CodeMode mode);

// Empty when `actual` matches `expected` under `mask`; otherwise one line
// per difference ("rcx: expected 0x... actual 0x...", flag names, memory
// offsets, exceptions).
std::string diff_snapshots(const CpuSnapshot& expected, const CpuSnapshot& actual,
                           const CompareMask& mask = {});

// The input registers and flags (and any memory) as text, for reports.
std::string describe_input(const CpuSnapshot& input);

}  // namespace vireo::tcg::test
