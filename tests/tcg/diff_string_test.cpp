// String instructions (exec/string.cpp) against the host: MOVS, STOS, LODS,
// CMPS and SCAS in every element size, without a prefix and with REP,
// REPE and REPNE, both directions, 64- and 32-bit address sizes, source
// segment overrides, overlapping source and destination, counts past the
// interpreter's slice, and runs into a missing page, where the registers
// must say how far the instruction got. INS/OUTS: #GP at CPL 3 like the
// host, and at CPL 0 against a device on the port bus.
#include <catch2/catch.hpp>

#include <chrono>

#include "tests/tcg/differential.h"
#include "tests/tcg/int_test_support.h"

using namespace vireo;
using namespace vireo::tcg;
using namespace vireo::tcg::test;

namespace {

constexpr uint8_t kMovs = 0xa4, kCmps = 0xa6, kStos = 0xaa, kLods = 0xac, kScas = 0xae;

struct StringCase {
  uint8_t opcode;    // byte form; +1 for the others
  unsigned size;     // element bytes
  uint8_t rep;       // 0, 0xf3 or 0xf2
  bool address32;
  bool down;         // DF
};

Bytes encode_string(const StringCase& c, uint8_t segment_override) {
  Bytes code;
  if (c.size == 2) code.push_back(0x66);
  if (c.address32) code.push_back(0x67);
  if (segment_override) code.push_back(segment_override);
  if (c.rep) code.push_back(c.rep);
  if (c.size == 8) code.push_back(0x48);
  code.push_back(static_cast<uint8_t>(c.opcode + (c.size == 1 ? 0 : 1)));
  return code;
}

}  // namespace

TEST_CASE("string: MOVS, STOS, LODS, CMPS and SCAS match the host", "[tcg][string]") {
  Differential diff;
  TestRandom rng(0x57u);
  static constexpr uint8_t kOps[] = {kMovs, kCmps, kStos, kLods, kScas};
  static constexpr uint8_t kReps[] = {0, 0xf3, 0xf2};
  // DS, ES, CS, SS and GS are flat on both sides; the host's FS is its TLS.
  static constexpr uint8_t kOverrides[] = {0, 0x3e, 0x26, 0x2e, 0x36, 0x65};
  uint64_t faults = 0;
  for (int n = 0; n < 20000; ++n) {
    StringCase c{kOps[rng.below(5)], 1u << rng.below(4), kReps[rng.below(3)], rng.chance(25), rng.chance(40)};
    CpuSnapshot in = random_state(rng, 0x2000, false);
    in.rflags = (in.rflags & ~0x400ull) | (c.down ? 0x400 : 0);
    // Counts: mostly short; 0 and 1 often; sometimes whatever RCX held
    // (with a 32-bit address size only ECX counts).
    uint64_t count = rng.below(48);
    if (rng.chance(10)) count = rng.below(2);
    if (rng.chance(3)) count = rng.next();
    in.gpr[kRcx] = c.address32 ? (rng.next() & ~0xffffffffull) | (count & 0xffffffff) : count;
    // Source and destination inside the image, often overlapping; in the
    // direction of travel they may run off the window into a missing page.
    const uint64_t region = kDataAddress + 0x400 + rng.below(0x1800);
    uint64_t si = region + rng.below(64), di = region + rng.below(64);
    if (rng.chance(10)) {  // start near the edge the instruction moves toward
      const uint64_t edge_room = rng.below(40);
      si = c.down ? kDataAddress + edge_room : kDataAddress + kDataSize - edge_room;
      di = c.down ? kDataAddress + rng.below(40) : kDataAddress + kDataSize - rng.below(40);
      if (rng.chance(50)) std::swap(si, di);
      in.memory.resize(kDataSize);
    }
    const uint64_t upper = c.address32 ? rng.next() & ~0xffffffffull : 0;  // ignored with 32-bit addresses
    in.gpr[kRsi] = upper | si;
    in.gpr[kRdi] = (c.address32 ? rng.next() & ~0xffffffffull : 0) | di;
    if ((c.opcode == kScas || c.opcode == kCmps) && rng.chance(50)) {
      // Runs of equal elements, so REPE goes on for a while.
      for (size_t b = 0x400; b < 0x1c80; ++b) in.memory[b] = static_cast<uint8_t>(rng.chance(90) ? 0x5a : rng.next());
      in.gpr[kRax] = 0x5a5a5a5a5a5a5a5aull;
    }
    const uint8_t override = (c.opcode == kMovs || c.opcode == kCmps || c.opcode == kLods)
                                 ? kOverrides[rng.below(std::size(kOverrides))] : 0;
    INFO("count " << count);
    CHECK_LIKE_HOST(diff, encode_string(c, override), in);
    if (diff.host().exception) ++faults;
  }
  CHECK_NO_MISMATCHES(diff);
  CHECK(faults > 200);
}

TEST_CASE("string: long REP MOVS and STOS, past the slice and across pages, match the host", "[tcg][string]") {
  Differential diff;
  TestRandom rng(0x58u);
  for (int n = 0; n < 300; ++n) {
    StringCase c{rng.chance(70) ? kMovs : kStos, 1u << rng.below(4), 0xf3, false, rng.chance(25)};
    CpuSnapshot in = random_state(rng, kDataSize, false);
    in.rflags = (in.rflags & ~0x400ull) | (c.down ? 0x400 : 0);
    const uint64_t bytes = 0x100 + rng.below(0x7000);
    const uint64_t count = bytes / c.size;
    in.gpr[kRcx] = count;
    uint64_t si = kDataAddress + rng.below(0x8000), di = kDataAddress + rng.below(0x8000);
    switch (rng.below(4)) {
      case 0: di = si + rng.below(64); break;  // destination just ahead: the copy repeats a pattern
      case 1: si = di + rng.below(64); break;  // destination just behind
      default: break;
    }
    if (c.down) {  // moving down: start at the high end
      si += bytes;
      di += bytes;
    }
    if (rng.chance(15)) di += 0x8000;  // runs into the missing page after the window
    in.gpr[kRsi] = si;
    in.gpr[kRdi] = di;
    INFO("count " << count << " size " << c.size);
    CHECK_LIKE_HOST(diff, encode_string(c, 0), in);
  }
  CHECK_NO_MISMATCHES(diff);
}

TEST_CASE("string: REP STOS and MOVS that overwrite the code after them match the host", "[tcg][string]") {
  // The instructions after the string instruction are replaced by NOPs
  // (or by a copy of an INC from the window) before they run: the
  // software CPU must notice its block went stale, as the host does.
  Differential diff;
  TestRandom rng(0x5au);
  for (int n = 0; n < 200; ++n) {
    CpuSnapshot in = random_state(rng, 0x40);
    const bool stos = rng.chance(50);
    const unsigned size = 1u << rng.below(2);  // bytes or words
    // rep stos/movs; inc rax; inc rbx; inc rcx... then 16 NOPs
    Bytes code;
    if (size == 2) code.push_back(0x66);
    code.insert(code.end(), {0xf3, static_cast<uint8_t>((stos ? 0xaa : 0xa4) + (size == 1 ? 0 : 1))});
    const size_t target = code.size();
    for (uint8_t reg = 0; reg < 4; ++reg) code.insert(code.end(), {0x48, 0xff, static_cast<uint8_t>(0xc0 + reg)});
    code.insert(code.end(), 16, 0x90);
    in.gpr[kRdi] = kCodeAddress + target + rng.below(4);
    in.gpr[kRcx] = (1 + rng.below(12)) / size;
    in.gpr[kRax] = 0x9090909090909090ull;
    in.gpr[kRsi] = kDataAddress;
    // Half-overwritten code can become anything, RET included: its stack
    // is inside the image.
    in.gpr[kRsp] = kDataAddress + 0x20;
    for (size_t b = 0; b < in.memory.size(); b += 3) {  // inc rdx over and over, for MOVS
      in.memory[b] = 0x48;
      if (b + 1 < in.memory.size()) in.memory[b + 1] = 0xff;
      if (b + 2 < in.memory.size()) in.memory[b + 2] = 0xc2;
    }
    CHECK_LIKE_HOST(diff, code, in);
  }
  CHECK_NO_MISMATCHES(diff);
}

TEST_CASE("string: INS and OUTS raise #GP at CPL 3 like the host", "[tcg][string]") {
  Differential diff;
  TestRandom rng(0x59u);
  for (uint8_t opcode : {0x6c, 0x6d, 0x6e, 0x6f}) {
    for (uint8_t rep : {0, 0xf3}) {
      CpuSnapshot in = random_state(rng, 0x100);
      in.gpr[kRsi] = in.gpr[kRdi] = kDataAddress + 0x40;
      in.gpr[kRcx] = 4;
      Bytes code = rep ? Bytes{rep, opcode} : Bytes{opcode};
      CHECK_LIKE_HOST(diff, code, in);
      REQUIRE(diff.guest().exception);
      CHECK(diff.guest().exception->vector == kGeneralProtection);
    }
  }
  CHECK_NO_MISMATCHES(diff);
}

namespace {

// A port that reads as a counting sequence and records what is written.
class RecordingPort final : public BusDevice {
 public:
  uint64_t read(uint64_t, unsigned size) override {
    uint64_t v = 0;
    for (unsigned b = 0; b < size; ++b) v |= uint64_t{next_++} << (8 * b);
    return v;
  }
  void write(uint64_t, unsigned size, uint64_t value) override {
    for (unsigned b = 0; b < size; ++b) written.push_back(static_cast<uint8_t>(value >> (8 * b)));
  }
  std::vector<uint8_t> written;

 private:
  uint8_t next_ = 1;
};

}  // namespace

TEST_CASE("string: REP INS and REP OUTS move data through a port at CPL 0", "[tcg][string]") {
  CpuFixture fixture;
  RecordingPort port;
  fixture.pio().add(0x1234, 4, &port, "recording port");
  CpuSnapshot in;
  in.memory.assign(0x200, 0);
  in.gpr[kRdx] = 0x1234;

  SECTION("rep insw forward fills memory in order") {
    in.gpr[kRdi] = kDataAddress + 0x10;
    in.gpr[kRcx] = 5;
    CpuSnapshot out = fixture.run(Bytes{0x66, 0xf3, 0x6d}, in, {CodeMode::Long64, 0});
    REQUIRE_FALSE(out.exception);
    CHECK(out.gpr[kRcx] == 0);
    CHECK(out.gpr[kRdi] == kDataAddress + 0x10 + 10);
    for (unsigned b = 0; b < 10; ++b) CHECK(out.memory[0x10 + b] == b + 1);
    CHECK(out.memory[0x1a] == 0);
  }
  SECTION("rep outsd backward sends elements from the top down") {
    for (unsigned b = 0; b < 16; ++b) in.memory[0x40 + b] = static_cast<uint8_t>(0xa0 + b);
    in.gpr[kRsi] = kDataAddress + 0x4c;
    in.gpr[kRcx] = 4;
    in.rflags |= 0x400;  // DF
    CpuSnapshot out = fixture.run(Bytes{0xf3, 0x6f}, in, {CodeMode::Long64, 0});
    REQUIRE_FALSE(out.exception);
    CHECK(out.gpr[kRsi] == kDataAddress + 0x3c);
    const std::vector<uint8_t> expected = {0xac, 0xad, 0xae, 0xaf, 0xa8, 0xa9, 0xaa, 0xab,
                                           0xa4, 0xa5, 0xa6, 0xa7, 0xa0, 0xa1, 0xa2, 0xa3};
    CHECK(port.written == expected);
  }
  SECTION("rep insb into a missing page stops there, without reading the port for it") {
    in.gpr[kRdi] = kDataAddress + kDataSize - 3;
    in.gpr[kRcx] = 8;
    CpuSnapshot out = fixture.run(Bytes{0xf3, 0x6c}, in, {CodeMode::Long64, 0});
    REQUIRE(out.exception);
    CHECK(out.exception->vector == kPageFault);
    CHECK(out.gpr[kRcx] == 5);
    CHECK(out.gpr[kRdi] == kDataAddress + kDataSize);
    CHECK(port.read(0, 1) == 4);  // three bytes were read by the instruction
  }
}

// Not run by default (tcg_tests '[bench]'): guest bytes per second of long
// REP MOVS/STOS on RAM, for measuring changes to the string handlers.
TEST_CASE("string: REP MOVS and STOS throughput", "[.][bench]") {
  CpuFixture fixture;
  struct Bench {
    const char* name;
    Bytes body;  // rep movs/stos with rsi/rdi/rcx set by the loop
    uint32_t count;
    unsigned element;
  };
  const Bench benches[] = {
      {"rep movsb", {0xf3, 0xa4}, 0x7000, 1}, {"rep movsq", {0xf3, 0x48, 0xa5}, 0x7000 / 8, 8},
      {"rep stosb", {0xf3, 0xaa}, 0x7000, 1}, {"rep stosq", {0xf3, 0x48, 0xab}, 0x7000 / 8, 8},
      {"rep movsb (overlapping, destination ahead)", {0xf3, 0xa4}, 0x7000, 1},
  };
  for (const Bench& b : benches) {
    constexpr uint32_t kRounds = 2000;
    const bool overlap = std::string(b.name).find("overlapping") != std::string::npos;
    const uint32_t src = static_cast<uint32_t>(kDataAddress), dst = static_cast<uint32_t>(kDataAddress + (overlap ? 0x10 : 0x8000));
    Bytes code = {0xba};  // mov edx, rounds
    for (int i = 0; i < 4; ++i) code.push_back(static_cast<uint8_t>(kRounds >> (8 * i)));
    const size_t loop = code.size();
    code.push_back(0xbe);  // mov esi, src
    for (int i = 0; i < 4; ++i) code.push_back(static_cast<uint8_t>(src >> (8 * i)));
    code.push_back(0xbf);  // mov edi, dst
    for (int i = 0; i < 4; ++i) code.push_back(static_cast<uint8_t>(dst >> (8 * i)));
    code.push_back(0xb9);  // mov ecx, count
    for (int i = 0; i < 4; ++i) code.push_back(static_cast<uint8_t>(b.count >> (8 * i)));
    code.insert(code.end(), b.body.begin(), b.body.end());
    code.insert(code.end(), {0xff, 0xca, 0x75});  // dec edx; jnz loop
    code.push_back(static_cast<uint8_t>(loop - (code.size() + 1)));
    CpuSnapshot in;
    in.memory.assign(kDataSize, 0x11);
    in.gpr[kRsp] = kDataAddress + kDataSize - 0x100;
    fixture.load(code, in.memory);
    auto start = std::chrono::steady_clock::now();
    CpuSnapshot out = fixture.execute(0, in, {CodeMode::Long64, 0});
    double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    REQUIRE_FALSE(out.exception);
    const double bytes = double(kRounds) * b.count * b.element;
    WARN(b.name << ": " << bytes / seconds / 1e6 << " MB/s");
  }
}
