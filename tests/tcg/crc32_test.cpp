// CRC32 (F2 0F 38 F0/F1) against the host: byte sources including AH..BH
// and SPL..DIL, word/dword/qword sources, 32- and 64-bit destinations,
// register and memory forms, in 64-bit and compatibility mode.
#include <catch2/catch.hpp>

#include "tests/tcg/differential.h"
#include "tests/tcg/encode.h"
#include "tests/tcg/random_values.h"

using namespace vireo;
using namespace vireo::tcg;
using namespace vireo::tcg::test;

TEST_CASE("CRC32 matches the host for every source width and form", "[tcg][crc32]") {
  Differential d;
  TestRandom r(32);
  struct Shape {
    uint8_t opcode;
    unsigned op_bits;  // 16 adds 66, 64 adds REX.W
  };
  const Shape shapes[] = {{0xf0, 32}, {0xf0, 64}, {0xf1, 16}, {0xf1, 32}, {0xf1, 64}};
  for (const Shape& shape : shapes) {
    for (CodeMode mode : {CodeMode::Long64, CodeMode::Compat32}) {
      if (mode == CodeMode::Compat32 && shape.op_bits == 64) continue;
      const unsigned regs = mode == CodeMode::Long64 ? 16 : 8;
      for (int k = 0; k < 400; ++k) {
        CpuSnapshot in;
        for (uint64_t& g : in.gpr) g = r.value(64);
        in.gpr[kRsp] = kDataAddress + 0x8000;
        Encoding e;
        e.prefixes = {0xf2};
        e.op_bits = shape.op_bits;
        e.opcode = {0x0f, 0x38, shape.opcode};
        e.reg = static_cast<unsigned>(r.below(regs));
        if (e.reg == kRsp) e.reg = kRax;
        e.force_rex = mode == CodeMode::Long64 && r.chance(30);  // SPL..DIL instead of AH..BH
        if (r.chance(35)) {
          in.gpr[kRsi] = kDataAddress + r.below(64);  // unaligned is fine
          in.memory.resize(128);
          for (uint8_t& b : in.memory) b = static_cast<uint8_t>(r.next());
          e.rm = mem(kRsi, static_cast<int32_t>(r.below(32)));
        } else {
          e.rm = reg(static_cast<unsigned>(r.below(regs)));
        }
        DiffOptions options;
        options.mode = mode;
        CHECK_LIKE_HOST(d, encode(e), in, options);
      }
    }
  }
  CHECK_NO_MISMATCHES(d);
}
