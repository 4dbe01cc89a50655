// PCMPESTRI, PCMPESTRM, PCMPISTRI, PCMPISTRM (SSE4.2, 66 0F 3A 60-63):
// Intel SDM vol. 2 instruction pages and §4.1. The comparison itself is
// sse42_string_engine.cpp; this file finds the lengths, writes ECX or
// XMM0 and sets the flags. The m128 operand has no alignment rule.
#include "accel/tcg/exec/families.h"
#include "accel/tcg/exec/simd.h"
#include "accel/tcg/exec/sse42_string.h"

namespace vireo::tcg {

namespace {

using namespace simd;

enum class StrLength { Explicit, Implicit };
enum class StrOutput { Index, Mask };

template <StrLength L, StrOutput O>
struct StringCompare {
  template <bool Mem>
  static void run(Cpu& cpu, const Insn& i) {
    check_sse(cpu);
    const uint8_t imm8 = static_cast<uint8_t>(i.imm);
    const Xmm second = read_w<Wkind::M128U, Mem>(cpu, i);
    const Xmm first = get_xmm(cpu, i.reg);
    unsigned len1, len2;
    if constexpr (L == StrLength::Explicit) {
      // rAX and rDX: 64-bit with REX.W, else EAX and EDX as signed dwords.
      const bool wide = i.prefix & kPrefixRexW;
      auto length = [&](unsigned reg) {
        return wide ? static_cast<int64_t>(cpu.gpr[reg]) : int64_t{static_cast<int32_t>(cpu.gpr[reg])};
      };
      len1 = str_explicit_length(length(kRax), imm8);
      len2 = str_explicit_length(length(kRdx), imm8);
    } else {
      len1 = str_implicit_length(first.bytes, imm8);
      len2 = str_implicit_length(second.bytes, imm8);
    }
    const StrCompare r = str_compare(first.bytes, len1, second.bytes, len2, imm8);
    if constexpr (O == StrOutput::Index) {
      cpu.set<uint32_t>(kRcx, str_index(r, imm8));
    } else {
      Xmm mask;
      str_mask(r, imm8, mask.bytes);
      set_xmm(cpu, 0, mask);
    }
    // AF and PF are cleared.
    cpu.set_arithmetic_flags(kArithmeticFlags,
                             (r.cf ? kCf : 0) | (r.zf ? kZf : 0) | (r.sf ? kSf : 0) | (r.of ? kOf : 0));
    next(cpu, i);
  }
};

template <StrLength L, StrOutput O>
constexpr HandlerSet string_handlers() {
  return vector_handlers<StringCompare<L, O>>();
}

}  // namespace

void add_sse42_string_rows(std::vector<OpcodeRow>& t) {
  t.push_back({op0f3a(0x60), -1, kPrefix66, "pcmpestrm", "Vx,Wx,Ib", 0, string_handlers<StrLength::Explicit, StrOutput::Mask>()});
  t.push_back({op0f3a(0x61), -1, kPrefix66, "pcmpestri", "Vx,Wx,Ib", 0, string_handlers<StrLength::Explicit, StrOutput::Index>()});
  t.push_back({op0f3a(0x62), -1, kPrefix66, "pcmpistrm", "Vx,Wx,Ib", 0, string_handlers<StrLength::Implicit, StrOutput::Mask>()});
  t.push_back({op0f3a(0x63), -1, kPrefix66, "pcmpistri", "Vx,Wx,Ib", 0, string_handlers<StrLength::Implicit, StrOutput::Index>()});
}

}  // namespace vireo::tcg
