#include "tests/tcg/host_oracle.h"

#include <setjmp.h>
#include <signal.h>
#include <sys/mman.h>
#include <ucontext.h>

#include <cerrno>
#include <cstddef>
#include <cstring>

#include "util/error.h"

namespace vireo::tcg::test {

namespace {

// The oracle's own pages, inside one reservation that also covers the
// shared code and data addresses; everything in it that is not listed here
// stays PROT_NONE, so stray accesses fault.
constexpr uint64_t kReservation = 0x1000'0000;
constexpr uint64_t kReservationSize = 0x10'0000;
constexpr uint64_t kStubAddress = 0x1000'0000;   // generated code, one page
constexpr uint64_t kStateAddress = 0x1000'2000;  // StubState

// Linux x86-64 user code segments (arch/x86/include/asm/segment.h):
// __USER_CS = 0x33 (64-bit), __USER32_CS = 0x23 (32-bit, for compat tasks).
constexpr uint16_t kUser32CodeSelector = 0x23;

// What the stub reads and writes, at kStateAddress. Addressed from the stub
// with absolute disp32 operands, so the stub needs no register to find it.
struct StubState {
  uint64_t gpr_in[16];
  uint64_t flags_in;
  uint64_t host_rsp;
  uint32_t far_offset;  // m16:32 far pointer to the code, for compatibility mode
  uint16_t far_selector;
  uint16_t pad;
  uint64_t gpr_out[16];
  uint64_t flags_out;
  FxsaveArea fx_in;
  FxsaveArea fx_out;
  FxsaveArea host_fx;
  alignas(16) uint8_t stack[1024];  // for PUSHFQ/POPFQ, never the test's stack
};
static_assert(sizeof(StubState) <= 0x2000);

StubState& state() {
  return *reinterpret_cast<StubState*>(kStateAddress);  // mapped RW by the constructor
}
constexpr uint64_t field(size_t offset) { return kStateAddress + offset; }
constexpr uint64_t kStackTop = kStateAddress + offsetof(StubState, stack) + sizeof(StubState::stack);

// A few x86-64 encodings, enough for the stub. Every memory operand is an
// absolute disp32 (ModRM mod=00 rm=100, SIB base=101 index=100).
class Emitter {
 public:
  explicit Emitter(uint64_t address) : start_(address), p_(reinterpret_cast<uint8_t*>(address)) {}
  uint64_t here() const { return start_ + static_cast<uint64_t>(p_ - reinterpret_cast<uint8_t*>(start_)); }

  void byte(uint8_t b) { *p_++ = b; }
  void u16(uint16_t v) { std::memcpy(p_, &v, 2); p_ += 2; }
  void u32(uint32_t v) { std::memcpy(p_, &v, 4); p_ += 4; }
  void u64(uint64_t v) { std::memcpy(p_, &v, 8); p_ += 8; }
  void absolute(unsigned reg_field, uint64_t address) {
    byte(static_cast<uint8_t>(0x04 | ((reg_field & 7) << 3)));
    byte(0x25);
    u32(static_cast<uint32_t>(address));
  }

  void load(unsigned reg, uint64_t address) {  // mov reg, [address]
    byte(static_cast<uint8_t>(0x48 | (reg >= 8 ? 4 : 0)));
    byte(0x8b);
    absolute(reg, address);
  }
  void store(uint64_t address, unsigned reg) {  // mov [address], reg
    byte(static_cast<uint8_t>(0x48 | (reg >= 8 ? 4 : 0)));
    byte(0x89);
    absolute(reg, address);
  }
  void push(unsigned reg) {
    if (reg >= 8) byte(0x41);
    byte(static_cast<uint8_t>(0x50 + (reg & 7)));
  }
  void pop(unsigned reg) {
    if (reg >= 8) byte(0x41);
    byte(static_cast<uint8_t>(0x58 + (reg & 7)));
  }
  void fxsave64(uint64_t address) { byte(0x48); byte(0x0f); byte(0xae); absolute(0, address); }
  void fxrstor64(uint64_t address) { byte(0x48); byte(0x0f); byte(0xae); absolute(1, address); }
  void push_mem(uint64_t address) { byte(0xff); absolute(6, address); }
  void pop_mem(uint64_t address) { byte(0x8f); absolute(0, address); }
  void mov_rsp_imm(uint64_t v) { byte(0x48); byte(0xbc); u64(v); }
  void jmp(uint64_t target) {
    byte(0xe9);
    u32(static_cast<uint32_t>(target - (here() + 4)));
  }
  void jmp_far_mem(uint64_t address) { byte(0xff); absolute(5, address); }  // m16:32
  void jmp_far(uint32_t offset, uint16_t selector) { byte(0xea); u32(offset); u16(selector); }

 private:
  uint64_t start_;
  uint8_t* p_;
};

// Addresses in the generated stub.
uint64_t g_entry64 = 0, g_entry32 = 0, g_back = 0;
uint16_t g_user64_cs = 0;

// The fault the signal handler saw, and where to go back to.
sigjmp_buf g_return;
volatile sig_atomic_t g_active = 0;
struct Capture {
  uint64_t gpr[16];
  uint64_t rflags, rip, trapno, error, cr2;
  FxsaveArea fx;
  bool have_fx;
} g_capture;

alignas(16) uint8_t g_signal_stack[64 * 1024];

constexpr int kFaultSignals[] = {SIGSEGV, SIGBUS, SIGFPE, SIGILL, SIGTRAP};

void on_fault(int signal, siginfo_t*, void* context) {
  if (!g_active) {
    // Not ours: fall back to the default action, which the faulting
    // instruction meets again when the handler returns.
    struct sigaction dfl {};
    dfl.sa_handler = SIG_DFL;
    sigaction(signal, &dfl, nullptr);
    return;
  }
  g_active = 0;
  const auto* uc = static_cast<const ucontext_t*>(context);
  const greg_t* r = uc->uc_mcontext.gregs;
  static constexpr int kOrder[16] = {REG_RAX, REG_RCX, REG_RDX, REG_RBX, REG_RSP, REG_RBP,
                                     REG_RSI, REG_RDI, REG_R8,  REG_R9,  REG_R10, REG_R11,
                                     REG_R12, REG_R13, REG_R14, REG_R15};
  for (int i = 0; i < 16; ++i) g_capture.gpr[i] = static_cast<uint64_t>(r[kOrder[i]]);
  g_capture.rflags = static_cast<uint64_t>(r[REG_EFL]);
  g_capture.rip = static_cast<uint64_t>(r[REG_RIP]);
  g_capture.trapno = static_cast<uint64_t>(r[REG_TRAPNO]);
  g_capture.error = static_cast<uint64_t>(r[REG_ERR]);
  g_capture.cr2 = static_cast<uint64_t>(r[REG_CR2]);
  g_capture.have_fx = uc->uc_mcontext.fpregs != nullptr;
  // The kernel's fpregs are the FXSAVE image of the interrupted context.
  if (g_capture.have_fx) std::memcpy(static_cast<void*>(&g_capture.fx), uc->uc_mcontext.fpregs, sizeof g_capture.fx);
  siglongjmp(g_return, 1);
}

// Installs the fault handlers and the signal stack for one run and puts
// back whatever was there before (Catch2 installs its own per test case).
class SignalScope {
 public:
  SignalScope() {
    stack_t ss{};
    ss.ss_sp = g_signal_stack;
    ss.ss_size = sizeof g_signal_stack;
    sigaltstack(&ss, &old_stack_);
    struct sigaction sa {};
    sa.sa_sigaction = on_fault;
    sa.sa_flags = SA_SIGINFO | SA_ONSTACK | SA_NODEFER;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < std::size(kFaultSignals); ++i) sigaction(kFaultSignals[i], &sa, &old_[i]);
  }
  ~SignalScope() {
    for (size_t i = 0; i < std::size(kFaultSignals); ++i) sigaction(kFaultSignals[i], &old_[i], nullptr);
    sigaltstack(&old_stack_, nullptr);
  }

 private:
  stack_t old_stack_{};
  struct sigaction old_[std::size(kFaultSignals)] {};
};

void map_fixed(uint64_t address, uint64_t size, int protection) {
  void* p = mmap(reinterpret_cast<void*>(address), size, protection,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED, -1, 0);
  if (p == MAP_FAILED) throw Error(with_errno("host oracle: cannot map its fixed pages", errno));
}

uint16_t read_segment(int which) {
  uint16_t v = 0;
  if (which == 0) asm volatile("mov %%ds, %0" : "=r"(v));
  else if (which == 1) asm volatile("mov %%es, %0" : "=r"(v));
  else if (which == 2) asm volatile("mov %%ss, %0" : "=r"(v));
  else asm volatile("mov %%cs, %0" : "=r"(v));
  return v;
}
void write_ds_es(uint16_t ds, uint16_t es) {
  asm volatile("mov %0, %%ds" ::"r"(ds));
  asm volatile("mov %0, %%es" ::"r"(es));
}

}  // namespace

HostOracle& HostOracle::instance() {
  static HostOracle oracle;
  return oracle;
}

HostOracle::HostOracle() {
  void* p = mmap(reinterpret_cast<void*>(kReservation), kReservationSize, PROT_NONE,
                 MAP_PRIVATE | MAP_ANONYMOUS | MAP_FIXED_NOREPLACE, -1, 0);
  if (p == MAP_FAILED || p != reinterpret_cast<void*>(kReservation)) {
    throw Error(with_errno("host oracle: address range 0x10000000 is taken", errno));
  }
  map_fixed(kStubAddress, 0x1000, PROT_READ | PROT_WRITE | PROT_EXEC);
  map_fixed(kStateAddress, 0x2000, PROT_READ | PROT_WRITE);
  map_fixed(kCodeAddress, kCodeSize, PROT_READ | PROT_WRITE | PROT_EXEC);
  map_fixed(kDataAddress, kDataSize, PROT_READ | PROT_WRITE);
  g_user64_cs = read_segment(3);
  generate_stub();
}

void HostOracle::generate_stub() {
  Emitter e(kStubAddress);
  constexpr unsigned kCalleeSaved[] = {3, 5, 12, 13, 14, 15};  // rbx rbp r12-r15 (SysV ABI)
  auto prologue = [&] {
    for (unsigned r : kCalleeSaved) e.push(r);
    e.store(field(offsetof(StubState, host_rsp)), 4);
    e.fxsave64(field(offsetof(StubState, host_fx)));
    e.fxrstor64(field(offsetof(StubState, fx_in)));
    e.mov_rsp_imm(kStackTop);
    e.push_mem(field(offsetof(StubState, flags_in)));
    e.byte(0x9d);  // popfq
    // MOV leaves the flags alone; RSP is loaded like any other register.
    for (unsigned r = 0; r < 16; ++r) e.load(r, field(offsetof(StubState, gpr_in) + r * 8));
  };
  g_entry64 = e.here();
  prologue();
  e.jmp(kCodeAddress);
  g_entry32 = e.here();
  prologue();
  e.jmp_far_mem(field(offsetof(StubState, far_offset)));

  g_back = e.here();
  for (unsigned r = 0; r < 16; ++r) e.store(field(offsetof(StubState, gpr_out) + r * 8), r);
  e.mov_rsp_imm(kStackTop);
  e.byte(0x9c);  // pushfq
  e.pop_mem(field(offsetof(StubState, flags_out)));
  e.fxsave64(field(offsetof(StubState, fx_out)));
  e.fxrstor64(field(offsetof(StubState, host_fx)));
  e.load(4, field(offsetof(StubState, host_rsp)));
  e.byte(0xfc);  // cld: the ABI wants DF clear on return
  for (int i = std::size(kCalleeSaved) - 1; i >= 0; --i) e.pop(kCalleeSaved[i]);
  e.byte(0xc3);  // ret
}

CpuSnapshot HostOracle::run(std::span<const uint8_t> code, const CpuSnapshot& input, CodeMode mode) {
  constexpr size_t kReturnJumpBytes = 7;
  if (code.size() + kReturnJumpBytes > kCodeSize) throw Error("host oracle: code too long");
  if (input.memory.size() > kDataSize) throw Error("host oracle: memory image too large");

  std::memcpy(reinterpret_cast<void*>(kCodeAddress), code.data(), code.size());
  Emitter tail(kCodeAddress + code.size());
  if (mode == CodeMode::Long64) tail.jmp(g_back);
  else tail.jmp_far(static_cast<uint32_t>(g_back), g_user64_cs);

  StubState& s = state();
  std::memcpy(s.gpr_in, input.gpr, sizeof s.gpr_in);
  s.flags_in = (input.rflags & kSnapshotFlags) | 0x202;
  s.fx_in = input.fx;
  s.far_offset = static_cast<uint32_t>(kCodeAddress);
  s.far_selector = kUser32CodeSelector;
  if (!input.memory.empty()) {
    std::memcpy(reinterpret_cast<void*>(kDataAddress), input.memory.data(), input.memory.size());
  }

  const uint16_t ds = read_segment(0), es = read_segment(1);
  // 64-bit Linux tasks run with null DS/ES, which 32-bit code cannot use.
  if (mode == CodeMode::Compat32) write_ds_es(read_segment(2), read_segment(2));

  CpuSnapshot out;
  bool faulted = false;
  {
    SignalScope signals;
    auto entry = reinterpret_cast<void (*)()>(mode == CodeMode::Long64 ? g_entry64 : g_entry32);
    if (sigsetjmp(g_return, 0) == 0) {
      g_active = 1;
      entry();
      g_active = 0;
    } else {
      faulted = true;
      // The handler ran with a fresh FPU state; put the host's back.
      asm volatile("fxrstor64 %0" ::"m"(s.host_fx));
    }
  }
  write_ds_es(ds, es);

  if (faulted) {
    std::memcpy(out.gpr, g_capture.gpr, sizeof out.gpr);
    out.rflags = g_capture.rflags;
    if (g_capture.have_fx) out.fx = g_capture.fx;
    Exception ex;
    ex.vector = static_cast<uint8_t>(g_capture.trapno);
    ex.error_code = static_cast<uint32_t>(g_capture.error);
    if (ex.vector == 14) ex.fault_address = g_capture.cr2;
    out.exception = ex;
    out.rip_offset = g_capture.rip - kCodeAddress;
  } else {
    std::memcpy(out.gpr, s.gpr_out, sizeof out.gpr);
    out.rflags = s.flags_out;
    out.fx = s.fx_out;
    out.rip_offset = code.size();
  }
  out.memory.assign(reinterpret_cast<const uint8_t*>(kDataAddress),
                    reinterpret_cast<const uint8_t*>(kDataAddress) + input.memory.size());
  return out;
}

}  // namespace vireo::tcg::test
