; ALU-bound loop: 8 instructions per iteration, ITERATIONS iterations.
%include "longmode.inc"
bits 64
bench_main:
  mov rcx, ITERATIONS
  mov rax, 0x12345678
  mov rbx, 0x9abcdef
  xor edx, edx
.loop:
  add rax, rbx
  imul rdx, rax, 13
  xor rbx, rdx
  shl rax, 3
  sub rax, rbx
  lea rbx, [rbx + rax * 2 + 7]
  dec rcx
  jnz .loop
  jmp finish
%include "rom_tail.inc"
