// The decoder against known encodings (lengths, operands, forms) and
// against random bytes: whatever the guest's code bytes, decoding ends in
// a bounded instruction or an explicit request for more bytes.
#include <catch2/catch.hpp>

#include <random>
#include <vector>

#include "accel/cpu_state.h"
#include "accel/tcg/decoder.h"

using namespace vireo;
using namespace vireo::tcg;

namespace {

Insn decode_ok(std::vector<uint8_t> bytes, unsigned code_bits) {
  Insn insn;
  REQUIRE(decode(bytes.data(), bytes.size(), code_bits, insn) == DecodeStatus::Ok);
  return insn;
}

std::string mnemonic(const Insn& insn) { return opcode_table()[insn.row].mnemonic; }

}  // namespace

TEST_CASE("decoder: RIP-relative LEA in 64-bit mode", "[tcg][decoder]") {
  // lea rbp, [rip - 0x215]  (Linux's startup_64)
  Insn i = decode_ok({0x48, 0x8d, 0x2d, 0xeb, 0xfd, 0xff, 0xff}, 64);
  CHECK(i.length == 7);
  CHECK(mnemonic(i) == "lea");
  CHECK(i.op_bits == 64);
  CHECK(i.reg == kRbp);
  CHECK(i.mem);
  CHECK(i.base == kRipBase);
  CHECK(i.disp == -0x215);
}

TEST_CASE("decoder: the same bytes mean different things in 32- and 64-bit mode", "[tcg][decoder]") {
  // 0x48 is DEC EAX outside 64-bit mode and a REX.W prefix inside it.
  Insn dec = decode_ok({0x48}, 32);
  CHECK(mnemonic(dec) == "dec");
  CHECK(dec.length == 1);
  Insn add = decode_ok({0x48, 0x01, 0xd8}, 64);  // add rax, rbx
  CHECK(mnemonic(add) == "add");
  CHECK(add.op_bits == 64);
  CHECK(add.rm == kRax);
  CHECK(add.reg == kRbx);
}

TEST_CASE("decoder: byte registers without REX are AH..BH, with REX SPL..DIL", "[tcg][decoder]") {
  Insn ah = decode_ok({0x88, 0xe0}, 64);          // mov al, ah
  CHECK(ah.reg == 1);                             // AH: byte 1 of RAX
  CHECK(ah.rm == 0);                              // AL
  Insn spl = decode_ok({0x40, 0x88, 0xe0}, 64);   // mov al, spl
  CHECK(spl.reg == kRsp * 8);
}

TEST_CASE("decoder: 16-bit addressing forms and SS default for BP", "[tcg][decoder]") {
  Insn i = decode_ok({0x8b, 0x46, 0x04}, 16);  // mov ax, [bp+4]
  CHECK(i.length == 3);
  CHECK(i.addr_bits == 16);
  CHECK(i.base == kRbp);
  CHECK(i.seg == kSs);
  CHECK(i.disp == 4);
  Insn moffs = decode_ok({0x26, 0xa0, 0x34, 0x12}, 16);  // mov al, es:[0x1234]
  CHECK(moffs.length == 4);
  CHECK(moffs.imm == 0x1234);
  CHECK(moffs.seg == kEs);
}

TEST_CASE("decoder: SIB without base, immediates, operand-size prefix", "[tcg][decoder]") {
  // mov dword [rcx*4 + 0x1000], 0x11223344
  Insn i = decode_ok({0xc7, 0x04, 0x8d, 0x00, 0x10, 0x00, 0x00, 0x44, 0x33, 0x22, 0x11}, 64);
  CHECK(i.length == 11);
  CHECK(i.base == kNoReg);
  CHECK(i.index == kRcx);
  CHECK(i.scale == 2);
  CHECK(i.disp == 0x1000);
  CHECK(i.imm == 0x11223344);
  Insn w = decode_ok({0x66, 0x83, 0xc0, 0xff}, 64);  // add ax, -1
  CHECK(w.op_bits == 16);
  CHECK(w.imm == ~0ull);
  Insn imm64 = decode_ok({0x48, 0xb8, 1, 2, 3, 4, 5, 6, 7, 8}, 64);  // mov rax, imm64
  CHECK(imm64.length == 10);
  CHECK(imm64.imm == 0x0807060504030201ull);
}

TEST_CASE("decoder: far jump pointer in real mode", "[tcg][decoder]") {
  Insn i = decode_ok({0xea, 0x5b, 0xe0, 0x00, 0xf0}, 16);  // jmp f000:e05b
  CHECK(i.length == 5);
  CHECK(i.imm == 0xe05b);
  CHECK(i.imm2 == 0xf000);
}

TEST_CASE("decoder: truncated input asks for more bytes", "[tcg][decoder]") {
  std::vector<uint8_t> bytes = {0x48, 0xb8, 1, 2, 3};  // mov rax, imm64 cut short
  Insn insn;
  CHECK(decode(bytes.data(), bytes.size(), 64, insn) == DecodeStatus::NeedMoreBytes);
}

TEST_CASE("decoder: an instruction longer than 15 bytes is refused", "[tcg][decoder]") {
  // Fourteen operand-size prefixes then add ax, imm16: 18 bytes.
  std::vector<uint8_t> bytes(14, 0x66);
  bytes.insert(bytes.end(), {0x05, 0x34, 0x12});
  Insn insn;
  REQUIRE(decode(bytes.data(), bytes.size(), 32, insn) == DecodeStatus::Ok);
  CHECK(insn.length == 15);
  CHECK(disassemble(insn) == "(too long)");
}

TEST_CASE("decoder: LOCK on a register form or a non-lockable instruction is #UD", "[tcg][decoder]") {
  Insn reg_form = decode_ok({0xf0, 0x01, 0xd8}, 64);  // lock add eax, ebx
  CHECK(disassemble(reg_form) == "(bad)");
  Insn mov = decode_ok({0xf0, 0x89, 0x03}, 64);  // lock mov [rbx], eax
  CHECK(disassemble(mov) == "(bad)");
  Insn add = decode_ok({0xf0, 0x01, 0x03}, 64);  // lock add [rbx], eax
  CHECK(mnemonic(add) == "add");
  CHECK((add.prefix & kPrefixLock));
}

TEST_CASE("decoder: random bytes never overrun and lengths stay within 1..15", "[tcg][decoder]") {
  std::mt19937_64 rng(20261125);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> length(1, 20);
  for (unsigned code_bits : {16u, 32u, 64u}) {
    for (int n = 0; n < 200000; ++n) {
      std::vector<uint8_t> bytes(static_cast<size_t>(length(rng)));
      for (uint8_t& b : bytes) b = static_cast<uint8_t>(byte(rng));
      Insn insn;
      DecodeStatus status = decode(bytes.data(), bytes.size(), code_bits, insn);
      if (status == DecodeStatus::Ok) {
        REQUIRE(insn.length >= 1);
        REQUIRE(insn.length <= 15);
        REQUIRE(insn.length <= bytes.size());
        REQUIRE(insn.exec != nullptr);
      }
    }
  }
}

TEST_CASE("decoder: no two rows of the table claim the same encoding", "[tcg][decoder]") {
  // Two families adding the same opcode would silently shadow one another:
  // the decoder takes the first row that matches.
  const std::vector<OpcodeRow>& table = opcode_table();
  for (size_t a = 0; a < table.size(); ++a) {
    for (size_t b = a + 1; b < table.size(); ++b) {
      const OpcodeRow& x = table[a];
      const OpcodeRow& y = table[b];
      if (x.code != y.code || x.prefix != y.prefix || x.ext != y.ext || x.rm != y.rm) continue;
      // Rows may still differ in the ModRM form they take (memory-only vs
      // register-only operands) or in the modes they are valid in.
      bool x_mem = std::string(x.operands).find('M') != std::string::npos;
      bool y_mem = std::string(y.operands).find('M') != std::string::npos;
      bool x_reg = std::string(x.operands).find_first_of("RUN") != std::string::npos || std::string(x.operands).find("STi") != std::string::npos;
      bool y_reg = std::string(y.operands).find_first_of("RUN") != std::string::npos || std::string(y.operands).find("STi") != std::string::npos;
      bool modes_differ = ((x.attrs ^ y.attrs) & (kInvalid64 | kOnly64)) != 0;
      if ((x_mem && y_reg) || (x_reg && y_mem) || modes_differ) continue;
      INFO("rows " << a << " (" << x.mnemonic << " " << x.operands << ") and " << b << " ("
                   << y.mnemonic << " " << y.operands << ") share opcode " << std::hex << x.code);
      CHECK(false);
    }
  }
}

TEST_CASE("decoder: UD1 and UD0 take a ModRM, RDPMC decodes", "[tcg][decoder]") {
  // ud1 eax, [eax + 0x12345678]: opcode, ModRM, disp32.
  Insn ud1 = decode_ok({0x0f, 0xb9, 0x80, 0x78, 0x56, 0x34, 0x12}, 32);
  CHECK(mnemonic(ud1) == "ud1");
  CHECK(ud1.length == 7);
  Insn ud0 = decode_ok({0x0f, 0xff, 0x04, 0x24}, 64);  // ud0 eax, [rsp]: ModRM, SIB
  CHECK(mnemonic(ud0) == "ud0");
  CHECK(ud0.length == 4);
  Insn rdpmc = decode_ok({0x0f, 0x33, 0x90}, 16);  // rdpmc; nop
  CHECK(mnemonic(rdpmc) == "rdpmc");
  CHECK(rdpmc.length == 2);
}
