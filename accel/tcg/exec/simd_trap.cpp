// The exact MXCSR flags of a host SIMD operation under a guest MXCSR that
// unmasks exceptions (simd.h: flags_with_guest_masks).
//
// With an exception unmasked, the flags differ from a masked run in ways
// that depend on the operation and its operands (SDM vol. 1 §11.5.2: an
// unmasked underflow is reported for exact tiny results too, precision
// after an unmasked overflow or underflow means "inexact with an unbounded
// exponent", pre-computation exceptions suppress the post-computation
// ones). Rather than model that per instruction, the host runs the
// instruction with the guest's masks: it traps (#XM, delivered by Linux as
// SIGFPE), and the flags are read from the state the kernel saved for the
// signal handler. Only done when the masked run showed that the guest will
// take an exception, so its cost goes with delivering #XM.
//
// Threads: any vCPU thread. The SIGFPE handler is installed only around
// the run, under a mutex (sigaction is process-wide); the jump target is
// thread-local, and a SIGFPE on a thread that is not in such a run gets
// the default action.
#include <csetjmp>
#include <csignal>
#include <mutex>

#include <ucontext.h>

#include "accel/tcg/exec/simd.h"

namespace vireo::tcg::simd {

namespace {

thread_local sigjmp_buf* t_trap_return = nullptr;
thread_local uint32_t t_trap_mxcsr = 0;
std::mutex g_sigaction_mutex;

void on_simd_trap(int signal, siginfo_t*, void* context) {
  if (t_trap_return == nullptr) {
    // Not a run of ours: the default action, met again when the faulting
    // instruction restarts.
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigaction(signal, &dfl, nullptr);
    return;
  }
  const auto* uc = static_cast<const ucontext_t*>(context);
  // The kernel's fpregs are the FXSAVE image of the trapped state.
  t_trap_mxcsr = uc->uc_mcontext.fpregs != nullptr ? uc->uc_mcontext.fpregs->mxcsr : 0;
  siglongjmp(*t_trap_return, 1);
}

}  // namespace

uint32_t flags_with_guest_masks(uint32_t guest_mxcsr, void (*run)(void*), void* context) {
  std::lock_guard lock(g_sigaction_mutex);
  struct sigaction handler {}, previous {};
  handler.sa_sigaction = on_simd_trap;
  handler.sa_flags = SA_SIGINFO;
  sigemptyset(&handler.sa_mask);
  sigaction(SIGFPE, &handler, &previous);

  uint32_t host_mxcsr;
  asm volatile("stmxcsr %0" : "=m"(host_mxcsr));
  const uint32_t load = guest_mxcsr & ~kMxcsrFlags & kMxcsrWritable;
  volatile uint32_t flags = 0;
  sigjmp_buf trap_return;
  if (sigsetjmp(trap_return, 1) == 0) {
    t_trap_return = &trap_return;
    asm volatile("ldmxcsr %0" : : "m"(load));
    run(context);
    uint32_t after;
    asm volatile("stmxcsr %0" : "=m"(after));
    flags = after;  // no trap after all: these are the flags
  } else {
    // Back from the handler. The thread's SIMD and x87 registers are now
    // the kernel's fresh signal-handler state; nothing lives in them across
    // this function, and MXCSR is put back below.
    flags = t_trap_mxcsr;
  }
  t_trap_return = nullptr;
  asm volatile("ldmxcsr %0" : : "m"(host_mxcsr));
  sigaction(SIGFPE, &previous, nullptr);
  return flags & kMxcsrFlags;
}

}  // namespace vireo::tcg::simd
