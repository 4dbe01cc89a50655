; A 64 KiB -bios ROM that prints the 128 CMOS bytes on COM1 as hex, 16 a
; line, then leaves through isa-debug-exit (iobase=0xf4, status 1).
; It is how tests/machine/pc_cmos_test.cpp's expected bytes were read from
; QEMU, and the integration test runs it on both emulators:
;   nasm -f bin -o cmos_dump.bin cmos_dump.asm
;   qemu-system-x86_64 -nodefaults -accel tcg -m 128M -bios cmos_dump.bin \
;     -display none -serial stdio -device isa-debug-exit,iobase=0xf4
bits 16
org 0

start:
  cli
  xor ax, ax
  mov ss, ax
  mov sp, 0x7000
  xor bx, bx
.next_byte:
  mov al, bl
  out 0x70, al            ; CMOS index
  in al, 0x71
  call print_hex
  inc bx
  mov al, ' '
  test bl, 15
  jnz .separator
  mov al, 10              ; end of a line of 16
.separator:
  call putc
  cmp bx, 128
  jb .next_byte
  mov al, 0
  out 0xf4, al            ; isa-debug-exit
  hlt

print_hex:                ; AL as two hex digits
  push ax
  shr al, 4
  call print_nibble
  pop ax
  and al, 15
print_nibble:
  add al, '0'
  cmp al, '9'
  jbe putc
  add al, 'a' - '9' - 1
putc:                     ; COM1's THR; QEMU and vireo send at once
  mov dx, 0x3f8
  out dx, al
  ret

  times 0xfff0 - ($ - $$) db 0
reset_vector:             ; F000:FFF0
  jmp 0xf000:start
  times 0x10000 - ($ - $$) db 0
