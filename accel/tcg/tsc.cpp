#include "accel/tcg/tsc.h"

#include <time.h>

#include "accel/tcg/cpu.h"

namespace vireo::tcg {

static_assert(kGuestTscHz == 1'000'000'000, "host_tsc() returns nanoseconds; scale it for another rate");

uint64_t host_tsc() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);  // cannot fail with a valid clock id and pointer
  return static_cast<uint64_t>(ts.tv_sec) * 1'000'000'000ull + static_cast<uint64_t>(ts.tv_nsec);
}

uint64_t read_tsc(Cpu& cpu) {
  uint64_t tsc = host_tsc() + cpu.msr.tsc_offset;
  // Unsigned difference: correct across the 64-bit wrap a guest can set up.
  if (static_cast<int64_t>(tsc - cpu.msr.tsc_last) <= 0) tsc = cpu.msr.tsc_last + 1;
  cpu.msr.tsc_last = tsc;
  return tsc;
}

void write_tsc(Cpu& cpu, uint64_t value) {
  cpu.msr.tsc_offset = value - host_tsc();
  cpu.msr.tsc_last = value - 1;  // the next read may return `value` itself
}

}  // namespace vireo::tcg
