// x/i and xp/i: instructions decoded by the software CPU's decoder (its
// one opcode table) and printed with concrete operands in the AT&T syntax
// QEMU's monitor prints through Capstone: size-suffixed mnemonics,
// %registers, $immediates, disp(base,index,scale) memory operands, branch
// targets as addresses, and the layout "0x<addr>:  <bytes>  <mnemonic>
// <operands>" with bytes past the eighth on continuation lines.
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>

namespace vireo {

struct DisassembledInsn {
  unsigned length;   // bytes consumed (1 for an undecodable byte)
  std::string text;  // "movl     $0x9000, %esp", or ".byte    0xea"
};

// Decodes the instruction at `bytes` (`available` of them readable) for
// code of `code_bits` (16, 32, 64) at guest address `address`.
DisassembledInsn disassemble_att(const uint8_t* bytes, size_t available, unsigned code_bits, uint64_t address);

// The monitor's lines for one instruction: address, up to eight bytes,
// the text; then the remaining bytes eight to a line.
std::string format_disassembly_lines(uint64_t address, const uint8_t* bytes, const DisassembledInsn& insn);

}  // namespace vireo
