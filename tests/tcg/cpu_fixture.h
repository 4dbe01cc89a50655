// A small guest for instruction tests: RAM, port and MMIO buses, a software
// CPU in long mode (flat segments, identity-mapped 4-level paging, CPL 0 or
// 3) and its interpreter. run() places code at kCodeAddress followed by a
// HLT, loads a CpuSnapshot, runs Interpreter::step_block until the HLT or
// an exception, and returns the final state as a CpuSnapshot, so the result
// can be compared with HostOracle::run on the same input.
//
// Exceptions: the IDT is empty (limit 0), so any exception escalates to a
// triple fault without touching memory or registers and step_block()
// returns false with rip still at the faulting instruction. The fixture
// then executes that one instruction again through the decoder, catching
// the GuestFault to learn its vector and error code. Handlers fault before
// they change state (docs/tcg.md), so the second run raises the same
// exception from the same state; REP string instructions that stopped
// part-way fault again on the same element without further progress.
// At CPL 3 the final HLT itself raises #GP; the fixture counts that as the
// normal end.
//
// Threads: a fixture belongs to the thread that made it.
#pragma once

#include <memory>
#include <span>

#include "accel/tcg/cpu.h"
#include "accel/tcg/interp.h"
#include "hw/core/guest_memory.h"
#include "hw/core/io_bus.h"
#include "tests/tcg/cpu_snapshot.h"

namespace vireo::tcg::test {

struct RunOptions {
  CodeMode mode = CodeMode::Long64;
  unsigned cpl = 3;  // 3 matches the host oracle; 0 for privileged instructions
};

class CpuFixture {
 public:
  CpuFixture();
  ~CpuFixture();
  CpuFixture(const CpuFixture&) = delete;
  CpuFixture& operator=(const CpuFixture&) = delete;

  CpuSnapshot run(std::span<const uint8_t> code, const CpuSnapshot& input, RunOptions options = {});

  // For tests that look further or attach devices (port I/O, MMIO).
  Cpu& cpu() { return *cpu_; }
  Interpreter& interpreter() { return *interpreter_; }
  IoBus& pio() { return pio_; }
  IoBus& mmio() { return mmio_; }
  GuestMemory& memory() { return memory_; }

 private:
  void build_page_tables();
  void set_mode(const RunOptions& options);

  GuestMemory memory_;
  IoBus pio_{"pio", IoBus::UnclaimedReads::AllOnes};
  IoBus mmio_{"mmio", IoBus::UnclaimedReads::Zero};
  uint8_t* system_ram_ = nullptr;  // page tables and TSS, supervisor-only
  uint8_t* code_ram_ = nullptr;    // at kCodeAddress
  uint8_t* data_ram_ = nullptr;    // at kDataAddress
  std::unique_ptr<PhysMemory> phys_;
  std::unique_ptr<Cpu> cpu_;
  std::unique_ptr<Interpreter> interpreter_;
};

// FXSAVE image <-> the interpreter's FpuState (physical registers, full tag word).
void load_fpu_state(FpuState& fpu, const FxsaveArea& fx);
FxsaveArea save_fpu_state(const FpuState& fpu);

}  // namespace vireo::tcg::test
