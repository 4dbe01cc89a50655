// The software CPU's architectural state and its memory access paths.
//
// Threads: a Cpu belongs to one vCPU thread. Only `events` is touched by
// other threads (interrupt controllers, kicks).
#pragma once

#include <atomic>
#include <cstdint>
#include <cstring>

#include "accel/accel.h"
#include "accel/cpu_model.h"
#include "accel/cpu_state.h"
#include "accel/tcg/fault.h"
#include "accel/tcg/flags.h"
#include "accel/tcg/phys_memory.h"

namespace vireo::tcg {

enum class Access : uint8_t { Read, Write, Execute };

// One software TLB entry: a linear page and where it lives in host memory.
// A tag equal to the page's linear address means that kind of access may
// take the fast path; kNoTag never matches (addresses are page aligned).
struct TlbEntry {
  static constexpr uint64_t kNoTag = 1;
  uint64_t read_tag = kNoTag;
  uint64_t write_tag = kNoTag;
  uintptr_t host_minus_linear = 0;  // host address = linear + this
  uint64_t paddr_page = 0;
};

inline constexpr unsigned kTlbEntries = 256;

// Model-specific registers the interpreter keeps (SDM vol. 4).
struct Msrs {
  uint64_t star = 0, lstar = 0, cstar = 0, sfmask = 0;
  uint64_t kernel_gs_base = 0;
  uint64_t sysenter_cs = 0, sysenter_esp = 0, sysenter_eip = 0;
  uint64_t pat = 0x0007040600070406ull;  // power-on default
  uint64_t misc_enable = 1;              // fast strings
  uint64_t tsc_aux = 0;
  uint64_t tsc_deadline = 0;
  uint64_t mtrr_def_type = 0;
  uint64_t mtrr_fixed[11] = {};
  uint64_t mtrr_var[16] = {};  // base/mask pairs for 8 ranges
  uint64_t tsc_offset = 0;     // guest TSC = host TSC + offset
  uint64_t tsc_last = 0;       // the last TSC value read: keeps RDTSC strictly increasing (tsc.cpp)
  // Machine-check architecture (SDM vol. 3 ch. 15): MCG_CAP is constant
  // (msr.cpp); each bank has CTL, STATUS, ADDR, MISC. CTLs reset to all ones.
  uint64_t mcg_status = 0;
  uint64_t mcg_ctl = ~0ull;
  uint64_t mc_ctl[10] = {~0ull, ~0ull, ~0ull, ~0ull, ~0ull, ~0ull, ~0ull, ~0ull, ~0ull, ~0ull};
  uint64_t mc_status[10] = {};
  uint64_t mc_addr[10] = {};
  uint64_t mc_misc[10] = {};
};

// x87, MMX and SSE register files, in the FXSAVE layout's terms.
struct FpuState {
  long double st[8] = {};   // physical registers R0-R7 (80-bit extended)
  uint16_t fcw = 0x37f;
  uint16_t fsw = 0;
  uint16_t ftw = 0xffff;    // full tag word: 11 = empty
  uint16_t fop = 0;
  uint64_t fip = 0, fdp = 0;
  uint16_t fcs = 0, fds = 0;  // selectors of the last x87 instruction and operand
  uint32_t mxcsr = 0x1f80;
  alignas(16) uint8_t xmm[16][16] = {};
};

// Bits of Cpu::events, set by other threads and read between blocks.
inline constexpr uint32_t kEventKick = 1u << 0;       // return to the machine
inline constexpr uint32_t kEventInterrupt = 1u << 1;  // an external interrupt may be pending
inline constexpr uint32_t kEventNmi = 1u << 2;
inline constexpr uint32_t kEventInit = 1u << 3;
inline constexpr uint32_t kEventSipi = 1u << 4;
inline constexpr uint32_t kEventTlbFlush = 1u << 5;

struct Cpu {
  // --- architectural registers ---
  uint64_t gpr[kGprCount] = {};
  uint64_t rip = 0;
  // All of RFLAGS except the six arithmetic flags while lazy.op is not
  // Materialized; use flags() / set_flags().
  uint64_t rflags = kRflagsFixed;
  LazyFlags lazy;
  SegmentCache seg[kSegmentCount];
  SegmentCache ldtr, tr;
  DescriptorTableReg gdtr, idtr;
  uint64_t cr0 = 0, cr2 = 0, cr3 = 0, cr4 = 0, cr8 = 0, efer = 0;
  uint64_t xcr0 = 1;  // XCR0 (SDM vol. 1 §13.3): x87 always enabled; XSETBV writes it
  uint64_t dr[8] = {0, 0, 0, 0, 0xffff0ff0, 0x400, 0xffff0ff0, 0x400};
  uint64_t apic_base = 0;
  Msrs msr;
  FpuState fpu;

  // --- derived state, kept current by update_mode() ---
  unsigned cpl = 0;
  unsigned code_bits = 16;  // default operand/address size of the code segment
  bool long_mode = false;   // EFER.LMA
  bool paging = false;

  // --- execution state ---
  bool halted = false;
  bool waiting_for_sipi = false;  // an application processor before its startup IPI
  bool nmi_blocked = false;       // from NMI delivery until the next IRET
  uint8_t sipi_vector = 0;
  bool end_block = false;       // set by handlers that must leave the current block
  bool interrupt_shadow = false;  // after STI / MOV SS: no interrupt before the next insn
  std::atomic<uint32_t> events{0};
  uint64_t instructions = 0;    // retired, for benchmarks
  unsigned index = 0;
  PhysMemory* phys = nullptr;
  class IoBus* pio = nullptr;
  // The local APIC (software irqchip); null until the machine provides one.
  LocalInterruptController* interrupts = nullptr;
  const CpuModel* model = nullptr;
  uint32_t cpu_count = 1;

  // --- software TLB: [0] supervisor, [1] user (CPL 3) ---
  TlbEntry tlb[2][kTlbEntries];
  uint64_t seen_code_epoch = 0;
  // Bumped by every TLB flush: caches keyed by linear address (the
  // interpreter's block lookup) compare it to know they are stale.
  uint64_t mapping_generation = 0;

  // Flags -------------------------------------------------------------
  uint64_t flags() const {
    if (lazy.op == FlagOp::Materialized) return rflags;
    return (rflags & ~kArithmeticFlags) | compute_arithmetic_flags(lazy);
  }
  void set_flags(uint64_t value) {
    rflags = value | kRflagsFixed;
    lazy.op = FlagOp::Materialized;
  }
  // Sets the arithmetic flags under `mask` explicitly (rotates, BT, ...).
  void set_arithmetic_flags(uint64_t mask, uint64_t values) {
    rflags = (flags() & ~mask) | (values & mask);
    lazy.op = FlagOp::Materialized;
  }
  bool cf() const { return lazy.op == FlagOp::Materialized ? rflags & kCf : lazy_cf(lazy); }
  bool zf() const { return lazy.op == FlagOp::Materialized ? rflags & kZf : lazy_zf(lazy); }
  bool sf() const { return lazy.op == FlagOp::Materialized ? rflags & kSf : lazy_sf(lazy); }
  bool of() const { return lazy.op == FlagOp::Materialized ? rflags & kOf : lazy_of(lazy); }
  bool pf() const { return flags() & kPf; }
  bool df() const { return rflags & kDf; }

  // Registers ---------------------------------------------------------
  // Byte registers are addressed by byte offset into gpr[]: the decoder
  // turns AL..BH / SPL..R15B into offsets, so AH is offset 1.
  uint8_t get8(unsigned byte_offset) const {
    return reinterpret_cast<const uint8_t*>(gpr)[byte_offset];  // gpr[] is plain storage; host is little-endian
  }
  void set8(unsigned byte_offset, uint8_t v) { reinterpret_cast<uint8_t*>(gpr)[byte_offset] = v; }
  template <typename T>
  T get(unsigned reg) const {
    if constexpr (sizeof(T) == 1) return get8(reg);
    return static_cast<T>(gpr[reg]);
  }
  // Writing a 32-bit register zero-extends into 64 bits; 8/16-bit writes merge.
  template <typename T>
  void set(unsigned reg, T v) {
    if constexpr (sizeof(T) == 1) {
      set8(reg, v);
    } else if constexpr (sizeof(T) == 2) {
      gpr[reg] = (gpr[reg] & ~0xffffull) | v;
    } else {
      gpr[reg] = static_cast<uint64_t>(v);
    }
  }

  // Memory --------------------------------------------------------------
  // Segment checks and the linear address of [offset, offset + size).
  // 64-bit mode (the common case) is inline: no limits, FS/GS bases, and
  // the canonical-address check.
  uint64_t linear(unsigned segment, uint64_t offset, unsigned size, Access access) {
    if (code_bits == 64) [[likely]] {
      uint64_t lin = offset + (segment >= kFs ? seg[segment].base : 0);
      if (static_cast<uint64_t>(static_cast<int64_t>(lin << 16) >> 16) != lin) [[unlikely]] {
        raise_fault(segment == kSs ? kStackFault : kGeneralProtection, 0);
      }
      return lin;
    }
    return linear_legacy(segment, offset, size, access);
  }
  uint64_t linear_legacy(unsigned segment, uint64_t offset, unsigned size, Access access);

  // Reads/writes through the TLB; the slow paths walk the page tables,
  // reach MMIO, straddle pages, note code writes and raise #PF.
  template <typename T>
  T read_linear(uint64_t lin) {
    const TlbEntry& e = tlb[cpl == 3][(lin >> 12) % kTlbEntries];
    if (e.read_tag == (lin & kPageMask) && (lin & 0xfff) <= kPageSize - sizeof(T)) [[likely]] {
      T v;
      std::memcpy(&v, reinterpret_cast<const void*>(lin + e.host_minus_linear), sizeof v);
      return v;
    }
    T v;
    read_slow(lin, &v, sizeof v, cpl == 3);
    return v;
  }
  template <typename T>
  void write_linear(uint64_t lin, T v) {
    const TlbEntry& e = tlb[cpl == 3][(lin >> 12) % kTlbEntries];
    if (e.write_tag == (lin & kPageMask) && (lin & 0xfff) <= kPageSize - sizeof(T)) [[likely]] {
      std::memcpy(reinterpret_cast<void*>(lin + e.host_minus_linear), &v, sizeof v);
      return;
    }
    write_slow(lin, &v, sizeof v, cpl == 3);
  }
  template <typename T>
  T read(unsigned segment, uint64_t offset) {
    return read_linear<T>(linear(segment, offset, sizeof(T), Access::Read));
  }
  template <typename T>
  void write(unsigned segment, uint64_t offset, T v) {
    write_linear<T>(linear(segment, offset, sizeof(T), Access::Write), v);
  }
  // Host pointer for an aligned-enough access inside one writable RAM page
  // (for LOCKed read-modify-write), or nullptr to fall back to read+write.
  void* host_pointer_for_write(uint64_t lin, unsigned size);

  // Accesses the CPU makes for itself (descriptor tables, TSS, IDT) are
  // supervisor accesses whatever the CPL (SDM vol. 3 §5.3: "implicit").
  template <typename T>
  T read_system(uint64_t lin) {
    T v;
    read_slow(lin, &v, sizeof v, false);
    return v;
  }
  template <typename T>
  void write_system(uint64_t lin, T v) {
    write_slow(lin, &v, sizeof v, false);
  }

  void read_slow(uint64_t lin, void* out, unsigned size, bool user);
  // Physical MMIO, with this CPU's local APIC page taking precedence.
  uint64_t mmio_read(uint64_t paddr, unsigned size);
  void mmio_write(uint64_t paddr, unsigned size, uint64_t value);
  bool is_local_apic_page(uint64_t paddr) const;
  void write_slow(uint64_t lin, const void* in, unsigned size, bool user);

  // Linear → physical for `access`, raising #PF; fills the TLB.
  uint64_t translate(uint64_t lin, Access access, bool user);
  void flush_tlb();
  void flush_tlb_page(uint64_t lin);
  bool tlb_has_large_pages = false;

  // Mode ----------------------------------------------------------------
  // Recomputes code_bits/long_mode/paging after CR0, EFER or CS change.
  // CPL is not derived: it changes only where the SDM says it does (far
  // transfers, interrupts, returns), so it is set there.
  void update_mode();
  // Drops fast write entries if some page became code since last time.
  void check_code_epoch() {
    uint64_t epoch = phys->code_epoch();
    if (epoch != seen_code_epoch) {
      seen_code_epoch = epoch;
      for (auto& set : tlb) {
        for (TlbEntry& e : set) e.write_tag = TlbEntry::kNoTag;
      }
    }
  }
  void load_state(const X86CpuState& s);
  X86CpuState save_state() const;
};

}  // namespace vireo::tcg
