// String instructions: MOVS, STOS, LODS, CMPS, SCAS, INS, OUTS with and
// without REP/REPE/REPNE (Intel SDM vol. 2, "REP/REPE/REPZ/REPNE/REPNZ").
//
// rSI, rDI and rCX are used at the address size; the source segment may be
// overridden, the destination is always ES. A REP instruction runs in
// slices: after kSliceIterations elements with rCX still non-zero it leaves
// rip on itself and ends the block, so interrupts are taken between slices
// and the instruction resumes where it stopped, as on hardware. A fault
// mid-way leaves rSI/rDI/rCX describing the elements done so far.
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

// What each instruction does for one element; returns false when a
// REPE/REPNE condition stops the repetition after this element.
template <typename T>
struct Movs {
  static constexpr bool kUsesSi = true, kUsesDi = true, kCompares = false;
  static void once(Cpu& cpu, const Insn& i, StringRegs& r) {
    T v = cpu.read<T>(i.seg, r.si);
    cpu.write<T>(kEs, r.di, v);
  }
};
template <typename T>
struct Stos {
  static constexpr bool kUsesSi = false, kUsesDi = true, kCompares = false;
  static void once(Cpu& cpu, const Insn&, StringRegs& r) { cpu.write<T>(kEs, r.di, cpu.get<T>(kRax)); }
};
template <typename T>
struct Lods {
  static constexpr bool kUsesSi = true, kUsesDi = false, kCompares = false;
  static void once(Cpu& cpu, const Insn& i, StringRegs& r) { cpu.set<T>(kRax, cpu.read<T>(i.seg, r.si)); }
};
template <typename T>
struct Cmps {
  static constexpr bool kUsesSi = true, kUsesDi = true, kCompares = true;
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
  static constexpr bool kUsesSi = false, kUsesDi = true, kCompares = true;
  static void once(Cpu& cpu, const Insn&, StringRegs& r) {
    T a = cpu.get<T>(kRax);
    T b = cpu.read<T>(kEs, r.di);
    record_flags<T>(cpu, FlagOp::Sub, a, b, static_cast<T>(a - b));
  }
};

// SDM vol. 1 §19.5: the port must be allowed at this CPL (io.cpp).
template <typename T>
struct Ins {
  static constexpr bool kUsesSi = false, kUsesDi = true, kCompares = false;
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
  static constexpr bool kUsesSi = true, kUsesDi = false, kCompares = false;
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
      try {
        while (r.cx != 0 && done < kSliceIterations) {
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
