// Compare-and-exchange and exchange-and-add: CMPXCHG, XADD, CMPXCHG8B and
// CMPXCHG16B (Intel SDM vol. 2). With LOCK (what guests use them for) the
// memory update is one atomic operation on the host, so spinlocks and
// lock-free lists work across vCPU threads.
#include "accel/tcg/exec/families.h"
#include "accel/tcg/exec/operands.h"

namespace vireo::tcg {

namespace {

// 0F B0/B1: compare the accumulator with r/m; equal: r/m = reg, else the
// accumulator takes r/m. A memory destination is written either way (the
// processor writes back the old value), flags as CMP accumulator, r/m.
// A register destination is written only when equal: on the host (AMD
// Zen 4) an unequal 32-bit CMPXCHG keeps the destination's upper half,
// where Intel documents the write-back for registers too.
template <typename T, bool Mem>
struct Cmpxchg {
  static void run(Cpu& cpu, const Insn& i) {
    const unsigned accumulator = kRax;  // AL for byte forms: byte offset 0 is AL too
    T expected = cpu.get<T>(accumulator);
    T replacement = cpu.get<T>(i.reg);
    T old;
    if constexpr (Mem) {
      old = modify_rm<T, Mem>(cpu, i, [&](T current) { return current == expected ? replacement : current; });
    } else {
      old = cpu.get<T>(i.rm);
      if (old == expected) cpu.set<T>(i.rm, replacement);
    }
    record_flags<T>(cpu, FlagOp::Sub, expected, old, static_cast<T>(expected - old));
    if (old != expected) cpu.set<T>(accumulator, old);
    next(cpu, i);
  }
};

// 0F C0/C1: TEMP = SRC + DEST; SRC = DEST; DEST = TEMP (in that order, so
// with one register for both the sum wins).
template <typename T, bool Mem>
struct Xadd {
  static void run(Cpu& cpu, const Insn& i) {
    T src = cpu.get<T>(i.reg);
    if constexpr (Mem) {
      T old = modify_rm<T, true>(cpu, i, [&](T dest) { return static_cast<T>(dest + src); });
      record_flags<T>(cpu, FlagOp::Add, old, src, static_cast<T>(old + src));
      cpu.set<T>(i.reg, old);
    } else {
      T dest = cpu.get<T>(i.rm);
      T sum = static_cast<T>(dest + src);
      record_flags<T>(cpu, FlagOp::Add, dest, src, sum);
      cpu.set<T>(i.reg, dest);
      cpu.set<T>(i.rm, sum);
    }
    next(cpu, i);
  }
};

bool host_cas16(void* target, unsigned __int128& expected, unsigned __int128 desired) {
  // The host's own LOCK CMPXCHG16B (every x86-64 host that runs vireo has
  // it); target is 16-byte aligned, checked by the caller.
  uint64_t lo = static_cast<uint64_t>(expected), hi = static_cast<uint64_t>(expected >> 64);
  bool equal;
  asm volatile("lock cmpxchg16b %[mem]"
               : [mem] "+m"(*static_cast<unsigned __int128*>(target)), "+a"(lo), "+d"(hi), "=@ccz"(equal)
               : "b"(static_cast<uint64_t>(desired)), "c"(static_cast<uint64_t>(desired >> 64))
               : "memory");
  expected = (static_cast<unsigned __int128>(hi) << 64) | lo;
  return equal;
}

// 0F C7 /1: CMPXCHG8B m64 (EDX:EAX vs m64, ECX:EBX stored) and with REX.W
// CMPXCHG16B m128 (RDX:RAX, RCX:RBX; #GP unless 16-byte aligned). Only ZF
// changes.
void cmpxchg_double(Cpu& cpu, const Insn& i) {
  const bool wide = i.prefix & kPrefixRexW;
  const unsigned size = wide ? 16 : 8;
  uint64_t offset = effective_address(cpu, i);
  uint64_t lin = cpu.linear(i.seg, offset, size, Access::Write);
  if (wide && (lin & 15)) raise_gp(0);
  bool equal;
  if (wide) {
    unsigned __int128 expected = (static_cast<unsigned __int128>(cpu.gpr[kRdx]) << 64) | cpu.gpr[kRax];
    unsigned __int128 desired = (static_cast<unsigned __int128>(cpu.gpr[kRcx]) << 64) | cpu.gpr[kRbx];
    void* host = cpu.host_pointer_for_write(lin, 16);
    if (host != nullptr) {
      equal = host_cas16(host, expected, desired);
    } else {
      unsigned __int128 current = cpu.read_linear<unsigned __int128>(lin);
      equal = current == expected;
      cpu.write_linear<unsigned __int128>(lin, equal ? desired : current);
      expected = current;
    }
    if (!equal) {
      cpu.gpr[kRax] = static_cast<uint64_t>(expected);
      cpu.gpr[kRdx] = static_cast<uint64_t>(expected >> 64);
    }
  } else {
    uint64_t expected = (cpu.gpr[kRdx] << 32) | (cpu.gpr[kRax] & 0xffffffffull);
    uint64_t desired = (cpu.gpr[kRcx] << 32) | (cpu.gpr[kRbx] & 0xffffffffull);
    void* host = (lin & 7) == 0 ? cpu.host_pointer_for_write(lin, 8) : nullptr;
    uint64_t current;
    if (host != nullptr) {
      current = expected;
      // Aligned guest RAM inside one page, checked above.
      equal = __atomic_compare_exchange_n(static_cast<uint64_t*>(host), &current, desired, false,
                                          __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
    } else {
      current = cpu.read_linear<uint64_t>(lin);
      equal = current == expected;
      cpu.write_linear<uint64_t>(lin, equal ? desired : current);
    }
    if (!equal) {
      cpu.gpr[kRax] = current & 0xffffffffull;
      cpu.gpr[kRdx] = current >> 32;
    }
  }
  cpu.set_arithmetic_flags(kZf, equal ? kZf : 0);
  next(cpu, i);
}

}  // namespace

void add_atomic_rows(std::vector<OpcodeRow>& t) {
  t.push_back({op0f(0xb0), -1, kAnyPrefix, "cmpxchg", "Eb,Gb", kLockable, sized_handlers<Cmpxchg>()});
  t.push_back({op0f(0xb1), -1, kAnyPrefix, "cmpxchg", "Ev,Gv", kLockable, sized_handlers<Cmpxchg>()});
  t.push_back({op0f(0xc0), -1, kAnyPrefix, "xadd", "Eb,Gb", kLockable, sized_handlers<Xadd>()});
  t.push_back({op0f(0xc1), -1, kAnyPrefix, "xadd", "Ev,Gv", kLockable, sized_handlers<Xadd>()});
  t.push_back({op0f(0xc7), 1, kAnyPrefix, "cmpxchg8b", "Mq", kLockable, one_handler(&cmpxchg_double)});
}

}  // namespace vireo::tcg
