// The PCMPxSTRx comparison engine: Intel SDM vol. 2 §4.1 (source data
// format, aggregation operation, polarity, output selection) and table 4-7
// for the elements past the end of a string.
#include "accel/tcg/exec/sse42_string.h"

#include <algorithm>
#include <bit>
#include <cstring>

namespace vireo::tcg {

namespace {

int32_t element(const uint8_t (&data)[16], unsigned k, uint8_t imm8) {
  if (imm8 & kStrWords) {
    uint16_t w = static_cast<uint16_t>(data[2 * k] | (data[2 * k + 1] << 8));
    return (imm8 & kStrSigned) ? static_cast<int16_t>(w) : w;
  }
  return (imm8 & kStrSigned) ? static_cast<int8_t>(data[k]) : data[k];
}

}  // namespace

unsigned str_explicit_length(int64_t length, uint8_t imm8) {
  // The magnitude as unsigned, so INT64_MIN does not overflow.
  uint64_t magnitude = length < 0 ? 0 - static_cast<uint64_t>(length) : static_cast<uint64_t>(length);
  return static_cast<unsigned>(std::min<uint64_t>(magnitude, str_elements(imm8)));
}

unsigned str_implicit_length(const uint8_t (&data)[16], uint8_t imm8) {
  unsigned n = str_elements(imm8);
  for (unsigned k = 0; k < n; ++k) {
    if (element(data, k, imm8) == 0) return k;
  }
  return n;
}

StrCompare str_compare(const uint8_t (&first)[16], unsigned len1, const uint8_t (&second)[16],
                       unsigned len2, uint8_t imm8) {
  const unsigned n = str_elements(imm8);
  const auto aggregation = static_cast<StrAggregation>((imm8 >> kStrAggregationShift) & 3);
  int32_t a[16], b[16];
  for (unsigned k = 0; k < n; ++k) {
    a[k] = element(first, k, imm8);
    b[k] = element(second, k, imm8);
  }
  // BoolRes for first[i] against second[j], with table 4-7's forced values
  // where either element lies past the end of its string.
  auto bool_res = [&](unsigned i, unsigned j) -> bool {
    bool valid1 = i < len1, valid2 = j < len2;
    if (!valid1 || !valid2) {
      switch (aggregation) {
        case StrAggregation::EqualAny:
        case StrAggregation::Ranges: return false;
        case StrAggregation::EqualEach: return !valid1 && !valid2;
        case StrAggregation::EqualOrdered: return !valid1;
      }
    }
    if (aggregation == StrAggregation::Ranges) return (i & 1) ? a[i] >= b[j] : a[i] <= b[j];
    return a[i] == b[j];
  };

  uint32_t int_res1 = 0;
  for (unsigned j = 0; j < n; ++j) {
    bool bit = false;
    switch (aggregation) {
      case StrAggregation::EqualAny:
        for (unsigned i = 0; i < n && !bit; ++i) bit = bool_res(i, j);
        break;
      case StrAggregation::Ranges:
        for (unsigned i = 0; i + 1 < n && !bit; i += 2) bit = bool_res(i, j) && bool_res(i + 1, j);
        break;
      case StrAggregation::EqualEach:
        bit = bool_res(j, j);
        break;
      case StrAggregation::EqualOrdered:
        bit = true;
        for (unsigned k = 0; j + k < n && bit; ++k) bit = bool_res(k, j + k);
        break;
    }
    if (bit) int_res1 |= 1u << j;
  }

  const uint32_t all = (1u << n) - 1;
  uint32_t int_res2 = int_res1;
  switch ((imm8 >> kStrPolarityShift) & 3) {
    case 1: int_res2 = ~int_res1 & all; break;                          // negative
    case 3: int_res2 = int_res1 ^ ((1u << len2) - 1); break;            // masked negative
    default: break;                                                      // positive, masked positive
  }

  StrCompare r;
  r.int_res2 = static_cast<uint16_t>(int_res2);
  r.cf = int_res2 != 0;
  r.zf = len2 < n;
  r.sf = len1 < n;
  r.of = int_res2 & 1;
  return r;
}

unsigned str_index(const StrCompare& r, uint8_t imm8) {
  if (r.int_res2 == 0) return str_elements(imm8);
  if (imm8 & kStrMostSignificant) return 15u - static_cast<unsigned>(std::countl_zero(r.int_res2));
  return static_cast<unsigned>(std::countr_zero(r.int_res2));
}

void str_mask(const StrCompare& r, uint8_t imm8, uint8_t (&out)[16]) {
  std::memset(out, 0, sizeof out);
  if (!(imm8 & kStrMostSignificant)) {
    out[0] = static_cast<uint8_t>(r.int_res2);
    out[1] = static_cast<uint8_t>(r.int_res2 >> 8);
    return;
  }
  const unsigned n = str_elements(imm8), width = 16 / n;
  for (unsigned k = 0; k < n; ++k) {
    if (r.int_res2 & (1u << k)) std::memset(out + k * width, 0xff, width);
  }
}

}  // namespace vireo::tcg
