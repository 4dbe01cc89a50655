; long_mode_regs: enters 64-bit mode the way a loader does (a GDT and
; identity-mapped page tables in low RAM, CR4.PAE, EFER.LME, CR0.PE|PG, a
; far jump to a 64-bit code segment), loads a TSS, an IDT, the data
; segments (FS with a null selector; GS keeps its real-mode cache), debug
; registers, the x87 stack, MXCSR, two XMM registers, every general
; register with its own value and the arithmetic flags, then halts with
; interrupts off. The monitor test reads "info registers" there under
; vireo and QEMU and compares them line by line.

%include "common.inc"
cpu x64

GDT_BASE        equ 0x500
PML4            equ 0x1000          ; PML4, PDPT, PD: identity-map 0-2 MiB
TSS_BASE        equ 0x5000
IDT_BASE        equ 0x6000
SCRATCH         equ 0x7000
STACK_TOP       equ 0x9000
ROM_LINEAR      equ 0xf0000

start:
    cli
    cld
    xor ax, ax
    mov es, ax
    mov ss, ax
    mov sp, 0x7c00
    mov ax, cs
    mov ds, ax
    ; The GDT goes to RAM: the CPU sets accessed and busy bits in it.
    mov si, gdt
    mov di, GDT_BASE
    mov cx, gdt_end - gdt
    rep movsb
    ; Page tables: one 2 MiB page at 0.
    mov di, PML4
    mov cx, 0x1800
    xor ax, ax
    rep stosw
    mov dword [es:PML4], PML4 + 0x1003
    mov dword [es:PML4 + 0x1000], PML4 + 0x2003
    mov dword [es:PML4 + 0x2000], 0x83
    o32 lgdt [gdtr]
    mov eax, cr4
    or eax, 0x220                   ; PAE, OSFXSR
    mov cr4, eax
    mov eax, PML4
    mov cr3, eax
    mov ecx, 0xc0000080             ; EFER
    rdmsr
    or eax, 0x101                   ; LME, SCE
    wrmsr
    mov eax, cr0
    and eax, 0x9ffffffb             ; caches on (CD, NW off), no x87 emulation
    or eax, 0x80000003              ; PG, MP, PE
    mov cr0, eax
    jmp dword 0x08:(ROM_LINEAR + long_entry)

bits 64
long_entry:
    mov ax, 0x10
    mov ds, ax
    mov es, ax
    mov ss, ax
    xor eax, eax
    mov fs, ax                      ; a null selector
    mov rsp, STACK_TOP
    mov ax, 0x18
    ltr ax
    mov rax, IDT_BASE
    mov word [SCRATCH], 0xfff
    mov [SCRATCH + 2], rax
    lidt [SCRATCH]
    mov rax, 0x1000
    mov dr0, rax
    mov rax, 0x2008
    mov dr1, rax
    mov rax, 0x7000000
    mov dr3, rax
    fninit
    fld1
    fldpi
    mov dword [SCRATCH], 0x3f80     ; round toward zero, all masked
    ldmxcsr [SCRATCH]
    mov rax, 0x0123456789abcdef
    mov rbx, 0xfedcba9876543210
    movq xmm1, rax
    movq xmm2, rbx
    punpcklqdq xmm1, xmm2
    movq xmm7, rbx
    mov rax, 0x1111111111111111
    mov rbx, 0x2222222222222222
    mov rcx, 0x3333333333333333
    mov rdx, 0x4444444444444444
    mov rsi, 0x5555555555555555
    mov rdi, 0x6666666666666666
    mov rbp, 0x7777777777777777
    mov r8, 0x8888888888888888
    mov r9, 0x9999999999999999
    mov r10, 0xaaaaaaaaaaaaaaaa
    mov r11, 0xbbbbbbbbbbbbbbbb
    mov r12, 0xcccccccccccccccc
    mov r13, 0xdddddddddddddddd
    mov r14, 0xeeeeeeeeeeeeeeee
    mov r15, 0x0f0f0f0f0f0f0f0f
    push 0xcd7                      ; CF PF AF ZF SF DF OF, IF off
    popfq
halt:
    hlt
    jmp halt

bits 16
align 8
gdt:
    dq 0
    dq 0x00af9b000000ffff           ; 0x08: 64-bit code, accessed
    dq 0x00cf93000000ffff           ; 0x10: flat data, accessed
    dw 0x67, TSS_BASE, 0x8900, 0    ; 0x18: 64-bit TSS, available
    dq 0
gdt_end:
gdtr:
    dw gdt_end - gdt - 1
    dd GDT_BASE

rom_epilogue
