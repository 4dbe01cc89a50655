// CMPXCHG, XADD, CMPXCHG8B and CMPXCHG16B (exec/atomic.cpp) against the
// host, with and without LOCK, equal and unequal comparisons, register and
// memory forms; then LOCKed updates racing from two vCPU threads, which
// only come out right if the software CPU's LOCK is atomic on the host.
#include <catch2/catch.hpp>

#include <thread>

#include "tests/tcg/differential.h"
#include "tests/tcg/int_test_support.h"

using namespace vireo;
using namespace vireo::tcg;
using namespace vireo::tcg::test;

namespace {

uint64_t mask_of(unsigned bits) { return bits == 64 ? ~0ull : (1ull << bits) - 1; }

// Copies the operand's current value into the accumulator half the time,
// so both outcomes of the comparison are common.
void maybe_equal(TestRandom& rng, CpuSnapshot& in, const Encoding& e, unsigned bits) {
  if (!rng.chance(50)) return;
  uint64_t value;
  if (e.rm.mem) {
    uint64_t offset = in.gpr[e.rm.base] + static_cast<uint64_t>(static_cast<int64_t>(e.rm.disp)) - kDataAddress;
    value = 0;
    for (unsigned b = 0; b < bits / 8; ++b) value |= uint64_t{in.memory[offset + b]} << (8 * b);
  } else if (bits == 8 && !e.force_rex && e.rm.reg >= 4 && e.rm.reg < 8) {
    value = in.gpr[e.rm.reg - 4] >> 8;  // AH..BH
  } else {
    value = in.gpr[e.rm.reg];
  }
  in.gpr[kRax] = (in.gpr[kRax] & ~mask_of(bits)) | (value & mask_of(bits));
}

}  // namespace

TEST_CASE("atomic: CMPXCHG and XADD match the host", "[tcg][atomic]") {
  Differential diff;
  TestRandom rng(0xa70u);
  for (int n = 0; n < 12000; ++n) {
    CpuSnapshot in = random_state(rng);
    Encoding e;
    const bool byte = rng.chance(25);
    e.op_bits = byte ? 8 : std::array{16u, 32u, 64u}[rng.below(3)];
    const bool xadd = rng.chance(40);
    e.opcode = {0x0f, static_cast<uint8_t>((xadd ? 0xc0 : 0xb0) + (byte ? 0 : 1))};
    e.reg = pick_register(rng);
    const bool memory = rng.chance(50);
    // The accumulator is not the base: maybe_equal() changes it.
    e.rm = pick_rm(rng, in, memory, static_cast<uint16_t>((rng.chance(90) ? 1u << e.reg : 0) | (memory ? 1u << kRax : 0)));
    if (byte && rng.chance(30)) e.force_rex = true;
    if (!xadd) maybe_equal(rng, in, e, e.op_bits);
    if (memory && rng.chance(50)) e.prefixes = {0xf0};
    CHECK_LIKE_HOST(diff, encode(e), in);
  }
  CHECK_NO_MISMATCHES(diff);
}

TEST_CASE("atomic: CMPXCHG8B and CMPXCHG16B match the host, #GP when misaligned", "[tcg][atomic]") {
  Differential diff;
  TestRandom rng(0xa71u);
  unsigned faults = 0;
  for (int n = 0; n < 6000; ++n) {
    CpuSnapshot in = random_state(rng);
    const bool wide = rng.chance(50);
    Encoding e;
    e.op_bits = wide ? 64 : 32;
    e.opcode = {0x0f, 0xc7};
    e.reg = 1;
    const unsigned base = pick_register(rng, (1u << kRax) | (1u << kRdx) | (1u << kRbx) | (1u << kRcx));
    e.rm = mem(base);
    // Aligned most of the time; any offset sometimes.
    uint64_t offset = 16 + rng.below(200);
    if (rng.chance(80)) offset &= wide ? ~15ull : ~7ull;
    in.gpr[base] = kDataAddress + offset;
    if (rng.chance(50)) {  // make it compare equal
      uint64_t lo = 0, hi = 0;
      const unsigned half = wide ? 8 : 4;
      for (unsigned b = 0; b < half; ++b) lo |= uint64_t{in.memory[offset + b]} << (8 * b);
      for (unsigned b = 0; b < half; ++b) hi |= uint64_t{in.memory[offset + half + b]} << (8 * b);
      in.gpr[kRax] = wide ? lo : (in.gpr[kRax] & ~0xffffffffull) | lo;
      in.gpr[kRdx] = wide ? hi : (in.gpr[kRdx] & ~0xffffffffull) | hi;
    }
    if (rng.chance(60)) e.prefixes = {0xf0};
    CHECK_LIKE_HOST(diff, encode(e), in);
    if (diff.host().exception) ++faults;
  }
  CHECK_NO_MISMATCHES(diff);
  CHECK(faults > 100);  // misaligned CMPXCHG16B
}

TEST_CASE("atomic: LOCKed updates from two vCPU threads lose nothing", "[tcg][atomic]") {
  // Both CPUs add to one counter 200,000 times: with LOCK XADD, with
  // LOCK CMPXCHG in a retry loop, and with LOCK CMPXCHG16B on a 16-byte
  // counter. A non-atomic read-modify-write loses updates within a few
  // thousand iterations on two cores.
  constexpr uint32_t kIterations = 200000;
  struct Case {
    const char* name;
    Bytes loop;  // runs rcx times, then falls through to the HLT
  };
  // rbx = counter address, rcx = iterations.
  const Case cases[] = {
      {"lock xadd", {0xb8, 1, 0, 0, 0,              // loop: mov eax, 1
                     0xf0, 0x0f, 0xc1, 0x03,        //   lock xadd [rbx], eax
                     0xff, 0xc9,                    //   dec ecx
                     0x75, 0xf3}},                  //   jnz loop
      {"lock cmpxchg", {0x8b, 0x03,                 // loop: mov eax, [rbx]
                        0x8d, 0x50, 0x01,           // retry: lea edx, [rax+1]
                        0xf0, 0x0f, 0xb1, 0x13,     //   lock cmpxchg [rbx], edx
                        0x75, 0xf7,                 //   jnz retry (eax holds the current value)
                        0xff, 0xc9,                 //   dec ecx
                        0x75, 0xf1}},               //   jnz loop
      {"lock cmpxchg16b", {0x48, 0x8b, 0x03,        // loop: mov rax, [rbx]
                           0x48, 0x8b, 0x53, 0x08,  //   mov rdx, [rbx+8]
                           0x49, 0x89, 0xc0,        // retry: mov r8, rax
                           0x49, 0x89, 0xd1,        //   mov r9, rdx
                           0x49, 0x83, 0xc0, 0x01,  //   add r8, 1
                           0x49, 0x83, 0xd1, 0x00,  //   adc r9, 0
                           0x51, 0x53,              //   push rcx; push rbx
                           0x4c, 0x89, 0xc3,        //   mov rbx, r8
                           0x4c, 0x89, 0xc9,        //   mov rcx, r9
                           0x49, 0x89, 0xfa,        //   mov r10, rdi (the counter's address)
                           0xf0, 0x49, 0x0f, 0xc7, 0x0a,  // lock cmpxchg16b [r10]
                           0x5b, 0x59,              //   pop rbx; pop rcx
                           0x75, 0xde,              //   jnz retry
                           0xff, 0xc9,              //   dec ecx
                           0x75, 0xd3}},            //   jnz loop
  };
  for (const Case& c : cases) {
    INFO(c.name);
    CpuFixture fixture;
    const unsigned second = fixture.add_cpu();
    CpuSnapshot in;
    in.memory.assign(64, 0);
    in.gpr[kRbx] = kDataAddress + 16;
    in.gpr[kRdi] = kDataAddress + 16;
    in.gpr[kRcx] = kIterations;
    in.gpr[kRsp] = kDataAddress + 0x8000;
    fixture.load(c.loop, in.memory);
    CpuSnapshot in2 = in;
    in2.gpr[kRsp] = kDataAddress + 0x9000;
    CpuSnapshot out[2];
    std::thread other([&] { out[1] = fixture.execute(second, in2, {CodeMode::Long64, 0}); });
    out[0] = fixture.execute(0, in, {CodeMode::Long64, 0});
    other.join();
    REQUIRE_FALSE(out[0].exception);
    REQUIRE_FALSE(out[1].exception);
    std::vector<uint8_t> memory = fixture.read_memory(32);
    uint64_t low, high;
    std::memcpy(&low, memory.data() + 16, 8);
    std::memcpy(&high, memory.data() + 24, 8);
    CHECK(low == 2 * kIterations);
    CHECK(high == 0);
  }
}
