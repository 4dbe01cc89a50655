#include "accel/tcg/trace.h"

#include <cstdlib>
#include <cstring>
#include <string>

namespace vireo::tcg {

unsigned trace_mask() {
  static const unsigned mask = [] {
    const char* spec = std::getenv("VIREO_TCG_LOG");
    unsigned m = 0;
    if (spec == nullptr) return m;
    std::string s = spec;
    size_t start = 0;
    while (start <= s.size()) {
      size_t comma = s.find(',', start);
      std::string item = s.substr(start, comma - start);
      if (item == "int") m |= kTraceInt;
      if (item == "unimp") m |= kTraceUnimp;
      if (item == "exec") m |= kTraceExec;
      if (comma == std::string::npos) break;
      start = comma + 1;
    }
    return m;
  }();
  return mask;
}

std::FILE* trace_file() {
  static std::FILE* file = [] {
    const char* path = std::getenv("VIREO_TCG_LOGFILE");
    std::FILE* f = path ? std::fopen(path, "w") : nullptr;
    return f ? f : stderr;
  }();
  return file;
}

}  // namespace vireo::tcg
