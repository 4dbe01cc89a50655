// Integer arithmetic as compiled C uses it: every width of add/sub/mul/div
// (signed and unsigned, 128-bit too), shifts and rotates by every count,
// bit scans and population counts (the generic versions: this is built for
// the baseline x86-64), byte swaps, and flag-consuming comparisons. Prints
// running hashes so any difference from the host shows.
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>

static uint64_t state = 0x9e3779b97f4a7c15ull;

static uint64_t next_random(void) {  // xorshift64*
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  return state * 0x2545f4914f6cdd1dull;
}

static uint64_t mix(uint64_t hash, uint64_t value) {
  hash ^= value + 0x9e3779b97f4a7c15ull + (hash << 6) + (hash >> 2);
  return hash;
}

static uint64_t rotl64(uint64_t v, unsigned n) { return n ? (v << n) | (v >> (64 - n)) : v; }
static uint32_t rotr32(uint32_t v, unsigned n) { return n ? (v >> n) | (v << (32 - n)) : v; }

int main(void) {
  uint64_t h_arith = 0, h_div = 0, h_shift = 0, h_bits = 0, h_wide = 0, h_cmp = 0;
  for (int i = 0; i < 200000; ++i) {
    uint64_t a = next_random(), b = next_random();
    unsigned n = (unsigned)(b & 63);
    h_arith = mix(h_arith, a + b);
    h_arith = mix(h_arith, a - b);
    h_arith = mix(h_arith, a * b);
    h_arith = mix(h_arith, (uint32_t)a * (uint32_t)b);
    h_arith = mix(h_arith, (uint64_t)((int16_t)a * (int16_t)b));
    h_arith = mix(h_arith, (uint64_t)(int8_t)((int8_t)a * (int8_t)b));
    if (b != 0) {
      h_div = mix(h_div, a / b);
      h_div = mix(h_div, a % b);
      h_div = mix(h_div, (uint32_t)a / ((uint32_t)b | 1));
      int64_t sa = (int64_t)a >> (n & 31), sb = (int64_t)b >> 40;
      if (sb != 0 && !(sa == INT64_MIN && sb == -1)) {
        h_div = mix(h_div, (uint64_t)(sa / sb));
        h_div = mix(h_div, (uint64_t)(sa % sb));
      }
      int32_t s32 = (int32_t)a, d32 = (int32_t)(b >> 50) - 2000;
      if (d32 != 0) h_div = mix(h_div, (uint64_t)(int64_t)(s32 / d32) ^ (uint64_t)(s32 % d32));
    }
    h_shift = mix(h_shift, a << n);
    h_shift = mix(h_shift, a >> n);
    h_shift = mix(h_shift, (uint64_t)((int64_t)a >> n));
    h_shift = mix(h_shift, (uint32_t)a << (n & 31));
    h_shift = mix(h_shift, (uint64_t)((int32_t)a >> (n & 31)));
    h_shift = mix(h_shift, rotl64(a, n));
    h_shift = mix(h_shift, rotr32((uint32_t)a, n & 31));
    h_bits = mix(h_bits, (uint64_t)__builtin_popcountll(a));
    if (a) h_bits = mix(h_bits, (uint64_t)__builtin_ctzll(a) * 64 + (uint64_t)__builtin_clzll(a));
    h_bits = mix(h_bits, __builtin_bswap64(a) ^ __builtin_bswap32((uint32_t)b));
    h_bits = mix(h_bits, (uint64_t)__builtin_parityll(a & b));
    unsigned __int128 wide = (unsigned __int128)a * b;
    h_wide = mix(h_wide, (uint64_t)(wide >> 64) ^ (uint64_t)wide);
    if (b >> 1) {
      unsigned __int128 q = wide / (b >> 1);
      h_wide = mix(h_wide, (uint64_t)q ^ (uint64_t)(q >> 64));
    }
    __int128 swide = (__int128)(int64_t)a * (int64_t)b;
    h_wide = mix(h_wide, (uint64_t)(swide >> 64));
    h_cmp = mix(h_cmp, ((int64_t)a < (int64_t)b) | (a < b) << 1 | ((int32_t)a <= (int32_t)b) << 2 |
                           ((uint16_t)a > (uint16_t)b) << 3 | ((int8_t)a >= (int8_t)b) << 4);
    uint64_t sum;
    h_cmp = mix(h_cmp, (uint64_t)__builtin_add_overflow(a, b, &sum) ^ sum);
    int64_t ssum;
    h_cmp = mix(h_cmp, (uint64_t)__builtin_mul_overflow((int64_t)a, (int64_t)b, &ssum) ^ (uint64_t)ssum);
  }
  printf("arith %016" PRIx64 "\n", h_arith);
  printf("div   %016" PRIx64 "\n", h_div);
  printf("shift %016" PRIx64 "\n", h_shift);
  printf("bits  %016" PRIx64 "\n", h_bits);
  printf("wide  %016" PRIx64 "\n", h_wide);
  printf("cmp   %016" PRIx64 "\n", h_cmp);
  // glibc's formatting of the same values.
  printf("%d %u %ld %lld %x %o %#llx %+d %-5d|\n", -12345, 4000000000u, -9000000000000l,
         (long long)INT64_MIN, 0xdeadbeefu, 0755u, 0x123456789abcdefull, 42, 7);
  return 0;
}
