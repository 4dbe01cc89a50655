; Branch-bound loop: a data-dependent branch on a pseudo-random value and a
; call/ret each iteration. Both arms of the branch run the same number of
; instructions, so every iteration executes exactly 12 instructions.
%include "longmode.inc"
bits 64
bench_main:
  mov rcx, ITERATIONS
  mov eax, 12345            ; linear congruential generator state
  xor ebx, ebx
.loop:
  imul eax, eax, 1103515245 ; 1
  add eax, 12345            ; 2
  test eax, 0x10000         ; 3
  jz .even                  ; 4
  add ebx, eax              ; 5 (odd arm)
  xor ebx, 0x55             ; 6
  jmp .joined               ; 7
.even:
  sub ebx, eax              ; 5 (even arm)
  ror ebx, 3                ; 6
  nop                       ; 7
.joined:
  call step                 ; 8 (+ 2 inside: add, ret = 10)
  dec rcx                   ; 11
  jnz .loop                 ; 12
  jmp finish
step:
  add ebx, ecx
  ret
%include "rom_tail.inc"
