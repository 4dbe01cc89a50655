#include "accel/kvm/kvm_accel.h"

#include <fcntl.h>
#include <linux/kvm.h>
#include <pthread.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <mutex>
#include <utility>
#include <vector>

#include "hw/core/guest_memory.h"
#include "hw/core/io_bus.h"
#include "util/error.h"
#include "util/log.h"

namespace vireo {

namespace {

// Sent to a vCPU thread to interrupt KVM_RUN (QEMU uses SIGUSR1 too).
constexpr int kKickSignal = SIGUSR1;

// Where KVM on Intel places the real-mode TSS and identity page table it
// needs for unrestricted-guest-less CPUs: just below the BIOS, as QEMU does.
constexpr uint64_t kTssAddress = 0xfeffd000;
constexpr uint64_t kIdentityMapAddress = 0xfeffc000;

void install_kick_handler() {
  static std::once_flag once;
  std::call_once(once, [] {
    struct sigaction sa = {};
    sa.sa_handler = [](int) {};  // only there to make KVM_RUN return EINTR
    sigemptyset(&sa.sa_mask);
    sa.sa_flags = 0;  // no SA_RESTART: the ioctl must return
    sigaction(kKickSignal, &sa, nullptr);
  });
}

// A file descriptor closed on destruction.
class Fd {
 public:
  Fd() = default;
  explicit Fd(int fd) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(std::exchange(other.fd_, -1)) {}
  Fd& operator=(Fd&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  ~Fd() {
    if (fd_ >= 0) ::close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_ = -1;
};

template <typename... Args>
int kvm_ioctl(int fd, unsigned long request, Args... args) {
  int r;
  do {
    r = ::ioctl(fd, request, args...);
  } while (r < 0 && errno == EINTR);
  return r;
}

// The kernel's struct kvm_cpuid2 ends in a __DECLARE_FLEX_ARRAY, which C++
// compilers lay out with a one-byte empty member: sizeof becomes 12 and the
// entries move to offset 12, so both the ioctl numbers and the layout from
// <linux/kvm.h> are wrong in C++. This is the ABI layout, spelled out.
struct CpuidTableHeader {
  uint32_t nent;
  uint32_t padding;
};
static_assert(sizeof(CpuidTableHeader) == 8);
constexpr unsigned long kGetSupportedCpuid = _IOWR(KVMIO, 0x05, CpuidTableHeader);
constexpr unsigned long kSetCpuid2 = _IOW(KVMIO, 0x90, CpuidTableHeader);

// A kvm_cpuid2 table in the kernel's layout: header, then the entries.
class CpuidTable {
 public:
  explicit CpuidTable(size_t count)
      : buffer_(sizeof(CpuidTableHeader) + count * sizeof(kvm_cpuid_entry2), 0) {
    header()->nent = static_cast<uint32_t>(count);
  }
  // The buffer starts with the header and is at least that big, and
  // vector storage is suitably aligned for it.
  CpuidTableHeader* header() { return reinterpret_cast<CpuidTableHeader*>(buffer_.data()); }
  kvm_cpuid_entry2* entries() {
    return reinterpret_cast<kvm_cpuid_entry2*>(buffer_.data() + sizeof(CpuidTableHeader));
  }
  void* data() { return buffer_.data(); }

 private:
  std::vector<uint8_t> buffer_;
};

[[noreturn]] void die(const std::string& what) { throw Error(with_errno(what, errno)); }

kvm_segment to_kvm(const SegmentCache& s) {
  kvm_segment k = {};
  k.base = s.base;
  k.limit = s.limit;
  k.selector = s.selector;
  k.type = s.type;
  k.present = s.present;
  k.dpl = s.dpl;
  k.db = s.db;
  k.s = s.s;
  k.l = s.l;
  k.g = s.g;
  k.avl = s.avl;
  k.unusable = s.unusable;
  return k;
}

SegmentCache from_kvm(const kvm_segment& k) {
  SegmentCache s;
  s.base = k.base;
  s.limit = k.limit;
  s.selector = k.selector;
  s.type = k.type;
  s.present = k.present;
  s.dpl = k.dpl;
  s.db = k.db;
  s.s = k.s;
  s.l = k.l;
  s.g = k.g;
  s.avl = k.avl;
  s.unusable = k.unusable;
  return s;
}

// KVM_GET_SUPPORTED_CPUID, growing the buffer until it fits.
std::vector<kvm_cpuid_entry2> supported_cpuid(int kvm_fd) {
  for (unsigned n = 64;; n *= 2) {
    CpuidTable table(n);
    if (kvm_ioctl(kvm_fd, kGetSupportedCpuid, table.data()) == 0) {
      return {table.entries(), table.entries() + std::min(table.header()->nent, n)};
    }
    if (errno != E2BIG || n >= 4096) die("KVM_GET_SUPPORTED_CPUID");
  }
}

void set_register_string(const std::string& text, uint32_t* regs[], size_t count) {
  for (size_t i = 0; i < count; ++i) {
    uint32_t value = 0;
    for (size_t b = 0; b < 4; ++b) {
      size_t at = i * 4 + b;
      uint8_t c = at < text.size() ? static_cast<uint8_t>(text[at]) : 0;
      value |= uint32_t{c} << (8 * b);
    }
    *regs[i] = value;
  }
}

// What the guest's CPUID says: the host's supported leaves, narrowed to the
// -cpu model, with this vCPU's APIC ID and the machine's CPU count.
std::vector<kvm_cpuid_entry2> guest_cpuid(const std::vector<kvm_cpuid_entry2>& supported,
                                          const CpuModel& model, unsigned index,
                                          unsigned cpu_count) {
  std::vector<kvm_cpuid_entry2> entries;
  uint32_t max_basic = 0, max_extended = 0;
  for (const kvm_cpuid_entry2& e : supported) {
    if (e.function == 0) max_basic = e.eax;
    if (e.function == 0x80000000) max_extended = e.eax;
  }
  if (!model.from_accelerator) {
    max_basic = std::min(max_basic, model.max_basic_leaf);
    max_extended = std::min(max_extended, model.max_extended_leaf);
  }
  for (kvm_cpuid_entry2 e : supported) {
    bool hypervisor_leaf = e.function >= 0x40000000 && e.function < 0x80000000;
    if (!hypervisor_leaf && e.function < 0x80000000 && e.function > max_basic) continue;
    if (e.function >= 0x80000000 && e.function > max_extended) continue;
    switch (e.function) {
      case 0:
        e.eax = max_basic;
        if (!model.from_accelerator) {
          uint32_t* regs[3] = {&e.ebx, &e.edx, &e.ecx};
          set_register_string(model.vendor, regs, 3);
        }
        break;
      case 1:
        if (!model.from_accelerator) {
          e.eax = model.signature();
          e.edx &= model.features.leaf1_edx;
          e.ecx &= model.features.leaf1_ecx;
        }
        e.ecx |= cpuid::kHypervisor;
        // EBX: initial APIC ID, logical processor count, CLFLUSH line size (8 * 8 bytes).
        e.ebx = (index << 24) | (std::min(cpu_count, 255u) << 16) | (8 << 8);
        if (cpu_count > 1) e.edx |= 1u << 28;  // HTT: the count field is valid
        break;
      case 7:
        if (!model.from_accelerator && e.index == 0) {
          e.ebx &= model.features.leaf7_ebx;
          e.ecx &= model.features.leaf7_ecx;
          e.edx &= model.features.leaf7_edx;
        }
        break;
      case 0xb:
      case 0x1f:
        e.edx = index;  // x2APIC ID
        break;
      case 0x80000000:
        e.eax = max_extended;
        break;
      case 0x80000001:
        if (!model.from_accelerator) {
          e.edx &= model.features.ext1_edx;
          e.ecx &= model.features.ext1_ecx;
        }
        break;
      case 0x80000002:
      case 0x80000003:
      case 0x80000004:
        if (!model.from_accelerator) {
          std::string part = model.brand.size() > (e.function - 0x80000002) * 16
                                 ? model.brand.substr((e.function - 0x80000002) * 16, 16)
                                 : "";
          uint32_t* regs[4] = {&e.eax, &e.ebx, &e.ecx, &e.edx};
          set_register_string(part, regs, 4);
        }
        break;
      default:
        break;
    }
    entries.push_back(e);
  }
  return entries;
}

class KvmVcpu final : public Vcpu {
 public:
  KvmVcpu(int vm_fd, size_t run_size, unsigned index, std::vector<kvm_cpuid_entry2> cpuid, VcpuIo io)
      : index_(index), io_(io), run_size_(run_size) {
    fd_ = Fd(kvm_ioctl(vm_fd, KVM_CREATE_VCPU, static_cast<unsigned long>(index)));
    if (fd_.get() < 0) die("KVM_CREATE_VCPU");
    void* run = mmap(nullptr, run_size_, PROT_READ | PROT_WRITE, MAP_SHARED, fd_.get(), 0);
    if (run == MAP_FAILED) die("mmap of the KVM vCPU run area");
    run_ = static_cast<kvm_run*>(run);

    CpuidTable table(cpuid.size());
    std::memcpy(table.entries(), cpuid.data(), cpuid.size() * sizeof(kvm_cpuid_entry2));
    if (kvm_ioctl(fd_.get(), kSetCpuid2, table.data()) < 0) die("KVM_SET_CPUID2");
  }

  ~KvmVcpu() override { munmap(run_, run_size_); }

  unsigned index() const override { return index_; }

  VcpuStop run() override {
    if (!thread_known_.load(std::memory_order_acquire)) {
      thread_ = pthread_self();
      thread_known_.store(true, std::memory_order_release);
    }
    for (;;) {
      int r = ::ioctl(fd_.get(), KVM_RUN, 0);
      if (r < 0) {
        if (errno == EINTR || errno == EAGAIN) {
          __atomic_store_n(&run_->immediate_exit, 0, __ATOMIC_RELEASE);
          return VcpuStop::Kicked;
        }
        error_ = with_errno("KVM_RUN", errno);
        return VcpuStop::Error;
      }
      switch (run_->exit_reason) {
        case KVM_EXIT_IO:
          handle_port_io();
          break;
        case KVM_EXIT_MMIO:
          handle_mmio();
          break;
        case KVM_EXIT_HLT:
        case KVM_EXIT_IRQ_WINDOW_OPEN:
          break;  // the in-kernel irqchip handles HLT; nothing to do
        case KVM_EXIT_INTR:
          return VcpuStop::Kicked;
        case KVM_EXIT_SHUTDOWN:
          return VcpuStop::TripleFault;
        case KVM_EXIT_SYSTEM_EVENT:
          if (run_->system_event.type == KVM_SYSTEM_EVENT_RESET ||
              run_->system_event.type == KVM_SYSTEM_EVENT_SHUTDOWN) {
            return VcpuStop::TripleFault;
          }
          break;
        case KVM_EXIT_FAIL_ENTRY:
          error_ = "KVM: entry failed, hardware error 0x" +
                   to_hex(run_->fail_entry.hardware_entry_failure_reason);
          return VcpuStop::Error;
        case KVM_EXIT_INTERNAL_ERROR:
          error_ = "KVM internal error. Suberror: " + std::to_string(run_->internal.suberror);
          return VcpuStop::Error;
        default:
          error_ = "KVM: unexpected exit reason " + std::to_string(run_->exit_reason);
          return VcpuStop::Error;
      }
    }
  }

  void kick() override {
    // immediate_exit covers a kick that lands before KVM_RUN is entered; the
    // signal interrupts one already running.
    __atomic_store_n(&run_->immediate_exit, 1, __ATOMIC_RELEASE);
    if (thread_known_.load(std::memory_order_acquire)) pthread_kill(thread_, kKickSignal);
  }

  X86CpuState state() override {
    kvm_regs regs;
    kvm_sregs sregs;
    if (kvm_ioctl(fd_.get(), KVM_GET_REGS, &regs) < 0) die("KVM_GET_REGS");
    if (kvm_ioctl(fd_.get(), KVM_GET_SREGS, &sregs) < 0) die("KVM_GET_SREGS");
    X86CpuState s;
    const uint64_t gprs[kGprCount] = {regs.rax, regs.rcx, regs.rdx, regs.rbx, regs.rsp, regs.rbp,
                                      regs.rsi, regs.rdi, regs.r8,  regs.r9,  regs.r10, regs.r11,
                                      regs.r12, regs.r13, regs.r14, regs.r15};
    std::copy(std::begin(gprs), std::end(gprs), s.gpr);
    s.rip = regs.rip;
    s.rflags = regs.rflags;
    const kvm_segment* segs[kSegmentCount] = {&sregs.es, &sregs.cs, &sregs.ss,
                                              &sregs.ds, &sregs.fs, &sregs.gs};
    for (unsigned i = 0; i < kSegmentCount; ++i) s.segment[i] = from_kvm(*segs[i]);
    s.ldtr = from_kvm(sregs.ldt);
    s.tr = from_kvm(sregs.tr);
    s.gdtr = {sregs.gdt.base, sregs.gdt.limit};
    s.idtr = {sregs.idt.base, sregs.idt.limit};
    s.cr0 = sregs.cr0;
    s.cr2 = sregs.cr2;
    s.cr3 = sregs.cr3;
    s.cr4 = sregs.cr4;
    s.cr8 = sregs.cr8;
    s.efer = sregs.efer;
    s.apic_base = sregs.apic_base;
    return s;
  }

  // KVM_KVMCLOCK_CTRL (api.txt 4.74): sets the PVCLOCK_GUEST_STOPPED flag
  // in the vCPU's pvclock page, so the guest's soft-lockup watchdog knows
  // the silence was a pause, as QEMU does on resume. EINVAL means the
  // guest has not registered a kvmclock page: nothing to tell. The hint is
  // advisory: other failures (a kernel without it) are reported, not fatal.
  void skip_time(uint64_t ns) override {
    (void)ns;
    if (kvm_ioctl(fd_.get(), KVM_KVMCLOCK_CTRL, 0) < 0 && errno != EINVAL) {
      log_warning(with_errno("KVM_KVMCLOCK_CTRL", errno));
    }
  }

  X86DumpState dump_state() override {
    X86DumpState d;
    kvm_fpu fpu;
    if (kvm_ioctl(fd_.get(), KVM_GET_FPU, &fpu) < 0) die("KVM_GET_FPU");
    d.fcw = fpu.fcw;
    d.fsw = fpu.fsw;
    d.ftw_abridged = fpu.ftwx;
    // KVM hands the registers in FXSAVE's order; QEMU copies them into
    // its register file in that order, and so they are printed here.
    for (unsigned i = 0; i < 8; ++i) {
      std::memcpy(&d.fpr[i].mantissa, fpu.fpr[i], 8);
      std::memcpy(&d.fpr[i].sign_exponent, fpu.fpr[i] + 8, 2);
    }
    d.mxcsr = fpu.mxcsr;
    for (unsigned i = 0; i < 16; ++i) {
      std::memcpy(&d.xmm[i][0], fpu.xmm[i], 8);
      std::memcpy(&d.xmm[i][1], fpu.xmm[i] + 8, 8);
    }
    // The upper halves of the YMM registers, from the XSAVE image's AVX
    // component (at its architectural offset, 576, in the standard
    // format KVM_GET_XSAVE returns), when the guest enabled AVX.
    constexpr uint64_t kXcr0Avx = 1u << 2;
    constexpr size_t kYmmHighOffset = 576;
    kvm_xcrs avx_xcrs;
    bool avx = false;
    if (kvm_ioctl(fd_.get(), KVM_GET_XCRS, &avx_xcrs) == 0) {
      for (unsigned i = 0; i < avx_xcrs.nr_xcrs && i < KVM_MAX_XCRS; ++i) {
        if (avx_xcrs.xcrs[i].xcr == 0) avx = (avx_xcrs.xcrs[i].value & kXcr0Avx) != 0;
      }
    }
    if (avx) {
      kvm_xsave xsave;
      if (kvm_ioctl(fd_.get(), KVM_GET_XSAVE, &xsave) == 0) {
        const auto* image = reinterpret_cast<const uint8_t*>(xsave.region);
        for (unsigned i = 0; i < 16; ++i) std::memcpy(d.ymm_high[i], image + kYmmHighOffset + 16 * i, 16);
      }
    }
    kvm_debugregs debug;
    if (kvm_ioctl(fd_.get(), KVM_GET_DEBUGREGS, &debug) < 0) die("KVM_GET_DEBUGREGS");
    for (unsigned i = 0; i < 4; ++i) d.dr[i] = debug.db[i];
    d.dr[6] = debug.dr6;
    d.dr[7] = debug.dr7;
    kvm_vcpu_events events;
    if (kvm_ioctl(fd_.get(), KVM_GET_VCPU_EVENTS, &events) < 0) die("KVM_GET_VCPU_EVENTS");
    d.interrupt_shadow = events.interrupt.shadow != 0;
    d.smm = (events.flags & KVM_VCPUEVENT_VALID_SMM) && events.smi.smm;
    kvm_mp_state mp;
    if (kvm_ioctl(fd_.get(), KVM_GET_MP_STATE, &mp) < 0) die("KVM_GET_MP_STATE");
    d.halted = mp.mp_state == KVM_MP_STATE_HALTED || mp.mp_state == KVM_MP_STATE_INIT_RECEIVED;
    kvm_xcrs xcrs;
    if (kvm_ioctl(fd_.get(), KVM_GET_XCRS, &xcrs) == 0) {
      for (unsigned i = 0; i < xcrs.nr_xcrs && i < KVM_MAX_XCRS; ++i) {
        if (xcrs.xcrs[i].xcr == 0) d.xcr0 = xcrs.xcrs[i].value;
      }
    }
    kvm_sregs sregs;
    if (kvm_ioctl(fd_.get(), KVM_GET_SREGS, &sregs) < 0) die("KVM_GET_SREGS");
    // The CPL is the DPL of SS outside real mode (SDM vol. 3 §5.5).
    d.cpl = (sregs.cr0 & kCr0Pe) ? sregs.ss.dpl : 0;
    return d;
  }

  void set_state(const X86CpuState& s) override {
    kvm_sregs sregs;
    // Read first so fields X86CpuState does not carry (the interrupt
    // bitmap) keep KVM's values.
    if (kvm_ioctl(fd_.get(), KVM_GET_SREGS, &sregs) < 0) die("KVM_GET_SREGS");
    kvm_segment* segs[kSegmentCount] = {&sregs.es, &sregs.cs, &sregs.ss,
                                        &sregs.ds, &sregs.fs, &sregs.gs};
    for (unsigned i = 0; i < kSegmentCount; ++i) *segs[i] = to_kvm(s.segment[i]);
    sregs.ldt = to_kvm(s.ldtr);
    sregs.tr = to_kvm(s.tr);
    sregs.gdt = {s.gdtr.base, s.gdtr.limit, {}};
    sregs.idt = {s.idtr.base, s.idtr.limit, {}};
    sregs.cr0 = s.cr0;
    sregs.cr2 = s.cr2;
    sregs.cr3 = s.cr3;
    sregs.cr4 = s.cr4;
    sregs.cr8 = s.cr8;
    sregs.efer = s.efer;
    sregs.apic_base = s.apic_base;
    if (kvm_ioctl(fd_.get(), KVM_SET_SREGS, &sregs) < 0) die("KVM_SET_SREGS");

    kvm_regs regs = {};
    regs.rax = s.gpr[kRax];
    regs.rcx = s.gpr[kRcx];
    regs.rdx = s.gpr[kRdx];
    regs.rbx = s.gpr[kRbx];
    regs.rsp = s.gpr[kRsp];
    regs.rbp = s.gpr[kRbp];
    regs.rsi = s.gpr[kRsi];
    regs.rdi = s.gpr[kRdi];
    regs.r8 = s.gpr[kR8];
    regs.r9 = s.gpr[kR9];
    regs.r10 = s.gpr[kR10];
    regs.r11 = s.gpr[kR11];
    regs.r12 = s.gpr[kR12];
    regs.r13 = s.gpr[kR13];
    regs.r14 = s.gpr[kR14];
    regs.r15 = s.gpr[kR15];
    regs.rip = s.rip;
    regs.rflags = s.rflags;
    if (kvm_ioctl(fd_.get(), KVM_SET_REGS, &regs) < 0) die("KVM_SET_REGS");
  }

  std::string error() const override { return error_; }

 private:
  static std::string to_hex(uint64_t v) {
    char buf[24];
    std::snprintf(buf, sizeof buf, "%llx", static_cast<unsigned long long>(v));
    return buf;
  }

  void handle_port_io() {
    auto& io = run_->io;
    // The data lives inside the run area at data_offset; `count` items for
    // string instructions (rep ins/outs), each `size` bytes.
    uint8_t* data = reinterpret_cast<uint8_t*>(run_) + io.data_offset;  // KVM's documented layout
    if (io.data_offset + uint64_t{io.count} * io.size > run_size_) return;
    for (uint32_t i = 0; i < io.count; ++i) {
      uint8_t* item = data + i * io.size;
      if (io.direction == KVM_EXIT_IO_OUT) {
        uint64_t value = 0;
        std::memcpy(&value, item, io.size);
        io_.pio.write(io.port, io.size, value);
      } else {
        uint64_t value = io_.pio.read(io.port, io.size);
        std::memcpy(item, &value, io.size);
      }
    }
  }

  void handle_mmio() {
    auto& mmio = run_->mmio;
    unsigned len = std::min<unsigned>(mmio.len, 8);
    if (mmio.is_write) {
      uint64_t value = 0;
      std::memcpy(&value, mmio.data, len);
      io_.mmio.write(mmio.phys_addr, len, value);
    } else {
      uint64_t value = io_.mmio.read(mmio.phys_addr, len);
      std::memcpy(mmio.data, &value, len);
    }
  }

  unsigned index_;
  VcpuIo io_;
  Fd fd_;
  size_t run_size_;
  kvm_run* run_ = nullptr;
  pthread_t thread_{};
  std::atomic<bool> thread_known_{false};
  std::string error_;
};

class KvmAccelerator final : public Accelerator {
 public:
  KvmAccelerator() {
    kvm_ = Fd(::open("/dev/kvm", O_RDWR | O_CLOEXEC));
    if (kvm_.get() < 0) {
      throw Error(with_errno("failed to initialize kvm: Could not access KVM kernel module (/dev/kvm)", errno));
    }
    int version = kvm_ioctl(kvm_.get(), KVM_GET_API_VERSION, 0);
    if (version != KVM_API_VERSION) {
      throw Error("failed to initialize kvm: KVM API version " + std::to_string(version) +
                  ", vireo needs " + std::to_string(KVM_API_VERSION));
    }
    for (auto [cap, name] : {std::pair{KVM_CAP_USER_MEMORY, "KVM_CAP_USER_MEMORY"},
                             std::pair{KVM_CAP_IRQCHIP, "KVM_CAP_IRQCHIP"},
                             std::pair{KVM_CAP_IMMEDIATE_EXIT, "KVM_CAP_IMMEDIATE_EXIT"}}) {
      if (kvm_ioctl(kvm_.get(), KVM_CHECK_EXTENSION, cap) <= 0) {
        throw Error(std::string("failed to initialize kvm: kernel lacks ") + name);
      }
    }
    int run_size = kvm_ioctl(kvm_.get(), KVM_GET_VCPU_MMAP_SIZE, 0);
    if (run_size <= 0) die("KVM_GET_VCPU_MMAP_SIZE");
    run_size_ = static_cast<size_t>(run_size);
    supported_cpuid_ = supported_cpuid(kvm_.get());
    readonly_memory_ = kvm_ioctl(kvm_.get(), KVM_CHECK_EXTENSION, KVM_CAP_READONLY_MEM) > 0;

    vm_ = Fd(kvm_ioctl(kvm_.get(), KVM_CREATE_VM, 0));
    if (vm_.get() < 0) die("failed to initialize kvm: KVM_CREATE_VM");
    if (kvm_ioctl(kvm_.get(), KVM_CHECK_EXTENSION, KVM_CAP_SET_TSS_ADDR) > 0) {
      if (kvm_ioctl(vm_.get(), KVM_SET_TSS_ADDR, static_cast<unsigned long>(kTssAddress)) < 0) {
        die("KVM_SET_TSS_ADDR");
      }
    }
    if (kvm_ioctl(kvm_.get(), KVM_CHECK_EXTENSION, KVM_CAP_SET_IDENTITY_MAP_ADDR) > 0) {
      uint64_t address = kIdentityMapAddress;
      if (kvm_ioctl(vm_.get(), KVM_SET_IDENTITY_MAP_ADDR, &address) < 0) die("KVM_SET_IDENTITY_MAP_ADDR");
    }
    if (kvm_ioctl(vm_.get(), KVM_CREATE_IRQCHIP, 0) < 0) die("KVM_CREATE_IRQCHIP");
    kvm_pit_config pit = {};
    pit.flags = KVM_PIT_SPEAKER_DUMMY;  // port 0x61 reads work without a speaker device
    if (kvm_ioctl(vm_.get(), KVM_CREATE_PIT2, &pit) < 0) die("KVM_CREATE_PIT2");
    install_kick_handler();
  }

  std::string_view name() const override { return "kvm"; }

  void map_memory(const GuestMemory& memory) override {
    uint32_t slot = 0;
    for (const MemoryRegion& r : memory.regions()) {
      kvm_userspace_memory_region region = {};
      region.slot = slot++;
      // Without read-only slots ROM is mapped writable; with them, guest
      // writes to ROM exit as MMIO and are discarded, as on a PC.
      region.flags = (r.read_only && readonly_memory_) ? KVM_MEM_READONLY : 0;
      region.guest_phys_addr = r.guest_base;
      region.memory_size = r.size;
      region.userspace_addr = reinterpret_cast<uint64_t>(r.host);
      if (kvm_ioctl(vm_.get(), KVM_SET_USER_MEMORY_REGION, &region) < 0) {
        die("KVM_SET_USER_MEMORY_REGION for " + r.name);
      }
    }
  }

  bool has_irqchip() const override { return true; }

  void set_irq_line(unsigned gsi, bool level) override {
    kvm_irq_level irq = {};
    irq.irq = gsi;
    irq.level = level ? 1 : 0;
    // Only fails for a GSI outside the routing table: a machine bug, not
    // a guest's doing, and nothing useful can be done at run time.
    kvm_ioctl(vm_.get(), KVM_IRQ_LINE, &irq);
  }

  void send_msi(uint64_t address, uint32_t data) override {
    kvm_msi msi = {};
    msi.address_lo = static_cast<uint32_t>(address);
    msi.address_hi = static_cast<uint32_t>(address >> 32);
    msi.data = data;
    // Returns 0 when the message was blocked (masked by the guest's APIC
    // state) and -1 on a malformed one; neither is ours to fix at run time.
    kvm_ioctl(vm_.get(), KVM_SIGNAL_MSI, &msi);
  }

  // The kvmclock stands still while paused, as QEMU's kvmclock device
  // keeps it (api.txt 4.48/4.49 KVM_GET_CLOCK/KVM_SET_CLOCK): read at the
  // pause, written back unchanged at the resume, so the guest's clock
  // continues from where it stopped. A failing KVM_GET_CLOCK (no
  // KVM_CAP_ADJUST_CLOCK) leaves the clock running, as it did before.
  void vm_paused() override {
    kvm_clock_data clock = {};
    clock_valid_ = kvm_ioctl(vm_.get(), KVM_GET_CLOCK, &clock) == 0;
    paused_clock_ns_ = clock.clock;
  }

  void vm_resuming() override {
    if (!clock_valid_) return;
    kvm_clock_data clock = {};
    clock.clock = paused_clock_ns_;
    if (kvm_ioctl(vm_.get(), KVM_SET_CLOCK, &clock) < 0) die("KVM_SET_CLOCK");
    clock_valid_ = false;
  }

  std::unique_ptr<Vcpu> create_vcpu(unsigned index, unsigned cpu_count, const CpuModel& model,
                                    VcpuIo io) override {
    return std::make_unique<KvmVcpu>(vm_.get(), run_size_, index,
                                     guest_cpuid(supported_cpuid_, model, index, cpu_count), io);
  }

 private:
  Fd kvm_;
  Fd vm_;
  size_t run_size_ = 0;
  bool readonly_memory_ = false;
  std::vector<kvm_cpuid_entry2> supported_cpuid_;
  bool clock_valid_ = false;  // paused_clock_ns_ holds the clock at the pause
  uint64_t paused_clock_ns_ = 0;
};

}  // namespace

std::unique_ptr<Accelerator> create_kvm_accelerator() { return std::make_unique<KvmAccelerator>(); }

}  // namespace vireo
