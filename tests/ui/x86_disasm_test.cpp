// x/i's AT&T text: expected lines are QEMU 7.2's own output (its monitor,
// Capstone) for the same bytes at the same address and code size.
#include <catch2/catch.hpp>

#include <vector>

#include "ui/monitor/x86_disasm.h"

using namespace vireo;

namespace {

std::string lines(std::vector<uint8_t> bytes, unsigned code_bits, uint64_t address) {
  DisassembledInsn insn = disassemble_att(bytes.data(), bytes.size(), code_bits, address);
  return format_disassembly_lines(address, bytes.data(), insn);
}

}  // namespace

TEST_CASE("x/i: 64-bit forms as QEMU prints them", "[monitor]") {
  CHECK(lines({0x66, 0xc7, 0x04, 0x25, 0x00, 0x70, 0x00, 0x00, 0xff, 0x0f}, 64, 0xf011f) ==
        "0x000f011f:  66 c7 04 25 00 70 00 00  movw     $0xfff, 0x7000\n"
        "0x000f0127:  ff 0f\n");
  CHECK(lines({0x48, 0xbb, 0x10, 0x32, 0x54, 0x76, 0x98, 0xba, 0xdc, 0xfe}, 64, 0xf0174) ==
        "0x000f0174:  48 bb 10 32 54 76 98 ba  movabsq  $0xfedcba9876543210, %rbx\n"
        "0x000f017c:  dc fe\n");
  CHECK(lines({0x8e, 0xd8}, 64, 0xf0104) == "0x000f0104:  8e d8                    movl     %eax, %ds\n");
  CHECK(lines({0x0f, 0x00, 0xd8}, 64, 0xf0117) == "0x000f0117:  0f 00 d8                 ltrw     %ax\n");
  CHECK(lines({0x0f, 0x23, 0xc0}, 64, 0xf013e) == "0x000f013e:  0f 23 c0                 movq     %rax, %dr0\n");
  CHECK(lines({0x66, 0x48, 0x0f, 0x6e, 0xc8}, 64, 0xf017e) ==
        "0x000f017e:  66 48 0f 6e c8           movd     %rax, %xmm1\n");
  CHECK(lines({0x66, 0x0f, 0x6c, 0xca}, 64, 0xf0188) == "0x000f0188:  66 0f 6c ca              punpcklqdq %xmm2, %xmm1\n");
  CHECK(lines({0x68, 0xd7, 0x0c, 0x00, 0x00}, 64, 0xf0227) == "0x000f0227:  68 d7 0c 00 00           pushq    $0xcd7\n");
  CHECK(lines({0x9d}, 64, 0xf022c) == "0x000f022c:  9d                       popfq    \n");
  CHECK(lines({0xaf}, 64, 0xf023e) == "0x000f023e:  af                       scasl    (%rdi), %eax\n");
  CHECK(lines({0xeb, 0xfd}, 64, 0xf022e) == "0x000f022e:  eb fd                    jmp      0xf022d\n");
  CHECK(lines({0x00, 0x66, 0xb8}, 64, 0xf00ff) == "0x000f00ff:  00 66 b8                 addb     %ah, -0x48(%rsi)\n");
  CHECK(lines({0xff, 0x9f, 0x66, 0x0d, 0x03, 0x00}, 64, 0xf00ed) ==
        "0x000f00ed:  ff 9f 66 0d 03 00        lcalll   *0x30d66(%rdi)\n");
  // An opcode that is invalid in 64-bit mode is one byte of data.
  CHECK(lines({0xea, 0x00, 0x01}, 64, 0xf00f9) == "0x000f00f9:  ea                       .byte    0xea\n");
}

TEST_CASE("x/i: 16-bit forms as QEMU prints them", "[monitor]") {
  CHECK(lines({0xea, 0x5b, 0xe0, 0x00, 0xf0}, 16, 0xffff0) == "0x000ffff0:  ea 5b e0 00 f0           ljmpw    $0xf000:$0xe05b\n");
  CHECK(lines({0x2e, 0x66, 0x83, 0x3e, 0xc8, 0x61, 0x00}, 16, 0xfe05b) ==
        "0x000fe05b:  2e 66 83 3e c8 61 00     cmpl     $0, %cs:0x61c8\n");
  CHECK(lines({0x0f, 0x85, 0x36, 0xf0}, 16, 0xfe062) == "0x000fe062:  0f 85 36 f0              jne      0xd09c\n");
  CHECK(lines({0x66, 0xe8, 0x10, 0x94, 0xff, 0xff}, 16, 0xfe296) ==
        "0x000fe296:  66 e8 10 94 ff ff        calll    0xf76ac\n");
  CHECK(lines({0x66, 0x83, 0xe1, 0xf0}, 16, 0xfe1ac) == "0x000fe1ac:  66 83 e1 f0              andl     $0xfffffff0, %ecx\n");
  CHECK(lines({0x83, 0xd4, 0xff}, 16, 0xf0146) == "0x000f0146:  83 d4 ff                 adcw     $-1, %sp\n");
  CHECK(lines({0x0a, 0x00}, 16, 0xfe2ba) == "0x000fe2ba:  0a 00                    orb      (%bx, %si), %al\n");
  CHECK(lines({0x06}, 16, 0xfe2cb) == "0x000fe2cb:  06                       pushw    %es\n");
  CHECK(lines({0x0f, 0xb7, 0xd2}, 16, 0xf0085) == "0x000f0085:  0f b7 d2                 movzwl   %dx, %dx\n");
  CHECK(lines({0x91}, 16, 0xf0377) == "0x000f0377:  91                       xchgw    %cx, %ax\n");
  CHECK(lines({0xd1, 0x82, 0xe6, 0xad}, 16, 0xf03c0) == "0x000f03c0:  d1 82 e6 ad              rolw     $1, -0x521a(%bp, %si)\n");
  CHECK(lines({0x3e, 0x2b, 0x8c, 0x68, 0x05}, 16, 0xf03ca) ==
        "0x000f03ca:  3e 2b 8c 68 05           subw     %ds:0x568(%si), %cx\n");
  CHECK(lines({0xca, 0x84, 0x85}, 16, 0xf03aa) == "0x000f03aa:  ca 84 85                 lretw    $0x8584\n");
  CHECK(lines({0x66, 0x90}, 16, 0xf02fc) == "0x000f02fc:  66 90                    nop      \n");
  CHECK(lines({0xae}, 16, 0xf0345) == "0x000f0345:  ae                       scasb    %es:(%di), %al\n");
  CHECK(lines({0x9b}, 16, 0xf0357) == "0x000f0357:  9b                       wait     \n");
  // x87: AT&T's swapped names for DE F0+i/F8+i, size-suffixed memory forms.
  CHECK(lines({0xde, 0xf3}, 16, 0xf0187) == "0x000f0187:  de f3                    fdivp    %st(3)\n");
  CHECK(lines({0xdc, 0xba, 0x98, 0x76}, 16, 0xf0321) == "0x000f0321:  dc ba 98 76              fdivrl   0x7698(%bp, %si)\n");
  CHECK(lines({0xd9, 0x83, 0x1f, 0x19}, 16, 0xf0359) == "0x000f0359:  d9 83 1f 19              flds     0x191f(%bp, %di)\n");
  CHECK(lines({0xd8, 0x9e, 0x05, 0xc1}, 16, 0xf0360) == "0x000f0360:  d8 9e 05 c1              fcomps   -0x3efb(%bp)\n");
}

TEST_CASE("x/i: SALC, RDPMC, UD1 and UD0 as QEMU prints them", "[monitor]") {
  // QEMU 7.2, x/6i over d6 0f b9 c0 0f ff 00 0f 33 in 16-bit code: Capstone
  // takes UD1/UD0 without a ModRM.
  CHECK(lines({0xd6}, 16, 0x1000) == "0x00001000:  d6                       salc     \n");
  CHECK(lines({0x0f, 0xb9, 0xc0}, 16, 0x1001) == "0x00001001:  0f b9                    ud2b     \n");
  CHECK(lines({0x0f, 0x33}, 16, 0x1000) == "0x00001000:  0f 33                    rdpmc    \n");
  CHECK(lines({0x0f, 0xff, 0xc0}, 16, 0x1002) == "0x00001002:  0f ff                    ud0      \n");
}
