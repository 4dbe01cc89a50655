// Developer tracing for the software CPU, chosen with the environment
// variable VIREO_TCG_LOG (comma-separated, like QEMU's -d items):
//   int    every exception and interrupt delivered (vector, error, cs:rip)
//   unimp  instructions the decoder does not know (with their bytes)
//   exec   every block entered (cs:rip, mode)
// Output goes to stderr, or to the file named by VIREO_TCG_LOGFILE.
#pragma once

#include <cstdint>
#include <cstdio>

namespace vireo::tcg {

inline constexpr unsigned kTraceInt = 1u << 0;
inline constexpr unsigned kTraceUnimp = 1u << 1;
inline constexpr unsigned kTraceExec = 1u << 2;

unsigned trace_mask();
std::FILE* trace_file();

#define VIREO_TCG_TRACE(mask, ...)                                   \
  do {                                                               \
    if (::vireo::tcg::trace_mask() & (mask)) {                       \
      std::fprintf(::vireo::tcg::trace_file(), __VA_ARGS__);         \
    }                                                                \
  } while (0)

}  // namespace vireo::tcg
