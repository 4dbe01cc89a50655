// The host CPU as the oracle for the software CPU: runs instruction bytes
// natively, from a given register/flag/x87/SSE/memory state, and returns
// the state it ends in (or the exception it raised) as a CpuSnapshot.
//
// How: the code is copied to kCodeAddress in an RWX page; a generated stub
// saves the host's callee-saved registers and FPU state, loads the input
// state (FXRSTOR, POPFQ, every GPR including RSP), jumps to the code, and a
// jump at the code's end leads back to the stub, which stores everything
// (GPRs, PUSHFQ, FXSAVE) and restores the host. A fault arrives as a signal
// (SIGFPE, SIGILL, SIGSEGV, SIGBUS, SIGTRAP) whose handler records the
// hardware vector, error code and the registers of the interrupted context
// from the signal frame, then siglongjmps back. The handler runs on its own
// signal stack, because RSP belongs to the test.
//
// Compatibility mode: the stub far-jumps through Linux's 32-bit user code
// segment (__USER32_CS) and the code returns with a far jump to the 64-bit one.
//
// Threads: one oracle per process (fixed addresses, process-wide signal
// handlers), used from one thread at a time.
#pragma once

#include <span>

#include "tests/tcg/cpu_snapshot.h"

namespace vireo::tcg::test {

class HostOracle {
 public:
  // The process's oracle; maps its fixed pages on first use and throws
  // Error if something else already occupies them.
  static HostOracle& instance();

  // Runs `code` natively. `input.rflags` contributes only kSnapshotFlags;
  // `input.memory` is copied to kDataAddress first and read back after.
  // The host is always at CPL 3.
  CpuSnapshot run(std::span<const uint8_t> code, const CpuSnapshot& input,
                  CodeMode mode = CodeMode::Long64);

  HostOracle(const HostOracle&) = delete;
  HostOracle& operator=(const HostOracle&) = delete;

 private:
  HostOracle();
  void generate_stub();
};

}  // namespace vireo::tcg::test
