; rom-test:
; Self-modifying code. A routine is copied into RAM and far-called; then
; its immediate operand is rewritten from outside and it is called again,
; which must run the new byte (the decoded block for that page is stale).
; Then a routine rewrites the very next instruction it is about to execute:
; x86 requires the new instruction to run (SDM vol. 3 §8.1.3), so the
; interpreter must leave the block it is in after the store.
%include "sys_common.inc"
bits 16
org ROM_BASE

CODE_SEG    equ 0x1000              ; the routines run at 0x1000:0 (0x10000)

start:
    mov ax, 0xf000
    mov ds, ax
    mov ax, CODE_SEG
    mov es, ax
    xor ax, ax
    mov ss, ax
    mov sp, 0x7000

    mov si, R(routine)
    mov cx, routine_end - routine
    call copy_to_ram
    call CODE_SEG:0
    PRINT16 "first "
    HEX16 eax, 2
    call newline16

    mov byte [es:1], 0x22           ; the immediate of `mov al, imm8`
    call CODE_SEG:0
    PRINT16 "patched from outside "
    HEX16 eax, 2
    call newline16

    mov si, R(patches_itself)
    mov cx, patches_itself_end - patches_itself
    call copy_to_ram
    call CODE_SEG:0
    PRINT16 "patched just ahead "
    HEX16 eax, 2
    call newline16
    ; Once more: the block decoded the first time is stale now.
    call CODE_SEG:0
    PRINT16 "again "
    HEX16 eax, 2
    call newline16
    mov al, 0
    jmp exit16

copy_to_ram:                        ; DS:SI -> ES:0, CX bytes
    xor di, di
.next:
    mov al, [si]
    mov [es:di], al
    inc si
    inc di
    dec cx
    jnz .next
    ret

routine:
    mov al, 0x11
    retf
routine_end:

patches_itself:
    mov al, 0
    mov byte [cs:(.target - patches_itself) + 1], 0x33
.target:
    mov al, 0x44
    retf
patches_itself_end:

IO_ROUTINES16
ROM_END
