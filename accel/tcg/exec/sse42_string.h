// The comparison engine of the SSE4.2 string instructions PCMPESTRI,
// PCMPESTRM, PCMPISTRI and PCMPISTRM (Intel SDM vol. 2 §4.1, "Imm8 Control
// Byte Operation for PCMPESTRI / PCMPESTRM / PCMPISTRI / PCMPISTRM").
//
// The four instructions differ only in how the string lengths are found
// (explicit: rAX/rDX; implicit: the first null element) and in what they
// write (an index in ECX or a mask in XMM0); the engine here is shared and
// knows nothing about the CPU, so tests can drive it directly.
#pragma once

#include <cstdint>

namespace vireo::tcg {

// imm8 fields (SDM vol. 2 §4.1.2-4.1.6).
inline constexpr uint8_t kStrWords = 1u << 0;         // elements are words, else bytes
inline constexpr uint8_t kStrSigned = 1u << 1;        // elements are signed
inline constexpr uint8_t kStrAggregationShift = 2;    // bits 3:2
inline constexpr uint8_t kStrPolarityShift = 4;       // bits 5:4
inline constexpr uint8_t kStrMostSignificant = 1u << 6;  // xSTRI: highest index; xSTRM: expanded mask

enum class StrAggregation : uint8_t { EqualAny = 0, Ranges = 1, EqualEach = 2, EqualOrdered = 3 };

struct StrCompare {
  uint16_t int_res2 = 0;  // one bit per element, after polarity
  bool cf = false;        // IntRes2 != 0
  bool zf = false;        // the second operand ends inside the register
  bool sf = false;        // the first operand ends inside the register
  bool of = false;        // IntRes2[0]
};

// Number of elements in a register for this imm8: 16 bytes or 8 words.
inline unsigned str_elements(uint8_t imm8) { return (imm8 & kStrWords) ? 8 : 16; }

// Valid length of an operand given by a register (explicit-length forms):
// the absolute value, saturated to the element count (SDM §4.1.3).
unsigned str_explicit_length(int64_t length, uint8_t imm8);
// Valid length of an operand ending at its first null element (implicit).
unsigned str_implicit_length(const uint8_t (&data)[16], uint8_t imm8);

// Compares xmm1 (`first`, valid elements [0, len1)) with xmm2/m128
// (`second`, valid elements [0, len2)) as imm8 directs.
StrCompare str_compare(const uint8_t (&first)[16], unsigned len1, const uint8_t (&second)[16],
                       unsigned len2, uint8_t imm8);

// xSTRI's result: the lowest (or, with imm8[6], highest) set bit of
// IntRes2, or the element count when there is none.
unsigned str_index(const StrCompare& r, uint8_t imm8);
// xSTRM's result: IntRes2 as a bit mask in the low bits, or (imm8[6]) as
// a byte/word mask of all-ones elements.
void str_mask(const StrCompare& r, uint8_t imm8, uint8_t (&out)[16]);

}  // namespace vireo::tcg
