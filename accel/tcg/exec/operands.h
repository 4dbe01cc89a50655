// What instruction handlers share: operand access for the forms the decoder
// already split (register vs memory, operand width), the stack, and the
// flag results of the common arithmetic operations.
#pragma once

#include <cstdint>
#include <type_traits>

#include "accel/tcg/cpu.h"
#include "accel/tcg/insn.h"

namespace vireo::tcg {

// The offset part of a ModRM memory operand, wrapped to the address size.
inline uint64_t effective_address(const Cpu& cpu, const Insn& i) {
  uint64_t a = static_cast<uint64_t>(static_cast<int64_t>(i.disp));
  if (i.base != kNoReg) a += i.base == kRipBase ? cpu.rip + i.length : cpu.gpr[i.base];
  if (i.index != kNoReg) a += cpu.gpr[i.index] << i.scale;
  if (i.addr_bits == 64) return a;
  return i.addr_bits == 32 ? (a & 0xffffffffull) : (a & 0xffffull);
}

// Wraps a register value used as an address (string ops, stack) to `bits`.
inline uint64_t wrap_address(uint64_t a, unsigned bits) {
  return bits == 64 ? a : bits == 32 ? (a & 0xffffffffull) : (a & 0xffffull);
}

template <typename T>
constexpr unsigned bits_of() {
  return sizeof(T) * 8;
}

template <typename T>
using Signed = std::make_signed_t<T>;

// ModRM r/m operand, either form.
template <typename T, bool Mem>
T read_rm(Cpu& cpu, const Insn& i) {
  if constexpr (Mem) {
    return cpu.read<T>(i.seg, effective_address(cpu, i));
  } else {
    return cpu.get<T>(i.rm);
  }
}
template <typename T, bool Mem>
void write_rm(Cpu& cpu, const Insn& i, T v) {
  if constexpr (Mem) {
    cpu.write<T>(i.seg, effective_address(cpu, i), v);
  } else {
    cpu.set<T>(i.rm, v);
  }
}

// A read-modify-write is a write access from the start: a page fault on
// its read already has W set in the error code (as the host reports it),
// and nothing is read from a page that cannot be written. The TLB's write
// tag settles the common case; otherwise each page is translated for
// writing, which raises the fault.
inline void check_writable(Cpu& cpu, uint64_t lin, unsigned size) {
  const bool user = cpu.cpl == 3;
  const TlbEntry& e = cpu.tlb[user][(lin >> 12) % kTlbEntries];
  if (e.write_tag == (lin & kPageMask) && (lin & 0xfff) <= kPageSize - size) return;
  cpu.translate(lin, Access::Write, user);
  const uint64_t last = lin + size - 1;
  if ((last ^ lin) & kPageMask) cpu.translate(last & kPageMask, Access::Write, user);
}

// Read-modify-write of T at seg:offset: `op(old)` returns the new value.
// Memory is translated once; when `locked` the update is atomic on the
// host, which is what makes guest spinlocks work across vCPUs. `op` may run
// more than once (a compare-exchange loop), so it must be a pure function
// of `old` apart from the flags it records.
template <typename T, typename Op>
T modify_memory(Cpu& cpu, unsigned seg, uint64_t offset, bool locked, Op op) {
  uint64_t lin = cpu.linear(seg, offset, sizeof(T), Access::Write);
  check_writable(cpu, lin, sizeof(T));
  if (locked) {
    if (void* p = cpu.host_pointer_for_write(lin, sizeof(T))) {
      if (reinterpret_cast<uintptr_t>(p) % sizeof(T) == 0) {
        T* target = static_cast<T*>(p);  // aligned guest RAM inside one page
        T old = __atomic_load_n(target, __ATOMIC_RELAXED);
        T desired;
        do {
          desired = op(old);
        } while (!__atomic_compare_exchange_n(target, &old, desired, true, __ATOMIC_SEQ_CST,
                                              __ATOMIC_RELAXED));
        return old;
      }
    }
    // Split or MMIO locked accesses: not atomic across vCPUs (real CPUs
    // assert a bus lock; guests avoid these).
  }
  T old = cpu.read_linear<T>(lin);
  cpu.write_linear<T>(lin, op(old));
  return old;
}

// Read-modify-write of the r/m operand, atomic with LOCK (modify_memory).
template <typename T, bool Mem, typename Op>
T modify_rm(Cpu& cpu, const Insn& i, Op op) {
  if constexpr (!Mem) {
    T old = cpu.get<T>(i.rm);
    cpu.set<T>(i.rm, op(old));
    return old;
  } else {
    return modify_memory<T>(cpu, i.seg, effective_address(cpu, i), i.prefix & kPrefixLock, op);
  }
}

// The stack: SS:rSP with the stack-address size of the current mode.
inline unsigned stack_address_bits(const Cpu& cpu) {
  if (cpu.code_bits == 64) return 64;
  return cpu.seg[kSs].db ? 32 : 16;
}
inline void set_stack_pointer(Cpu& cpu, uint64_t value) {
  unsigned bits = stack_address_bits(cpu);
  if (bits == 64) cpu.gpr[kRsp] = value;
  else if (bits == 32) cpu.gpr[kRsp] = value & 0xffffffffull;
  else cpu.gpr[kRsp] = (cpu.gpr[kRsp] & ~0xffffull) | (value & 0xffff);
}
// Pushes without committing rSP until the write succeeded, so a faulting
// push leaves the CPU unchanged.
template <typename T>
void push(Cpu& cpu, T value) {
  uint64_t sp = wrap_address(cpu.gpr[kRsp] - sizeof(T), stack_address_bits(cpu));
  cpu.write<T>(kSs, sp, value);
  set_stack_pointer(cpu, sp);
}
template <typename T>
T pop(Cpu& cpu) {
  uint64_t sp = wrap_address(cpu.gpr[kRsp], stack_address_bits(cpu));
  T value = cpu.read<T>(kSs, sp);
  set_stack_pointer(cpu, sp + sizeof(T));
  return value;
}
// Reads the value `depth` bytes above the stack top without popping it.
template <typename T>
T peek(Cpu& cpu, uint64_t depth) {
  return cpu.read<T>(kSs, wrap_address(cpu.gpr[kRsp] + depth, stack_address_bits(cpu)));
}

// Lazy-flag recording for the common operations.
template <typename T>
inline void record_flags(Cpu& cpu, FlagOp op, T src1, T src2, T result, uint8_t carry_in = 0) {
  cpu.lazy.op = op;
  cpu.lazy.size_bits = bits_of<T>();
  cpu.lazy.src1 = src1;
  cpu.lazy.src2 = src2;
  cpu.lazy.result = result;
  cpu.lazy.carry_in = carry_in;
}

// Ends the instruction: execution continues with the next one.
inline void next(Cpu& cpu, const Insn& i) { cpu.rip += i.length; }

// Jumps to `target` (already wrapped), ending the block.
inline void jump(Cpu& cpu, uint64_t target) {
  cpu.rip = target;
  cpu.end_block = true;
}

// A near branch may only go where code can run: in 64-bit mode to a
// canonical address, elsewhere within CS's limit. Otherwise the branch
// itself raises #GP(0), before it changes anything (SDM vol. 2 "JMP",
// "CALL", "RET", "Jcc", "LOOP": #GP(0) for a non-canonical target or one
// outside the CS limit), so handlers check before pushing or popping.
inline void check_branch_target(const Cpu& cpu, uint64_t target) {
  if (cpu.code_bits == 64) {
    if (static_cast<uint64_t>(static_cast<int64_t>(target << 16) >> 16) != target) raise_gp(0);
  } else if (target > cpu.seg[kCs].limit) {
    raise_gp(0);
  }
}

// The next instruction's address, wrapped to the operand size of a near
// branch (16-bit branches wrap within the segment).
inline uint64_t branch_target(const Insn& i, uint64_t target) {
  if (i.op_bits == 16) return target & 0xffff;
  if (i.op_bits == 32) return target & 0xffffffffull;
  return target;
}

}  // namespace vireo::tcg
