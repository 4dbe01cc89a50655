; rom-test: -no-reboot
; rom-test:
; A triple fault: in protected mode with an empty IDT, UD2 raises #UD, its
; delivery #GP, that one's delivery #GP again, which makes #DF, whose
; delivery fails too: the CPU shuts down and the PC resets. With -no-reboot
; the emulator exits (status 0); without it the ROM runs again from the
; reset vector, finds the mark it left in RAM (which a reset keeps) and
; exits through isa-debug-exit.
%include "sys_common.inc"
%include "sys_pm32.inc"
bits 16
org ROM_BASE

MARK        equ 0x600

start:
    mov ax, 0xf000
    mov ds, ax
    xor ax, ax
    mov es, ax
    cmp dword [es:MARK], 0x7e57ab1e
    je after_reset
    mov dword [es:MARK], 0x7e57ab1e
    PRINT16 "first boot"
    call newline16
    ENTER_PM32

after_reset:
    mov dword [es:MARK], 0
    PRINT16 "after reset"
    call newline16
    mov al, 0
    jmp exit16

bits 32
pm32_entry:
    mov ax, KDATA
    mov ds, ax
    mov ss, ax
    mov esp, STACK0
    PRINT32 "empty idt"
    call newline32
    lidt [empty_idt]
    ud2
    PRINT32 "not reached"
    call newline32
    mov al, 0x7d
    jmp exit32

empty_idt: dw 0
           dd 0

PM32_ROUTINES
PM32_GATE_TARGETS
PM32_TABLES
ROM_END
