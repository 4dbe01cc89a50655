// A pre-decoded instruction: everything the handler needs, worked out once
// when the block is decoded, so executing it never looks at the bytes again.
#pragma once

#include <cstdint>

namespace vireo::tcg {

struct Cpu;
struct Insn;
using Handler = void (*)(Cpu&, const Insn&);

inline constexpr uint8_t kNoReg = 0xff;
inline constexpr uint8_t kRipBase = 0xfe;  // base of a RIP-relative operand

// Insn::prefix bits.
inline constexpr uint8_t kPrefixLock = 1u << 0;
inline constexpr uint8_t kPrefixRep = 1u << 1;    // F3: REP / REPE
inline constexpr uint8_t kPrefixRepne = 1u << 2;  // F2: REPNE
inline constexpr uint8_t kPrefixOpsize = 1u << 3; // 66 present
inline constexpr uint8_t kPrefixRex = 1u << 4;    // any REX present
inline constexpr uint8_t kPrefixRexW = 1u << 5;

struct Insn {
  Handler exec = nullptr;
  uint8_t length = 0;
  uint8_t reg = 0;         // ModRM.reg (+REX.R); a byte offset into gpr[] for byte operands
  uint8_t rm = 0;          // ModRM.rm (+REX.B) for register forms, same encoding as reg
  uint8_t base = kNoReg;   // memory operand: base register, kRipBase, or kNoReg
  uint8_t index = kNoReg;  // memory operand: index register or kNoReg
  uint8_t scale = 0;       // index shift, 0..3
  uint8_t seg = 3;         // segment of the memory operand (DS unless SS-based or overridden)
  uint8_t op_bits = 32;    // operand size: 8, 16, 32, 64
  uint8_t addr_bits = 32;  // address size: 16, 32, 64
  uint8_t prefix = 0;      // kPrefix* bits
  uint8_t opcode = 0;      // last opcode byte (condition codes, register-in-opcode)
  uint8_t modrm = 0;       // the raw ModRM byte (for group encodings and disassembly)
  int32_t disp = 0;
  uint64_t imm = 0;        // immediate, sign-extended where the form says so
  uint32_t imm2 = 0;       // second immediate: ENTER's level, a far pointer's selector
  uint16_t row = 0;        // index of the decode-table row, for the disassembler
  bool mem = false;        // ModRM names memory (base/index/disp describe it)
};

}  // namespace vireo::tcg
