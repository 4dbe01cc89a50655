// The PCMPxSTRx comparison engine against the host's own PCMPESTRI/M and
// PCMPISTRI/M, for every imm8, on strings built to hit matches, nulls,
// ranges and lengths past the register.
#include "accel/tcg/exec/sse42_string.h"

#include <immintrin.h>

#include <array>
#include <cstring>
#include <random>
#include <utility>

#include <catch2/catch.hpp>

namespace vireo::tcg {
namespace {

struct HostResult {
  uint32_t index = 0;
  uint8_t mask[16] = {};
  bool cf = false, zf = false, sf = false, of = false, pf = false;
};

// One imm8's four host instructions (an immediate must be a constant).
template <int Imm>
struct HostString {
  static HostResult explicit_index(const uint8_t* a, int32_t la, const uint8_t* b, int32_t lb) {
    HostResult r;
    __m128i va = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a));
    __m128i vb = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b));
    asm("pcmpestri %[imm], %[b], %[a]"
        : "=c"(r.index), "=@ccc"(r.cf), "=@ccz"(r.zf), "=@ccs"(r.sf), "=@cco"(r.of), "=@ccp"(r.pf)
        : [a] "x"(va), [b] "x"(vb), "a"(la), "d"(lb), [imm] "i"(Imm));
    return r;
  }
  static HostResult explicit_mask(const uint8_t* a, int32_t la, const uint8_t* b, int32_t lb) {
    HostResult r;
    __m128i va = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a));
    __m128i vb = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b));
    __m128i mask;
    asm("pcmpestrm %[imm], %[b], %[a]"
        : "=Yz"(mask), "=@ccc"(r.cf), "=@ccz"(r.zf), "=@ccs"(r.sf), "=@cco"(r.of), "=@ccp"(r.pf)
        : [a] "x"(va), [b] "x"(vb), "a"(la), "d"(lb), [imm] "i"(Imm));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(r.mask), mask);
    return r;
  }
  static HostResult implicit_index(const uint8_t* a, const uint8_t* b) {
    HostResult r;
    __m128i va = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a));
    __m128i vb = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b));
    asm("pcmpistri %[imm], %[b], %[a]"
        : "=c"(r.index), "=@ccc"(r.cf), "=@ccz"(r.zf), "=@ccs"(r.sf), "=@cco"(r.of), "=@ccp"(r.pf)
        : [a] "x"(va), [b] "x"(vb), [imm] "i"(Imm));
    return r;
  }
  static HostResult implicit_mask(const uint8_t* a, const uint8_t* b) {
    HostResult r;
    __m128i va = _mm_loadu_si128(reinterpret_cast<const __m128i*>(a));
    __m128i vb = _mm_loadu_si128(reinterpret_cast<const __m128i*>(b));
    __m128i mask;
    asm("pcmpistrm %[imm], %[b], %[a]"
        : "=Yz"(mask), "=@ccc"(r.cf), "=@ccz"(r.zf), "=@ccs"(r.sf), "=@cco"(r.of), "=@ccp"(r.pf)
        : [a] "x"(va), [b] "x"(vb), [imm] "i"(Imm));
    _mm_storeu_si128(reinterpret_cast<__m128i*>(r.mask), mask);
    return r;
  }
};

struct HostTable {
  HostResult (*explicit_index)(const uint8_t*, int32_t, const uint8_t*, int32_t);
  HostResult (*explicit_mask)(const uint8_t*, int32_t, const uint8_t*, int32_t);
  HostResult (*implicit_index)(const uint8_t*, const uint8_t*);
  HostResult (*implicit_mask)(const uint8_t*, const uint8_t*);
};

template <size_t... I>
constexpr std::array<HostTable, sizeof...(I)> make_host_table(std::index_sequence<I...>) {
  return {HostTable{&HostString<I>::explicit_index, &HostString<I>::explicit_mask,
                    &HostString<I>::implicit_index, &HostString<I>::implicit_mask}...};
}
constexpr auto kHost = make_host_table(std::make_index_sequence<256>{});

// Strings over a small alphabet (so equal-any and substring searches hit),
// with occasional nulls, sign-bit bytes and repeated needles.
void fill_string(std::mt19937& rng, uint8_t (&s)[16]) {
  static constexpr uint8_t kAlphabet[] = {0x00, 0x01, 0x41, 0x42, 0x43, 0x7f, 0x80, 0xff, 0x61, 0x30};
  unsigned style = rng() % 4;
  for (auto& byte : s) {
    if (style == 0) byte = static_cast<uint8_t>(rng());
    else byte = kAlphabet[rng() % (style == 1 ? 4 : sizeof kAlphabet)];
  }
  if (style == 3) std::memset(s, 0x41, rng() % 17);  // long runs for equal-ordered
}

int32_t random_length(std::mt19937& rng) {
  switch (rng() % 6) {
    case 0: return -static_cast<int32_t>(rng() % 20);
    case 1: return static_cast<int32_t>(rng());  // far past the register, or negative
    default: return static_cast<int32_t>(rng() % 18);
  }
}

void check_same(const StrCompare& ours, const HostResult& host) {
  CHECK(ours.cf == host.cf);
  CHECK(ours.zf == host.zf);
  CHECK(ours.sf == host.sf);
  CHECK(ours.of == host.of);
  CHECK_FALSE(host.pf);  // PF is cleared; the handlers clear it too
}

}  // namespace

TEST_CASE("PCMPxSTRx engine matches the host for every imm8", "[tcg][sse42]") {
  std::mt19937 rng(4242);
  for (unsigned imm = 0; imm < 256; ++imm) {
    const uint8_t imm8 = static_cast<uint8_t>(imm);
    INFO("imm8 = " << imm);
    for (int trial = 0; trial < 60; ++trial) {
      uint8_t a[16], b[16];
      fill_string(rng, a);
      fill_string(rng, b);
      if (trial % 5 == 0) std::memcpy(b + rng() % 8, a, 8);  // a needle inside the haystack
      const int32_t la = random_length(rng), lb = random_length(rng);

      unsigned len1 = str_explicit_length(la, imm8), len2 = str_explicit_length(lb, imm8);
      StrCompare ours = str_compare(a, len1, b, len2, imm8);
      HostResult host = kHost[imm].explicit_index(a, la, b, lb);
      check_same(ours, host);
      CHECK(str_index(ours, imm8) == host.index);
      host = kHost[imm].explicit_mask(a, la, b, lb);
      check_same(ours, host);
      uint8_t mask[16];
      str_mask(ours, imm8, mask);
      CHECK(std::memcmp(mask, host.mask, 16) == 0);

      len1 = str_implicit_length(a, imm8);
      len2 = str_implicit_length(b, imm8);
      ours = str_compare(a, len1, b, len2, imm8);
      host = kHost[imm].implicit_index(a, b);
      check_same(ours, host);
      CHECK(str_index(ours, imm8) == host.index);
      host = kHost[imm].implicit_mask(a, b);
      check_same(ours, host);
      str_mask(ours, imm8, mask);
      CHECK(std::memcmp(mask, host.mask, 16) == 0);
    }
  }
}

}  // namespace vireo::tcg
