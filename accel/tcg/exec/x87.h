// The x87 FPU of the software CPU: what its three files share.
//
//   x87_host.cpp   runs a computational x87 instruction on the host's own
//                  x87 unit, with the guest's registers loaded (FRSTOR) and
//                  read back (FNSAVE), so results, C0-C3, exception flags,
//                  tags and stack faults are the hardware's, bit for bit;
//   x87_arith.cpp  the decode rows of those instructions (ESC D8-DF);
//   x87_state.cpp  the control instructions done in software: FNINIT,
//                  FNCLEX, FLDCW/FNSTCW/FNSTSW, FNSTENV/FLDENV, FNSAVE/FRSTOR,
//                  FXSAVE/FXRSTOR and WAIT.
//
// The guest state is FpuState (cpu.h): physical registers R0-R7, FSW with
// TOP, and a tag word of which only "empty" (11) versus "not empty" has
// meaning, as on every x87 since the P6: the full tags that FNSTENV, FNSAVE
// and FXRSTOR expose are derived from the register contents (observed on
// the host: FRSTOR of a "special" tag for 1.0 reads back as "valid").
#pragma once

#include <cstdint>
#include <cstring>

#include "accel/tcg/cpu.h"
#include "accel/tcg/insn.h"

namespace vireo::tcg::x87 {

// FPU status word (Intel SDM vol. 1 §8.1.3, figure 8-4).
inline constexpr uint16_t kIe = 1u << 0;   // invalid operation
inline constexpr uint16_t kDe = 1u << 1;   // denormal operand
inline constexpr uint16_t kZe = 1u << 2;   // zero divide
inline constexpr uint16_t kOe = 1u << 3;   // overflow
inline constexpr uint16_t kUe = 1u << 4;   // underflow
inline constexpr uint16_t kPe = 1u << 5;   // precision
inline constexpr uint16_t kSf = 1u << 6;   // stack fault
inline constexpr uint16_t kEs = 1u << 7;   // error summary
inline constexpr uint16_t kC0 = 1u << 8;
inline constexpr uint16_t kC1 = 1u << 9;
inline constexpr uint16_t kC2 = 1u << 10;
inline constexpr uint16_t kTopMask = 7u << 11;
inline constexpr uint16_t kC3 = 1u << 14;
inline constexpr uint16_t kBusy = 1u << 15;  // B: a copy of ES since the 387
inline constexpr uint16_t kExceptionFlags = 0x3f;  // IE..PE, also the FCW mask bits
inline constexpr uint16_t kStickyFlags = kExceptionFlags | kSf;

// FPU control word (SDM vol. 1 §8.1.5). FLDCW, FLDENV, FRSTOR and FXRSTOR
// keep only these bits and read bit 6 back as 1 (observed on the host:
// FLDCW 0xffff, then FNSTCW gives 0x1f7f; FLDCW 0 gives 0x0040).
inline constexpr uint16_t kFcwWritable = 0x1f3f;
inline constexpr uint16_t kFcwFixedOnes = 0x0040;
inline constexpr uint16_t kFcwInit = 0x037f;

// CR0 bits that gate the FPU (SDM vol. 3 §2.5, table 2-2).
inline constexpr uint64_t kCr0Mp = 1ull << 1;
inline constexpr uint64_t kCr0Em = 1ull << 2;
inline constexpr uint64_t kCr0Ts = 1ull << 3;

inline constexpr unsigned kRegBytes = 10;  // an 80-bit register in memory

// Full tag values (SDM vol. 1 §8.1.7).
inline constexpr unsigned kTagValid = 0, kTagZero = 1, kTagSpecial = 2, kTagEmpty = 3;

inline unsigned top(const FpuState& f) { return (f.fsw & kTopMask) >> 11; }
inline unsigned physical(const FpuState& f, unsigned st) { return (top(f) + st) & 7; }
inline bool is_empty(const FpuState& f, unsigned phys) { return ((f.ftw >> (2 * phys)) & 3) == kTagEmpty; }

// The 80-bit contents of physical register `phys`. FpuState keeps them in
// long double storage; they are only ever copied as bytes, so NaN payloads,
// signalling NaNs and unsupported encodings survive unchanged.
inline void get_reg(const FpuState& f, unsigned phys, uint8_t out[kRegBytes]) {
  std::memcpy(out, &f.st[phys], kRegBytes);
}
inline void set_reg(FpuState& f, unsigned phys, const uint8_t in[kRegBytes]) {
  std::memcpy(&f.st[phys], in, kRegBytes);
}

// The tag a register's contents earn (SDM vol. 1 §10.5.1.1, table 10-2).
unsigned tag_of(const uint8_t reg[kRegBytes]);
// The full tag word as FNSTENV/FNSAVE store it: empty where tagged empty,
// otherwise derived from the contents.
uint16_t full_tag_word(const FpuState& f);
// Tag word from the full form stored in memory: only "empty" is kept.
uint16_t tags_from_full(uint16_t stored);

// FSW with ES and B recomputed from the flags and the masks: the hardware
// keeps them equal to "some unmasked exception flag is set" whenever FSW or
// FCW is loaded (observed on the host after FLDCW, FLDENV and FXRSTOR).
inline uint16_t with_summary(uint16_t fsw, uint16_t fcw) {
  fsw &= static_cast<uint16_t>(~(kEs | kBusy));
  if (fsw & ~fcw & kExceptionFlags) fsw |= kEs | kBusy;
  return fsw;
}

// Checks at the start of an x87 instruction, in the SDM's priority order.
// #NM when CR0.EM or CR0.TS is set (SDM vol. 3 table 2-2); every ESC
// instruction, waiting or not.
void check_device_available(const Cpu& cpu);
// A waiting instruction first takes a pending unmasked exception: #MF when
// CR0.NE is set (SDM vol. 1 §8.7).
void check_pending(const Cpu& cpu);

// Records FIP/FCS and FOP, and for a memory operand FDP/FDS: done by every
// non-control instruction (SDM vol. 1 §8.1.8-8.1.9).
void note_instruction(Cpu& cpu, const Insn& i);
void note_operand(Cpu& cpu, const Insn& i, uint64_t offset);

// The x87 part of the FXSAVE area, which is also XSAVE's legacy region
// (SDM vol. 1 §10.5.1, table 10-2): bytes 0-23 and the ST(i) slots at
// 32-159. `wide` is the REX.W layout with 64-bit FIP/FDP and no selectors.
// Loading keeps what FXRSTOR keeps: FCW's writable bits, ES/B recomputed,
// only "empty" from the abridged tags.
void store_legacy_x87(const FpuState& f, uint8_t* area, bool wide);
void load_legacy_x87(FpuState& f, const uint8_t* area, bool wide);

// Host execution -----------------------------------------------------------

// What a host run starts from and gives back.
struct HostRun {
  uint8_t* mem = nullptr;  // the memory operand, for memory forms
  uint64_t rflags = 0;     // arithmetic flags in (FCMOVcc) and out (FCOMI)
  uint16_t raised = 0;     // out: the exception flags (IE..PE, SF) this instruction set
};

// Executes the x87 instruction `op` (D8-DF) with `modrm` on the host, on
// the guest state `f`: a register form when modrm >= 0xc0, otherwise the
// memory form with ModRM.reg = (modrm >> 3) & 7 whose operand is run.mem.
// Updates `f` as the instruction would: registers, tags, TOP, C0-C3 and the
// sticky exception flags (ES/B recomputed). FIP/FOP are the caller's.
void run_on_host(FpuState& f, uint8_t op, uint8_t modrm, HostRun& run);

}  // namespace vireo::tcg::x87
