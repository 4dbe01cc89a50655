; Memory-bound loop: a read-modify-write walk over 16 MiB (4096 pages) with
; a 64-byte stride, 8 instructions per iteration, ITERATIONS iterations.
%include "longmode.inc"
bits 64
bench_main:
  mov rcx, ITERATIONS
  mov rsi, 0x1000000        ; buffer at 16 MiB
  xor edi, edi              ; offset
  xor eax, eax
.loop:
  mov rdx, [rsi + rdi]
  add rax, rdx
  add rdx, rcx
  mov [rsi + rdi], rdx
  add rdi, 64
  and rdi, 0xffffff         ; wrap at 16 MiB
  dec rcx
  jnz .loop
  jmp finish
%include "rom_tail.inc"
