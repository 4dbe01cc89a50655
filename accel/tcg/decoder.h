// The x86 decoder: one table of opcode rows, in the Intel manual's operand
// notation, drives decoding, dispatch and disassembly.
//
// A row names its opcode, the operand forms ("Ev,Gv"), attributes, and a
// HandlerSet: one handler per operand size for the register form and for
// the memory form, chosen here at decode time so handlers never test
// ModRM or operand size again. Instruction families (exec/*.cpp) each
// contribute their rows; decoder.cpp gathers them into the one table.
//
// Operand notation (Intel SDM vol. 2 appendix A.2, with two additions):
//   E  ModRM r/m: register or memory      G  ModRM reg: general register
//   M  ModRM r/m: memory only             R  ModRM r/m: register only
//   S  ModRM reg: segment register        C/D ModRM reg: control/debug register
//   V  ModRM reg: XMM register            W  ModRM r/m: XMM register or memory
//   U  ModRM r/m: XMM register only       P/Q/N  the same for MMX registers
//   I  immediate   J  relative offset   O  moffs   A  far pointer
//   X/Y  string operands DS:rSI / ES:rDI
//   Z  (addition) general register in the opcode's low three bits
//   STi (addition) x87 register form: ModRM with mod = 3
// Size letters: b byte, w word, d dword, q qword, v operand size (16/32/64),
// z word or dword, y dword or qword, p far pointer, x/dq/ps/pd/ss/sd vector.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "accel/tcg/insn.h"

namespace vireo::tcg {

enum SizeIndex : unsigned { kSize8 = 0, kSize16, kSize32, kSize64 };

struct HandlerSet {
  Handler reg[4] = {};  // register form, by SizeIndex
  Handler mem[4] = {};  // memory form, by SizeIndex
};

// Builds a HandlerSet from a family template: F<T, Mem>::run for T in
// uint8_t..uint64_t and Mem in {false, true}.
template <template <typename, bool> class F>
constexpr HandlerSet sized_handlers() {
  return HandlerSet{
      {&F<uint8_t, false>::run, &F<uint16_t, false>::run, &F<uint32_t, false>::run,
       &F<uint64_t, false>::run},
      {&F<uint8_t, true>::run, &F<uint16_t, true>::run, &F<uint32_t, true>::run,
       &F<uint64_t, true>::run}};
}
// The same handler whatever the form and size.
constexpr HandlerSet one_handler(Handler h) { return HandlerSet{{h, h, h, h}, {h, h, h, h}}; }
// One handler per form.
constexpr HandlerSet form_handlers(Handler reg, Handler mem) {
  return HandlerSet{{reg, reg, reg, reg}, {mem, mem, mem, mem}};
}

// Row attributes.
inline constexpr uint32_t kLockable = 1u << 0;     // LOCK allowed (memory form)
inline constexpr uint32_t kDefault64 = 1u << 1;    // 64-bit operands by default in 64-bit mode (push, pop)
inline constexpr uint32_t kForce64 = 1u << 2;      // always 64-bit in 64-bit mode (near branches)
inline constexpr uint32_t kInvalid64 = 1u << 3;    // #UD in 64-bit mode
inline constexpr uint32_t kOnly64 = 1u << 4;       // #UD outside 64-bit mode
inline constexpr uint32_t kEndsBlock = 1u << 5;    // control transfer or CPU-mode change
inline constexpr uint32_t kImplicitLock = 1u << 6; // atomic even without LOCK (XCHG with memory)

// Mandatory-prefix selectors for OpcodeRow::prefix.
inline constexpr uint8_t kAnyPrefix = 0;  // 66/F2/F3 are ordinary prefixes
inline constexpr uint8_t kNoPrefix = 1;   // SSE form without 66/F2/F3
inline constexpr uint8_t kPrefix66 = 0x66;
inline constexpr uint8_t kPrefixF3 = 0xf3;
inline constexpr uint8_t kPrefixF2 = 0xf2;

struct OpcodeRow {
  uint16_t code;         // (map << 8) | opcode; map 0 one-byte, 1 0F, 2 0F38, 3 0F3A
  int8_t ext;            // required ModRM.reg for group opcodes, or -1
  uint8_t prefix;        // kAnyPrefix, kNoPrefix or a mandatory prefix byte
  const char* mnemonic;
  const char* operands;  // e.g. "Ev,Gv"; "" for none
  uint32_t attrs;
  HandlerSet handlers;
  int8_t rm = -1;        // required ModRM.rm with mod = 3 (0F 01 F8 = SWAPGS), or -1
};

constexpr uint16_t op1(uint8_t opcode) { return opcode; }
constexpr uint16_t op0f(uint8_t opcode) { return 0x100 | opcode; }
constexpr uint16_t op0f38(uint8_t opcode) { return 0x200 | opcode; }
constexpr uint16_t op0f3a(uint8_t opcode) { return 0x300 | opcode; }

enum class DecodeStatus {
  Ok,             // out is a complete instruction (possibly one that raises #UD/#GP)
  NeedMoreBytes,  // the instruction runs past `available`
};

// Decodes one instruction from `bytes` for code of `code_bits` (16/32/64).
DecodeStatus decode(const uint8_t* bytes, size_t available, unsigned code_bits, Insn& out);

// The whole table, for the disassembler, CPUID gating and tests.
const std::vector<OpcodeRow>& opcode_table();

// Whether the row at out.row ends a block.
bool ends_block(const Insn& insn);

// "add eax, ebx"-style text for traces and `info registers`.
std::string disassemble(const Insn& insn);

}  // namespace vireo::tcg
