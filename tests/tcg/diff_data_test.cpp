// The existing data-movement and condition families (exec/data.cpp,
// exec/control.cpp) and the decoder's prefix handling, against the host:
// MOV in all its forms, LEA, XCHG, MOVZX/MOVSX/MOVSXD, PUSH/POP (POP to an
// RSP-based operand too), CBW/CWD and friends, CMOVcc and SETcc for every
// condition; then ALU forms behind random runs of redundant prefixes.
#include <catch2/catch.hpp>

#include "tests/tcg/differential.h"
#include "tests/tcg/int_test_support.h"

using namespace vireo;
using namespace vireo::tcg;
using namespace vireo::tcg::test;

namespace {

unsigned any_size(TestRandom& rng) { return std::array{16u, 32u, 64u}[rng.below(3)]; }

}  // namespace

TEST_CASE("data: MOV, LEA, XCHG, MOVZX/MOVSX/MOVSXD, CMOVcc and SETcc match the host", "[tcg][data]") {
  Differential diff;
  TestRandom rng(0xda7au);
  for (int n = 0; n < 16000; ++n) {
    CpuSnapshot in = random_state(rng);
    Encoding e;
    e.op_bits = any_size(rng);
    e.reg = pick_register(rng);
    bool memory = rng.chance(40);
    switch (rng.below(12)) {
      case 0: e.op_bits = 8; e.opcode = {static_cast<uint8_t>(0x88 + 2 * rng.below(2))}; break;  // mov b
      case 1: e.opcode = {static_cast<uint8_t>(0x89 + 2 * rng.below(2))}; break;                  // mov v
      case 2:
        if (rng.chance(30)) {
          e.op_bits = 8; e.opcode = {0xc6}; e.imm = rng.next(); e.imm_bytes = 1;
        } else {
          e.opcode = {0xc7}; e.imm = rng.next(); e.imm_bytes = e.op_bits == 16 ? 2 : 4;
        }
        e.reg = 0;
        break;
      case 3: e.opcode = {0x8d}; memory = true; if (rng.chance(30)) e.prefixes = {0x67}; break;  // lea
      case 4: e.opcode = {static_cast<uint8_t>(rng.chance(30) ? 0x86 : 0x87)};                    // xchg
        if (e.opcode[0] == 0x86) e.op_bits = 8;
        if (memory && rng.chance(30)) e.prefixes = {0xf0};
        break;
      case 5: e.opcode = {0x0f, static_cast<uint8_t>(std::array{0xb6, 0xb7, 0xbe, 0xbf}[rng.below(4)])}; break;
      case 6: e.opcode = {0x63}; break;  // movsxd, with REX.W or not (then it is a plain move)
      case 7: case 8: e.opcode = {0x0f, static_cast<uint8_t>(0x40 + rng.below(16))}; break;  // cmovcc
      default: e.opcode = {0x0f, static_cast<uint8_t>(0x90 + rng.below(16))}; e.op_bits = 32; break;  // setcc
    }
    e.rm = pick_rm(rng, in, memory, static_cast<uint16_t>(1u << e.reg));
    if (rng.chance(20)) e.force_rex = true;
    CHECK_LIKE_HOST(diff, encode(e), in);
  }
  CHECK_NO_MISMATCHES(diff);
}

TEST_CASE("data: MOV with immediates and moffs, PUSH, POP and the sign extensions match the host", "[tcg][data]") {
  Differential diff;
  TestRandom rng(0xda7bu);
  for (int n = 0; n < 8000; ++n) {
    CpuSnapshot in = random_state(rng, 0x100);
    in.gpr[kRsp] = kDataAddress + 0x80 + rng.below(8) * 8;
    const unsigned r = pick_register(rng);
    const uint8_t rex_b = r >= 8 ? 0x41 : 0;
    Bytes code;
    auto add = [&](std::initializer_list<uint8_t> bytes) { code.insert(code.end(), bytes); };
    auto imm = [&](unsigned bytes, uint64_t v) {
      for (unsigned b = 0; b < bytes; ++b) code.push_back(static_cast<uint8_t>(v >> (8 * b)));
    };
    switch (rng.below(10)) {
      case 0:  // mov r64, imm64 / r32, imm32 / r16, imm16
        switch (rng.below(3)) {
          case 0: add({static_cast<uint8_t>(0x48 | (rex_b & 1)), static_cast<uint8_t>(0xb8 + (r & 7))}); imm(8, rng.next()); break;
          case 1: if (rex_b) add({rex_b}); add({static_cast<uint8_t>(0xb8 + (r & 7))}); imm(4, rng.next()); break;
          default: add({0x66}); if (rex_b) add({rex_b}); add({static_cast<uint8_t>(0xb8 + (r & 7))}); imm(2, rng.next()); break;
        }
        break;
      case 1: {  // mov al/ax/eax/rax <-> [moffs64]
        const uint8_t op = static_cast<uint8_t>(0xa0 + rng.below(4));
        const unsigned size = (op & 1) ? std::array{2u, 4u, 8u}[rng.below(3)] : 1;
        if (size == 2) add({0x66});
        if (size == 8) add({0x48});
        add({op});
        imm(8, kDataAddress + 8 + rng.below(0x70));
        break;
      }
      case 2:  // push r / pop r (64 or 16 bits)
        if (rng.chance(30)) add({0x66});
        if (rex_b) add({rex_b});
        add({static_cast<uint8_t>((rng.chance(50) ? 0x50 : 0x58) + (r & 7))});
        break;
      case 3:  // push imm32 / imm8 (64-bit), push imm16
        if (rng.chance(30)) { add({0x66, 0x68}); imm(2, rng.next()); }
        else if (rng.chance(50)) { add({0x68}); imm(4, rng.next()); }
        else { add({0x6a}); imm(1, rng.next()); }
        break;
      case 4: {  // push r/m, pop r/m
        Encoding e;
        e.op_bits = rng.chance(25) ? 16 : 32;  // 32 here means the default, 64
        e.opcode = {static_cast<uint8_t>(rng.chance(50) ? 0xff : 0x8f)};
        e.reg = e.opcode[0] == 0xff ? 6 : 0;
        e.rm = pick_rm(rng, in, rng.chance(60), 1u << kRsp, 0x60);
        code = encode(e);
        break;
      }
      case 5:  // pop qword [rsp + disp]: the address uses rSP after the pop
        add({0x8f, 0x44, 0x24, static_cast<uint8_t>(rng.below(4) * 8 - 8)});
        break;
      case 6:  // cbw / cwde / cdqe / cwd / cdq / cqo
        if (rng.chance(33)) add({0x66}); else if (rng.chance(50)) add({0x48});
        add({static_cast<uint8_t>(rng.chance(50) ? 0x98 : 0x99)});
        break;
      case 7:  // xchg rax, r (and 90 with REX.B: xchg r8, rax)
        if (rng.chance(30)) add({0x66}); else if (rng.chance(50)) add({static_cast<uint8_t>(0x48 | (rex_b & 1))});
        else if (rex_b) add({rex_b});
        add({static_cast<uint8_t>(0x90 + (r & 7))});
        break;
      case 8:  // mov r/m8, imm8 into AH..BH or SPL..DIL
        if (rng.chance(50)) add({0x40});
        add({0xc6, static_cast<uint8_t>(0xc0 + rng.below(8))});
        imm(1, rng.next());
        break;
      default: {  // movzx/movsx from a high byte register
        add({0x0f, static_cast<uint8_t>(rng.chance(50) ? 0xb6 : 0xbe), static_cast<uint8_t>(0xc0 | (rng.below(8) << 3) | (4 + rng.below(4)))});
        break;
      }
    }
    CHECK_LIKE_HOST(diff, code, in);
  }
  CHECK_NO_MISMATCHES(diff);
}

TEST_CASE("decoder: ALU forms behind redundant and ignored prefixes match the host", "[tcg][data][decoder]") {
  Differential diff;
  TestRandom rng(0xda7cu);
  // Prefixes that leave a flat 64-bit memory operand where it was: the
  // segment overrides (not FS, the host's TLS), 67 (the base is below
  // 4 GiB), repeated 66, and F2/F3, which these opcodes ignore.
  static constexpr uint8_t kLegacy[] = {0x26, 0x2e, 0x36, 0x3e, 0x65, 0x66, 0x67, 0xf2, 0xf3};
  for (int n = 0; n < 8000; ++n) {
    CpuSnapshot in = random_state(rng);
    Encoding e;
    e.op_bits = std::array{8u, 16u, 32u, 64u}[rng.below(4)];
    const uint8_t op = static_cast<uint8_t>(rng.below(8));
    e.opcode = {static_cast<uint8_t>(op * 8 + (e.op_bits == 8 ? 0 : 1) + (rng.chance(50) ? 2 : 0))};
    e.reg = pick_register(rng);
    e.rm = pick_rm(rng, in, rng.chance(60), static_cast<uint16_t>(1u << e.reg));
    Bytes code;
    // A REX followed by a legacy prefix is ignored; the one encode() puts
    // right before the opcode counts.
    uint64_t legacy = rng.below(4);
    if (rng.chance(30)) {
      code.push_back(static_cast<uint8_t>(0x40 + rng.below(16)));
      legacy = std::max<uint64_t>(legacy, 1);
    }
    for (; legacy > 0; --legacy) code.push_back(kLegacy[rng.below(std::size(kLegacy))]);
    const Bytes insn = encode(e);
    code.insert(code.end(), insn.begin(), insn.end());
    CHECK_LIKE_HOST(diff, code, in);
  }
  CHECK_NO_MISMATCHES(diff);
}

// PUSHA/POPA and BOUND exist only outside 64-bit mode: compared in a 32-bit
// code segment, with 16- and 32-bit operands; BOUND with the index inside,
// on and outside its bounds (#BR), and its register form (#UD).
TEST_CASE("data: PUSHA, POPA and BOUND match the host in 32-bit code, #UD in 64-bit", "[tcg][data]") {
  constexpr DiffOptions kCompat{CodeMode::Compat32};
  Differential diff;
  TestRandom rng(0xda7cu);
  for (int n = 0; n < 6000; ++n) {
    CpuSnapshot in = random_state(rng, 0x100);
    // Eight pushes or pops from here stay inside the 256 bytes both sides
    // load (the rest of the window is not compared).
    in.gpr[kRsp] = kDataAddress + 0x40 + rng.below(0x40) * 2;
    const bool opsize16 = rng.chance(30);
    Bytes code;
    if (opsize16) code.push_back(0x66);
    switch (rng.below(3)) {
      case 0: code.push_back(0x60); break;  // pusha(d)
      case 1: code.push_back(0x61); break;  // popa(d)
      default: {  // bound reg, [ebx + disp8]
        const unsigned reg = static_cast<unsigned>(rng.below(8));
        const uint8_t disp = static_cast<uint8_t>(rng.below(0x20));
        if (reg != kRbx) in.gpr[kRbx] = kDataAddress + 0x10;
        const uint64_t address = in.gpr[kRbx] + disp;
        const unsigned size = opsize16 ? 2 : 4;
        if (address >= kDataAddress && address + 2 * size <= kDataAddress + in.memory.size()) {
          // Bounds around the index, so that every outcome comes up.
          const int64_t index = opsize16 ? static_cast<int16_t>(in.gpr[reg]) : static_cast<int32_t>(in.gpr[reg]);
          const int64_t lower = index + static_cast<int64_t>(rng.below(5)) - 2;
          const int64_t upper = lower + static_cast<int64_t>(rng.below(5)) - 1;
          for (unsigned b = 0; b < size; ++b) {
            in.memory[address - kDataAddress + b] = static_cast<uint8_t>(static_cast<uint64_t>(lower) >> (8 * b));
            in.memory[address - kDataAddress + size + b] = static_cast<uint8_t>(static_cast<uint64_t>(upper) >> (8 * b));
          }
        }
        code.push_back(0x62);
        if (rng.chance(5)) {
          code.push_back(static_cast<uint8_t>(0xc0 | (reg << 3) | rng.below(8)));  // register form: #UD
        } else {
          code.push_back(static_cast<uint8_t>(0x40 | (reg << 3) | kRbx));
          code.push_back(disp);
        }
        break;
      }
    }
    CHECK_LIKE_HOST(diff, code, in, kCompat);
  }
  for (uint8_t opcode : {0x60, 0x61}) {
    CHECK_LIKE_HOST(diff, Bytes{opcode}, random_state(rng, 0x100));  // 64-bit mode: #UD
  }
  CHECK_NO_MISMATCHES(diff);
}
