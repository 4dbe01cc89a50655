// What the system-instruction families share (far_transfers.cpp,
// descriptor_insns.cpp, control_regs.cpp, system_insns.cpp).
#pragma once

#include <cstdint>

#include "accel/tcg/descriptors.h"
#include "accel/tcg/exec/families.h"
#include "accel/tcg/exec/operands.h"
#include "accel/tcg/system.h"

namespace vireo::tcg {

// Handlers for 16/32/64-bit operand sizes only (far pointers, flags,
// selectors): the byte size never occurs for these rows.
template <template <typename, bool> class F>
constexpr HandlerSet word_sized_handlers() {
  return HandlerSet{
      {nullptr, &F<uint16_t, false>::run, &F<uint32_t, false>::run, &F<uint64_t, false>::run},
      {nullptr, &F<uint16_t, true>::run, &F<uint32_t, true>::run, &F<uint64_t, true>::run}};
}

// The 2/4/8-byte value `depth` bytes above the stack top.
inline uint64_t peek_sized(Cpu& cpu, uint64_t depth, unsigned bytes) {
  switch (bytes) {
    case 2: return peek<uint16_t>(cpu, depth);
    case 4: return peek<uint32_t>(cpu, depth);
    default: return peek<uint64_t>(cpu, depth);
  }
}

// A builder on the current SS:rSP, for pushes that must all succeed before
// rSP moves (far calls).
inline FrameBuilder current_stack(Cpu& cpu) {
  return FrameBuilder(cpu, cpu.seg[kSs], cpu.gpr[kRsp], stack_address_bits(cpu), cpu.cpl == 3, 0);
}

// Instructions that exist only in protected mode raise #UD in real and
// virtual-8086 mode (LLDT, LTR, LAR, LSL, VERR, VERW, ARPL, SLDT, STR).
inline void require_protected_mode(const Cpu& cpu) {
  if (!protected_mode(cpu) || virtual_8086(cpu)) raise_ud();
}

void add_far_transfer_rows(std::vector<OpcodeRow>& table);
void add_descriptor_rows(std::vector<OpcodeRow>& table);
void add_control_register_rows(std::vector<OpcodeRow>& table);

}  // namespace vireo::tcg
