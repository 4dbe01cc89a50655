// Shifts and rotates (exec/shift.cpp) against the host: every group-2
// operation in its three count encodings, every operand size, register and
// memory forms, every count 0..70 and a few up to 255 (the count is masked,
// and what RCL/RCR do with counts past the operand width is where
// emulators go wrong), then SHLD/SHRD the same way. The host decides the
// flags the SDM leaves undefined.
#include <catch2/catch.hpp>

#include "tests/tcg/differential.h"
#include "tests/tcg/int_test_support.h"

using namespace vireo;
using namespace vireo::tcg::test;

namespace {

enum class CountForm { One, Cl, Imm };

std::vector<unsigned> counts_to_try(TestRandom& rng) {
  std::vector<unsigned> counts;
  for (unsigned c = 0; c <= 70; ++c) counts.push_back(c);
  for (int k = 0; k < 8; ++k) counts.push_back(static_cast<unsigned>(71 + rng.below(185)));
  return counts;
}

}  // namespace

TEST_CASE("shift: group 2 by 1, CL and imm8 matches the host for every count", "[tcg][shift]") {
  Differential diff;
  TestRandom rng(0x5417u);
  static constexpr const char* kNames[8] = {"rol", "ror", "rcl", "rcr", "shl", "shr", "sal", "sar"};
  for (unsigned op = 0; op < 8; ++op) {
    for (unsigned size : {8u, 16u, 32u, 64u}) {
      for (CountForm form : {CountForm::One, CountForm::Cl, CountForm::Imm}) {
        const std::vector<unsigned> counts = form == CountForm::One ? std::vector<unsigned>(20, 1) : counts_to_try(rng);
        for (unsigned count : counts) {
          for (int variant = 0; variant < 4; ++variant) {
            CpuSnapshot in = random_state(rng);
            Encoding e;
            e.op_bits = size;
            e.reg = op;
            e.rm = pick_rm(rng, in, variant >= 2, 1u << kRcx);
            if (variant == 1 && form == CountForm::Cl && rng.chance(20)) e.rm = reg(kRcx);  // shl cl, cl
            const uint8_t byte_form = size == 8 ? 0 : 1;
            switch (form) {
              case CountForm::One: e.opcode = {static_cast<uint8_t>(0xd0 + byte_form)}; break;
              case CountForm::Cl:
                e.opcode = {static_cast<uint8_t>(0xd2 + byte_form)};
                in.gpr[kRcx] = (in.gpr[kRcx] & ~0xffull) | count;
                break;
              case CountForm::Imm:
                e.opcode = {static_cast<uint8_t>(0xc0 + byte_form)};
                e.imm = count;
                e.imm_bytes = 1;
                break;
            }
            if (size == 8 && rng.chance(30)) e.force_rex = true;
            INFO(kNames[op] << " size " << size << " count " << count);
            CHECK_LIKE_HOST(diff, encode(e), in);
          }
        }
      }
    }
  }
  CHECK_NO_MISMATCHES(diff);
}

TEST_CASE("shift: SHLD and SHRD by CL and imm8 match the host for every count", "[tcg][shift]") {
  Differential diff;
  TestRandom rng(0x5418u);
  for (uint8_t opcode : {0xa4, 0xa5, 0xac, 0xad}) {
    const bool by_cl = opcode & 1;
    for (unsigned size : {16u, 32u, 64u}) {
      for (unsigned count : counts_to_try(rng)) {
        for (int variant = 0; variant < 4; ++variant) {
          CpuSnapshot in = random_state(rng);
          Encoding e;
          e.op_bits = size;
          e.opcode = {0x0f, opcode};
          e.reg = pick_register(rng, by_cl ? 1u << kRcx : 0);
          e.rm = pick_rm(rng, in, variant >= 2, static_cast<uint16_t>((1u << kRcx) | (1u << e.reg)));
          if (variant == 1 && rng.chance(20)) e.reg = e.rm.reg;  // the same register both ways
          if (by_cl) {
            in.gpr[kRcx] = (in.gpr[kRcx] & ~0xffull) | count;
          } else {
            e.imm = count;
            e.imm_bytes = 1;
          }
          INFO((opcode < 0xac ? "shld" : "shrd") << " size " << size << " count " << count);
          CHECK_LIKE_HOST(diff, encode(e), in);
        }
      }
    }
  }
  CHECK_NO_MISMATCHES(diff);
}
