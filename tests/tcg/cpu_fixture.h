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
#include <vector>

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

  // load() then execute() on the first CPU, with the memory image read back.
  CpuSnapshot run(std::span<const uint8_t> code, const CpuSnapshot& input, RunOptions options = {});

  // The pieces of run(), for tests with more than one CPU:
  // Places code (and the closing HLT) at kCodeAddress and `memory` at
  // kDataAddress. Call it while no CPU runs.
  void load(std::span<const uint8_t> code, const std::vector<uint8_t>& memory);
  // Runs CPU `index` from `input`'s registers, flags and FPU state (its
  // memory is ignored: see load()) to the end of the code or an exception.
  // The result has no memory image: see read_memory(). CPUs may execute
  // on different threads at once; each belongs to the thread running it.
  CpuSnapshot execute(unsigned index, const CpuSnapshot& input, RunOptions options = {});
  std::vector<uint8_t> read_memory(size_t size) const;
  // Another CPU on the same memory, set up like the first; returns its index.
  unsigned add_cpu();

  // For tests that look further or attach devices (port I/O, MMIO).
  Cpu& cpu(unsigned index = 0) { return *cpus_[index]; }
  Interpreter& interpreter(unsigned index = 0) { return *interpreters_[index]; }
  IoBus& pio() { return pio_; }
  IoBus& mmio() { return mmio_; }
  GuestMemory& memory() { return memory_; }

 private:
  void build_page_tables();
  void set_mode(Cpu& cpu, const RunOptions& options);

  GuestMemory memory_;
  IoBus pio_{"pio", IoBus::UnclaimedReads::AllOnes};
  IoBus mmio_{"mmio", IoBus::UnclaimedReads::Zero};
  uint8_t* system_ram_ = nullptr;  // page tables and TSS, supervisor-only
  uint8_t* code_ram_ = nullptr;    // at kCodeAddress
  uint8_t* data_ram_ = nullptr;    // at kDataAddress
  uint64_t code_end_ = kCodeAddress;  // the closing HLT
  std::unique_ptr<PhysMemory> phys_;
  std::vector<std::unique_ptr<Cpu>> cpus_;
  std::vector<std::unique_ptr<Interpreter>> interpreters_;
};

// FXSAVE image <-> the interpreter's FpuState (physical registers, full tag word).
void load_fpu_state(FpuState& fpu, const FxsaveArea& fx);
FxsaveArea save_fpu_state(const FpuState& fpu);

}  // namespace vireo::tcg::test
