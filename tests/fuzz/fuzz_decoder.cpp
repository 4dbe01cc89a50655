// Fuzz target: the x86 decoder on arbitrary guest code bytes. The first
// byte picks the mode; decoding must end in a bounded instruction or a
// request for more bytes, never read past the input, never crash.
#include <cstdint>
#include <cstdlib>

#include "accel/tcg/decoder.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace vireo::tcg;
  if (size == 0) return 0;
  static constexpr unsigned kModes[3] = {16, 32, 64};
  unsigned code_bits = kModes[data[0] % 3];
  const uint8_t* bytes = data + 1;
  size_t available = size - 1;
  while (available > 0) {
    Insn insn;
    if (decode(bytes, available, code_bits, insn) != DecodeStatus::Ok) break;
    if (insn.length == 0 || insn.length > 15 || insn.length > available || insn.exec == nullptr) {
      std::abort();
    }
    (void)disassemble(insn);
    bytes += insn.length;
    available -= insn.length;
  }
  return 0;
}
