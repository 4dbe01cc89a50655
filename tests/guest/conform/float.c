// Floating point as compiled C and libm use it on a baseline x86-64: SSE2
// scalar float/double arithmetic, conversions (truncating and under every
// rounding mode), comparisons with NaNs, square roots, and libm's
// transcendental functions; long double goes through the x87 unit. Values
// are printed in hex (%a) so every bit is compared.
#include <fenv.h>
#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

static uint64_t state = 0x2545f4914f6cdd1dull;
static uint64_t next_random(void) {
  state ^= state >> 12;
  state ^= state << 25;
  state ^= state >> 27;
  return state * 0x2545f4914f6cdd1dull;
}

static double random_double(void) {
  // Mostly ordinary values, some specials.
  uint64_t r = next_random();
  switch (r % 16) {
    case 0: return 0.0;
    case 1: return -0.0;
    case 2: return INFINITY;
    case 3: return NAN;
    case 4: return DBL_MIN / 3;  // subnormal
    default: return ((double)(int64_t)next_random() / 1e15) * ((r >> 8) % 7 + 1);
  }
}

static uint64_t hash = 0;
static void mix_double(double d) {
  uint64_t bits;
  memcpy(&bits, &d, 8);
  if (d != d) bits = 0x7ff8000000000000ull | (bits & 0x8000000000000000ull);  // NaN payloads aside
  hash ^= bits + 0x9e3779b97f4a7c15ull + (hash << 6) + (hash >> 2);
}
static void mix_int(int64_t v) { mix_double((double)(v & 0xfffffffffffll)); hash += (uint64_t)v; }

int main(void) {
  const int modes[] = {FE_TONEAREST, FE_DOWNWARD, FE_UPWARD, FE_TOWARDZERO};
  for (int m = 0; m < 4; ++m) {
    fesetround(modes[m]);
    hash = 0;
    for (int i = 0; i < 20000; ++i) {
      volatile double a = random_double(), b = random_double();
      mix_double(a + b);
      mix_double(a - b);
      mix_double(a * b);
      mix_double(a / b);
      mix_double(sqrt(fabs(a)));
      volatile float fa = (float)a, fb = (float)b;
      mix_double(fa * fb + fa);
      mix_double(sqrtf(fabsf(fa)));
      mix_int((a < b) | (a == b) << 1 | (a > b) << 2 | isunordered(a, b) << 3);
      if (fabs(a) < 9e18) {
        mix_int((int64_t)a);
        mix_int(llrint(a));
        mix_int((int32_t)(a / 4e9));
      }
      mix_double((double)(int64_t)next_random());
      mix_double((double)(next_random() >> 3));
      mix_double((float)(int32_t)next_random());
      mix_double(rint(a));
      mix_double(nearbyint(b));
    }
    printf("sse mode %d: %016llx\n", m, (unsigned long long)hash);
  }
  fesetround(FE_TONEAREST);
  int flags_seen = 0;
  feclearexcept(FE_ALL_EXCEPT);
  volatile double zero = 0.0, one = 1.0, big = DBL_MAX;
  volatile double r = one / zero;
  flags_seen |= fetestexcept(FE_DIVBYZERO) ? 1 : 0;
  r = big * big;
  flags_seen |= fetestexcept(FE_OVERFLOW) ? 2 : 0;
  r = zero / zero;
  flags_seen |= fetestexcept(FE_INVALID) ? 4 : 0;
  r = one / 3;
  flags_seen |= fetestexcept(FE_INEXACT) ? 8 : 0;
  (void)r;
  printf("exception flags %d\n", flags_seen);
  // libm: these take the same code path on both, so results are exact.
  double x = 0.7;
  printf("libm %a %a %a %a %a %a\n", sin(x), cos(x), exp(x), log(x), atan2(x, 0.3), pow(x, 3.3));
  // x87 through long double.
  long double lx = 0.7L, acc = 1.0L;
  for (int i = 1; i < 2000; ++i) acc = acc * (1.0L + lx / i) - lx / (i + 1);
  printf("x87 %La %La %La %La %La\n", acc, sqrtl(2.0L), sinl(lx), logl(10.0L), fmodl(1e30L, 7.0L));
  printf("x87 convert %lld %La %La\n", (long long)(acc * 1e12L), (long double)(1ull << 63) * 3,
         (long double)0.1f);
  printf("format %.17g %.3f %e %g %g\n", 1.0 / 3, -2.5, 6.02214076e23, 1e-300 * 1e-300, -0.0);
  return 0;
}
