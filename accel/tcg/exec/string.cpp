// String instructions: MOVS, STOS, LODS, CMPS, SCAS, INS, OUTS with and
// without REP/REPE/REPNE (Intel SDM vol. 2, "REP/REPE/REPZ/REPNE/REPNZ").
//
// rSI, rDI and rCX are used at the address size; the source segment may be
// overridden, the destination is always ES. A REP instruction runs in
// slices: after kSliceIterations elements with rCX still non-zero it leaves
// rip on itself and ends the block, so interrupts are taken between slices
// and the instruction resumes where it stopped, as on hardware. A fault
// mid-way leaves rSI/rDI/rCX describing the elements done so far.
//
// Forward REP MOVS and REP STOS on RAM (the guest's memcpy and memset) go
// a page at a time: every element of a run that stays inside one source
// page and one destination page is done with one memmove or fill on host
// memory, which gives what the element-by-element definition gives except
// when the destination starts inside the source ahead of it, which keeps
// the element loop.
#include <algorithm>
#include <cstring>

#include "accel/tcg/exec/families.h"
#include "accel/tcg/exec/operands.h"
#include "hw/core/io_bus.h"

namespace vireo::tcg {

namespace {

constexpr uint64_t kSliceIterations = 4096;

// Writes an index or count register at the instruction's address size:
// 16-bit updates keep the upper bits, 32-bit ones zero-extend.
void set_address_register(Cpu& cpu, unsigned reg, uint64_t value, unsigned bits) {
  if (bits == 64) cpu.gpr[reg] = value;
  else if (bits == 32) cpu.gpr[reg] = value & 0xffffffffull;
  else cpu.gpr[reg] = (cpu.gpr[reg] & ~0xffffull) | (value & 0xffff);
}

struct StringRegs {
  uint64_t si, di, cx;
};

template <typename T>
int64_t step(const Cpu& cpu) {
  return cpu.df() ? -static_cast<int64_t>(sizeof(T)) : static_cast<int64_t>(sizeof(T));
}

// The host address of guest-linear `lin` for reading, or nullptr when it
// is not RAM (MMIO, the local APIC): the test read_linear's fast path
// makes, after a translation that raises #PF and fills the TLB entry.
const uint8_t* host_pointer_for_read(Cpu& cpu, uint64_t lin) {
  const bool user = cpu.cpl == 3;
  const TlbEntry& e = cpu.tlb[user][(lin >> 12) % kTlbEntries];
  if (e.read_tag != (lin & kPageMask)) {
    cpu.translate(lin, Access::Read, user);
    if (e.read_tag != (lin & kPageMask)) return nullptr;
  }
  return reinterpret_cast<const uint8_t*>(lin + e.host_minus_linear);
}

// How many whole T elements from `offset` fit before the end of its page
// and before the offset wraps at the address size, at most `limit`.
template <typename T>
uint64_t elements_in_page(uint64_t lin, uint64_t offset, unsigned bits, uint64_t limit) {
  uint64_t room = kPageSize - (lin & 0xfff);
  if (bits < 64) room = std::min<uint64_t>(room, (1ull << bits) - offset);
  return std::min<uint64_t>(limit, room / sizeof(T));
}

// Whether the whole run [offset, offset + bytes) passes the segment checks;
// when it does not, the element loop finds the element that faults.
bool run_fits_segment(Cpu& cpu, unsigned segment, uint64_t offset, unsigned bytes, Access access) {
  if (cpu.code_bits == 64) return true;  // no limits; the first element was canonical
  try {
    cpu.linear(segment, offset, bytes, access);
    return true;
  } catch (const GuestFault&) {
    return false;
  }
}

// What each instruction does for one element; returns false when a
// REPE/REPNE condition stops the repetition after this element. Movs and
// Stos also have bulk(): up to `limit` forward elements on RAM at once,
// returning how many it did (0 when the element loop must take the next
// one: not RAM, straddling a page, overlapping ahead).

template <typename T>
struct Movs {
  static constexpr bool kUsesSi = true, kUsesDi = true, kCompares = false, kBulk = true;
  static void once(Cpu& cpu, const Insn& i, StringRegs& r) {
    T v = cpu.read<T>(i.seg, r.si);
    cpu.write<T>(kEs, r.di, v);
  }
  static uint64_t bulk(Cpu& cpu, const Insn& i, const StringRegs& r, uint64_t limit) {
    // The source first, as the element loop reads before it writes; the
    // whole run is checked against the segments before anything moves.
    const uint64_t src_lin = cpu.linear(i.seg, r.si, sizeof(T), Access::Read);
    const uint64_t dst_lin = cpu.linear(kEs, r.di, sizeof(T), Access::Write);
    uint64_t n = elements_in_page<T>(src_lin, r.si, i.addr_bits, limit);
    n = elements_in_page<T>(dst_lin, r.di, i.addr_bits, n);
    if (n == 0) return 0;
    const unsigned bytes = static_cast<unsigned>(n * sizeof(T));
    // A destination inside the source and ahead of it repeats what was
    // just copied, element by element: memmove would not. Checked on the
    // linear addresses first, which is cheap, and on the host addresses
    // below, which also sees two mappings of one page.
    if (dst_lin > src_lin && dst_lin < src_lin + bytes) return 0;
    if (!run_fits_segment(cpu, i.seg, r.si, bytes, Access::Read)) return 0;
    if (!run_fits_segment(cpu, kEs, r.di, bytes, Access::Write)) return 0;
    const uint8_t* src = host_pointer_for_read(cpu, src_lin);
    if (src == nullptr) return 0;
    auto* dst = static_cast<uint8_t*>(cpu.host_pointer_for_write(dst_lin, bytes));
    if (dst == nullptr) return 0;
    if (dst > src && dst < src + bytes) return 0;
    std::memmove(dst, src, bytes);
    return n;
  }
};
template <typename T>
struct Stos {
  static constexpr bool kUsesSi = false, kUsesDi = true, kCompares = false, kBulk = true;
  static void once(Cpu& cpu, const Insn&, StringRegs& r) { cpu.write<T>(kEs, r.di, cpu.get<T>(kRax)); }
  static uint64_t bulk(Cpu& cpu, const Insn& i, const StringRegs& r, uint64_t limit) {
    const uint64_t dst_lin = cpu.linear(kEs, r.di, sizeof(T), Access::Write);
    const uint64_t n = elements_in_page<T>(dst_lin, r.di, i.addr_bits, limit);
    if (n == 0) return 0;
    const unsigned bytes = static_cast<unsigned>(n * sizeof(T));
    if (!run_fits_segment(cpu, kEs, r.di, bytes, Access::Write)) return 0;
    auto* dst = static_cast<uint8_t*>(cpu.host_pointer_for_write(dst_lin, bytes));
    if (dst == nullptr) return 0;
    const T v = cpu.get<T>(kRax);
    if constexpr (sizeof(T) == 1) {
      std::memset(dst, v, n);
    } else {
      // The first element, then the filled part copied onto what follows,
      // doubling each time.
      std::memcpy(dst, &v, sizeof(T));
      for (unsigned filled = sizeof(T); filled < bytes; filled *= 2) {
        std::memcpy(dst + filled, dst, std::min(filled, bytes - filled));
      }
    }
    return n;
  }
};
template <typename T>
struct Lods {
  static constexpr bool kUsesSi = true, kUsesDi = false, kCompares = false, kBulk = false;
  static void once(Cpu& cpu, const Insn& i, StringRegs& r) { cpu.set<T>(kRax, cpu.read<T>(i.seg, r.si)); }
};
template <typename T>
struct Cmps {
  static constexpr bool kUsesSi = true, kUsesDi = true, kCompares = true, kBulk = false;
  static void once(Cpu& cpu, const Insn& i, StringRegs& r) {
    // DS:rSI minus ES:rDI (the reverse of the Intel operand order). ES:rDI
    // is read first: when both reads fault, the host reports that one.
    T b = cpu.read<T>(kEs, r.di);
    T a = cpu.read<T>(i.seg, r.si);
    record_flags<T>(cpu, FlagOp::Sub, a, b, static_cast<T>(a - b));
  }
};
template <typename T>
struct Scas {
  static constexpr bool kUsesSi = false, kUsesDi = true, kCompares = true, kBulk = false;
  static void once(Cpu& cpu, const Insn&, StringRegs& r) {
    T a = cpu.get<T>(kRax);
    T b = cpu.read<T>(kEs, r.di);
    record_flags<T>(cpu, FlagOp::Sub, a, b, static_cast<T>(a - b));
  }
};

// SDM vol. 1 §19.5: the port must be allowed at this CPL (io.cpp).
template <typename T>
struct Ins {
  static constexpr bool kUsesSi = false, kUsesDi = true, kCompares = false, kBulk = false;
  static void once(Cpu& cpu, const Insn&, StringRegs& r) {
    uint16_t port = static_cast<uint16_t>(cpu.gpr[kRdx]);
    check_io_permission(cpu, port, sizeof(T));
    // Check the destination is writable before the port read has effects.
    uint64_t lin = cpu.linear(kEs, r.di, sizeof(T), Access::Write);
    (void)cpu.translate(lin, Access::Write, cpu.cpl == 3);
    cpu.write_linear<T>(lin, static_cast<T>(cpu.pio->read(port, sizeof(T))));
  }
};
template <typename T>
struct Outs {
  static constexpr bool kUsesSi = true, kUsesDi = false, kCompares = false, kBulk = false;
  static void once(Cpu& cpu, const Insn& i, StringRegs& r) {
    uint16_t port = static_cast<uint16_t>(cpu.gpr[kRdx]);
    check_io_permission(cpu, port, sizeof(T));
    T v = cpu.read<T>(i.seg, r.si);
    cpu.pio->write(port, sizeof(T), v);
    cpu.end_block = true;  // a device may have acted
  }
};

template <template <typename> class Op>
struct StringForm {
  template <typename T, bool>
  struct Form {
    // Writes back the registers of a repeated instruction. With no element
    // done (rCX was 0, or the first one faulted) nothing is written, so
    // with a 32-bit address size the upper halves stay as they were, as on
    // the host; after any element they are cleared like any 32-bit write.
    static void commit(Cpu& cpu, const StringRegs& r, uint64_t done, unsigned bits) {
      if (done == 0) return;
      if (Op<T>::kUsesSi) set_address_register(cpu, kRsi, r.si, bits);
      if (Op<T>::kUsesDi) set_address_register(cpu, kRdi, r.di, bits);
      set_address_register(cpu, kRcx, r.cx, bits);
    }

    static void run(Cpu& cpu, const Insn& i) {
      using O = Op<T>;
      const unsigned bits = i.addr_bits;
      const int64_t delta = step<T>(cpu);
      StringRegs r{wrap_address(cpu.gpr[kRsi], bits), wrap_address(cpu.gpr[kRdi], bits),
                   wrap_address(cpu.gpr[kRcx], bits)};
      const bool repeat = i.prefix & (kPrefixRep | kPrefixRepne);
      if (!repeat) {
        O::once(cpu, i, r);
        if (O::kUsesSi) set_address_register(cpu, kRsi, r.si + delta, bits);
        if (O::kUsesDi) set_address_register(cpu, kRdi, r.di + delta, bits);
        next(cpu, i);
        return;
      }
      // REPE (F3) continues while ZF is set, REPNE (F2) while it is clear;
      // for the other instructions F2 and F3 both mean plain REP.
      const bool while_equal = i.prefix & kPrefixRep;
      uint64_t done = 0;
      bool stopped = false;
      // Page-sized runs only forward, and not for a copy whose destination
      // starts ahead inside the source: there every run would be refused.
      bool bulk = O::kBulk && delta > 0;
      if (O::kBulk && O::kUsesSi) {
        const uint64_t ahead = wrap_address(r.di - r.si, bits);
        if (ahead != 0 && ahead / sizeof(T) < r.cx) bulk = false;
      }
      try {
        while (r.cx != 0 && done < kSliceIterations) {
          if constexpr (O::kBulk) {
            if (bulk) {
              const uint64_t n = O::bulk(cpu, i, r, std::min<uint64_t>(r.cx, kSliceIterations - done));
              if (n != 0) {
                if (O::kUsesSi) r.si = wrap_address(r.si + n * sizeof(T), bits);
                r.di = wrap_address(r.di + n * sizeof(T), bits);
                r.cx -= n;
                done += n;
                if (cpu.end_block) break;  // it wrote to code
                continue;
              }
            }
          }
          O::once(cpu, i, r);
          if (O::kUsesSi) r.si = wrap_address(r.si + delta, bits);
          if (O::kUsesDi) r.di = wrap_address(r.di + delta, bits);
          r.cx = wrap_address(r.cx - 1, bits);
          ++done;
          if (O::kCompares && cpu.zf() != while_equal) {
            stopped = true;
            break;
          }
          if (cpu.end_block) break;  // OUTS, or a write to code: let the loop look
        }
      } catch (...) {
        // The element that faulted is not done: commit the ones before it.
        commit(cpu, r, done, bits);
        throw;
      }
      commit(cpu, r, done, bits);
      if (r.cx == 0 || stopped) {
        next(cpu, i);
      } else {
        cpu.end_block = true;  // rip stays: the instruction resumes next time
      }
    }
  };
};

// String operations have no 64-bit I/O.
HandlerSet io_sizes(HandlerSet h) {
  h.reg[kSize64] = h.reg[kSize32];
  h.mem[kSize64] = h.mem[kSize32];
  return h;
}

}  // namespace

void add_string_rows(std::vector<OpcodeRow>& t) {
  t.push_back({op1(0xa4), -1, kAnyPrefix, "movs", "Yb,Xb", 0, sized_handlers<StringForm<Movs>::template Form>()});
  t.push_back({op1(0xa5), -1, kAnyPrefix, "movs", "Yv,Xv", 0, sized_handlers<StringForm<Movs>::template Form>()});
  t.push_back({op1(0xa6), -1, kAnyPrefix, "cmps", "Xb,Yb", 0, sized_handlers<StringForm<Cmps>::template Form>()});
  t.push_back({op1(0xa7), -1, kAnyPrefix, "cmps", "Xv,Yv", 0, sized_handlers<StringForm<Cmps>::template Form>()});
  t.push_back({op1(0xaa), -1, kAnyPrefix, "stos", "Yb,AL", 0, sized_handlers<StringForm<Stos>::template Form>()});
  t.push_back({op1(0xab), -1, kAnyPrefix, "stos", "Yv,rAX", 0, sized_handlers<StringForm<Stos>::template Form>()});
  t.push_back({op1(0xac), -1, kAnyPrefix, "lods", "AL,Xb", 0, sized_handlers<StringForm<Lods>::template Form>()});
  t.push_back({op1(0xad), -1, kAnyPrefix, "lods", "rAX,Xv", 0, sized_handlers<StringForm<Lods>::template Form>()});
  t.push_back({op1(0xae), -1, kAnyPrefix, "scas", "AL,Yb", 0, sized_handlers<StringForm<Scas>::template Form>()});
  t.push_back({op1(0xaf), -1, kAnyPrefix, "scas", "rAX,Yv", 0, sized_handlers<StringForm<Scas>::template Form>()});
  t.push_back({op1(0x6c), -1, kAnyPrefix, "ins", "Yb,DX", 0, sized_handlers<StringForm<Ins>::template Form>()});
  t.push_back({op1(0x6d), -1, kAnyPrefix, "ins", "Yz,DX", 0, io_sizes(sized_handlers<StringForm<Ins>::template Form>())});
  t.push_back({op1(0x6e), -1, kAnyPrefix, "outs", "DX,Xb", 0, sized_handlers<StringForm<Outs>::template Form>()});
  t.push_back({op1(0x6f), -1, kAnyPrefix, "outs", "DX,Xz", 0, io_sizes(sized_handlers<StringForm<Outs>::template Form>())});
}

}  // namespace vireo::tcg
