; rom-test:
; Long mode: entering it (PAE + EFER.LME + CR0.PG, then a far jump to a
; 64-bit segment), the 64-bit IDT (16-byte gates, the SS:RSP frame, RSP
; aligned to 16, IST stacks, RSP0 on a privilege change with a null SS),
; IRETQ to ring 3 and back, a 64-bit call gate and RETFQ, #PF error codes
; including NX, a #PF while delivering a #PF made #DF on an IST stack,
; compatibility mode (in and out by far jumps and returns, interrupts from
; it), null SS at CPL 0, CR8, FS base through its MSR, and leaving long
; mode again.
%include "sys_common.inc"
%include "sys_pm32.inc"
bits 16
org ROM_BASE

; Selectors (the first five as sys_pm32.inc's, for ENTER_PM32).
KCODE64     equ 0x28
UCODE32     equ 0x33
UDATA64     equ 0x3b
UCODE64     equ 0x43
TSS64       equ 0x48                ; 16 bytes
GATE64      equ 0x5b                ; 16 bytes: DPL 3 call gate to gate64_target
ABSENT64    equ 0x68                ; data, not present
GDT64_LIMIT equ 0x6f

PML4        equ 0x10000
PDPT        equ 0x11000
PD          equ 0x12000
PT          equ 0x13000
ABSENT      equ 0x50000
READONLY    equ 0x51000
KERNEL_ONLY equ 0x52000
NX_PAGE     equ 0x56000
IST1_TOP    equ 0xa000
IST2_TOP    equ 0x9800

%macro EXPECT64 1
    mov qword [RESUME], %1
%endmacro

%macro GATE64_DESC 4                ; offset label, selector, access byte, IST
    dw ((%1) - $$ + ROM_BASE) & 0xffff
    dw (%2)
    db (%4)
    db (%3)
    dw (((%1) - $$ + ROM_BASE) >> 16) & 0xffff
    dd 0
    dd 0
%endmacro


start:
    mov ax, 0xf000
    mov ds, ax
    ENTER_PM32

bits 32
pm32_entry:
    mov ax, KDATA
    mov ds, ax
    mov es, ax
    mov fs, ax
    mov gs, ax
    mov ss, ax
    mov esp, STACK0
    PRINT32 "pm32"
    call newline32

    ; Identity-mapped page tables for the first 4 MiB, user and writable;
    ; a PT for 0-2 MiB with the special pages, a 2 MiB page above it.
    mov dword [PML4], PDPT | 7
    mov dword [PDPT], PD | 7
    mov dword [PD], PT | 7
    mov dword [PD + 8], 0x200000 | 0x87
    mov edi, PT
    mov eax, 7
.fill:
    mov [edi], eax
    add edi, 8
    add eax, 0x1000
    cmp edi, PT + 0x1000
    jb .fill
    mov dword [PT + (ABSENT >> 12) * 8], ABSENT | 6
    mov dword [PT + (READONLY >> 12) * 8], READONLY | 5
    mov dword [PT + (KERNEL_ONLY >> 12) * 8], KERNEL_ONLY | 3
    mov dword [PT + (NX_PAGE >> 12) * 8 + 4], 0x80000000
    mov byte [NX_PAGE], 0xc3        ; ret

    ; A 64-bit TSS: RSP0, IST1 (#DF), IST2 (vector 0x31), I/O bitmap.
    call setup_tss32                ; the I/O bitmap; RSP0 = STACK0_TSS
    mov dword [TSS_RAM + 4], STACK0_TSS
    mov dword [TSS_RAM + 8], 0
    mov dword [TSS_RAM + 0x24], IST1_TOP
    mov dword [TSS_RAM + 0x28], 0
    mov dword [TSS_RAM + 0x2c], IST2_TOP
    mov dword [TSS_RAM + 0x30], 0

    ; (Paging with LME but without PAE raises #GP(0): a unit test, as QEMU
    ; 7.2 ignores the write instead.)
    mov ecx, 0xc0000080
    rdmsr
    or eax, 0x900                   ; LME, NXE
    wrmsr
    mov eax, PML4
    mov cr3, eax
    mov eax, cr4
    or eax, 0x20                    ; PAE
    mov cr4, eax
    mov eax, cr0
    or eax, 0x80010000              ; PG, WP
    mov cr0, eax
    ; IA-32e mode is active; this is still 32-bit code: compatibility mode.
    mov ecx, 0xc0000080
    rdmsr
    PRINT32 "efer "
    HEX32 eax, 8
    call newline32
    lidt [idt64_ptr]
    jmp KCODE64:long64

bits 64
long64:
    mov rsp, STACK0
    PRINT64 "long mode cs "
    mov eax, cs
    HEX64 rax, 4
    call newline64
    sgdt [SCRATCH]
    PRINT64 "sgdt "
    HEX64 [SCRATCH], 4
    mov al, ' '
    call putc64
    HEX64 [SCRATCH + 2], 16
    call newline64
    PRINT64 "tss "
    HEX64 [GDT_RAM + TSS64 + 4], 8
    mov ax, TSS64
    ltr ax
    mov al, ' '
    call putc64
    HEX64 [GDT_RAM + TSS64 + 4], 8
    PRINT64 " lar "
    mov eax, 0x11111111
    lar eax, [rel tss_selector]
    HEX64 rax, 8
    mov ebx, GATE64
    lar edx, bx
    mov al, ' '
    call putc64
    HEX64 rdx, 8
    mov edx, 0x22222222
    lsl edx, bx                     ; call gates have no limit: ZF = 0
    mov al, ' '
    call putc64
    HEX64 rdx, 8
    call newline64

    ; --- Interrupts at ring 0 ----------------------------------------------
    mov rsp, STACK0 - 8             ; misaligned: delivery aligns to 16
    int 0x30
    mov rsp, STACK0
    int 0x31                        ; IST2
    EXPECT64 .i2
    ud2                             ; #UD
.i2:
    EXPECT64 .i3
    db 0xce                         ; INTO: #UD in 64-bit mode
.i3:
    EXPECT64 .i4
    mov ax, ABSENT64
    mov ds, ax                      ; #NP(68)
.i4:
    EXPECT64 .i5
    mov ax, 0x1f8
    mov es, ax                      ; #GP(1f8)
.i5:
    EXPECT64 .i6
    mov rax, 0x0000800000000000
    mov rbx, [rax]                  ; #GP(0): not canonical
.i6:
    xor edx, edx
    xor ecx, ecx
    mov eax, 1
    EXPECT64 .i7
    div rcx                         ; #DE
.i7:
    ; (INT through an absent or too privileged 64-bit gate, a far jump to
    ; a code segment with L and D set, and clearing CR0.PG or CR4.PAE in
    ; 64-bit mode are unit tests, tests/tcg/segmentation_test.cpp: QEMU 7.2
    ; reports IDT error codes as vector * 16 + 2 in long mode, and does not
    ; check the other three.)

    ; A null SS is fine at CPL 0 in 64-bit mode.
    xor eax, eax
    mov ss, ax
    push rax
    pop rax
    PRINT64 "null ss "
    mov eax, ss
    HEX64 rax, 4
    mov ax, KDATA
    mov ss, ax
    ; IRETQ at the same level still pops SS:RSP.
    mov rax, rsp
    push qword KDATA
    lea rbx, [rax - 0x40]
    push rbx
    pushfq
    push qword KCODE64
    lea rbx, [rel .after_iretq]
    push rbx
    iretq
.after_iretq:
    PRINT64 " iretq rsp "
    HEX64 rsp, 8
    call newline64
    mov rsp, STACK0

    ; --- Page faults ---------------------------------------------------------
    EXPECT64 .f1
    mov eax, [ABSENT + 8]           ; #PF 0
.f1:
    EXPECT64 .f2
    mov dword [READONLY], 1         ; #PF 3
.f2:
    mov al, [NX_PAGE]               ; NX pages are readable
    EXPECT64 .f3
    mov rax, NX_PAGE
    call rax                        ; #PF 11: instruction fetch
.f3:
    mov rsp, STACK0

    ; --- Compatibility mode --------------------------------------------------
    jmp far [rel compat_ptr]        ; m16:64 (NASM emits REX.W)
bits 32
compat:
    PRINT32 "compat cs "
    mov eax, cs
    HEX32 eax, 4
    call newline32
    int 0x30                        ; through the 64-bit IDT, IRETQ back
    PRINT32 "compat again"
    call newline32
    jmp KCODE64:.back64
bits 64
.back64:
    ; RETFQ into compatibility mode and a far jump out of it.
    push qword KCODE
    lea rax, [rel compat_by_retf]
    push rax
    retfq
bits 32
compat_by_retf:
    PRINT32 "compat by retf"
    call newline32
    jmp KCODE64:ring3_setup
bits 64

    ; --- Ring 3 --------------------------------------------------------------
ring3_setup:
    mov rsp, STACK0
    mov qword [HOME], after_ring3
    push qword UDATA64
    push qword STACK3
    push qword 0x2
    push qword UCODE64
    lea rax, [rel ring3]
    push rax
    iretq

ring3:
    PRINT64 "ring 3 cs "
    mov eax, cs
    HEX64 rax, 4
    PRINT64 " ss "
    mov eax, ss
    HEX64 rax, 4
    call newline64
    int 0x30                        ; RSP0, SS becomes null
    EXPECT64 .r2
    mov eax, [KERNEL_ONLY]          ; #PF 5
.r2:
    EXPECT64 .r3
    mov rax, NX_PAGE
    call rax                        ; #PF 15
.r3:
    mov rsp, STACK3
    EXPECT64 .r4
    xor eax, eax
    mov ss, ax                      ; #GP(0): null SS at CPL 3
.r4:
    call far [rel gate_ptr]         ; 64-bit call gate to ring 0
    PRINT64 "back from gate rsp "
    HEX64 rsp, 8
    call newline64
    ; A #PF while delivering INT 0x30 (RSP0 is in a not-present page), and
    ; a #PF while delivering that #PF: #DF, on IST1.
    mov qword [TSS_RAM + 4], ABSENT + 0x800
    int 0x30
    PRINT64 "not reached"
    call newline64
    mov al, 0x7d
    jmp exit64

after_ring3:
    ; The #DF left SS null and the IRETQ to ring 3 nulled DS and ES: the
    ; compatibility-mode code below needs them.
    mov ax, KDATA
    mov ss, ax
    mov ds, ax
    mov es, ax
    mov rsp, STACK0
    PRINT64 "ring 0 again"
    call newline64
    mov qword [TSS_RAM + 4], STACK0_TSS

    ; CR8 (TPR).
    mov eax, 5
    mov cr8, rax
    mov rax, cr8
    PRINT64 "cr8 "
    HEX64 rax, 2
    call newline64
    ; (Writing bits 63:4 of CR8 raises #GP(0): a unit test, as QEMU 7.2
    ; drops them instead.)

    ; FS base through IA32_FS_BASE; a selector load sets it from the GDT.
    mov dword [SCRATCH + 0x20], 0x600df00d
    mov ecx, 0xc0000100
    mov eax, SCRATCH
    xor edx, edx
    wrmsr
    mov eax, [fs:0x20]
    PRINT64 "fs "
    HEX64 rax, 8
    mov ax, KDATA
    mov fs, ax
    rdmsr
    mov ebx, eax
    mov al, ' '
    call putc64
    HEX64 rbx, 8
    call newline64

    ; Leave long mode: compatibility mode, paging off.
    jmp dword far [rel leave_ptr]   ; m16:32
bits 32
leave_long:
    mov eax, cr0
    and eax, 0x7fffffff
    mov cr0, eax
    lidt [idt_ptr]
    mov ecx, 0xc0000080
    rdmsr
    PRINT32 "left long mode efer "
    HEX32 eax, 8
    call newline32
    EXPECT .l1
    ud2
.l1:
    mov al, 0
    jmp exit32

bits 64
; INT 0x30 / 0x31: where from, and the stack it runs on.
int30_64:
    push rbp
    mov rbp, rsp
    PRINT64 "int at "
    HEX64 [rbp + 16], 4
    mov al, ':'
    call putc64
    HEX64 [rbp + 8], 16
    PRINT64 " from "
    HEX64 [rbp + 40], 4
    mov al, ':'
    call putc64
    HEX64 [rbp + 32], 16
    PRINT64 " on "
    mov eax, ss
    HEX64 rax, 4
    mov al, ':'
    call putc64
    HEX64 rbp, 16
    call newline64
    pop rbp
    iretq

;  INT 0x31: IST2 at the same privilege level. (SS is left alone by
; vireo, as there is no privilege change; QEMU 7.2 loads a null SS
; whenever the IST is used, so SS is not shown.)
ist_64:
    push rbp
    mov rbp, rsp
    PRINT64 "ist at "
    HEX64 [rbp + 16], 4
    mov al, ':'
    call putc64
    HEX64 [rbp + 8], 16
    PRINT64 " on "
    HEX64 rbp, 16
    call newline64
    pop rbp
    iretq

; The 64-bit call gate's target: the old SS:RSP and CS:RIP, 8 bytes each.
gate64_target:
    push rbp
    mov rbp, rsp
    PRINT64 "gate64 cs "
    mov eax, cs
    HEX64 rax, 4
    PRINT64 " ss:rsp "
    mov eax, ss
    HEX64 rax, 4
    mov al, ':'
    call putc64
    HEX64 rbp, 16
    PRINT64 " ret "
    HEX64 [rbp + 16], 4
    mov al, ':'
    call putc64
    HEX64 [rbp + 8], 16
    PRINT64 " old "
    HEX64 [rbp + 32], 4
    mov al, ':'
    call putc64
    HEX64 [rbp + 24], 16
    call newline64
    pop rbp
    retfq

%assign v 0
%rep 32
exc64_stub_%[v]:
%if v == 8 || (v >= 10 && v <= 14) || v == 17
    push qword v
%else
    push qword 0
    push qword v
%endif
    jmp exc_common64
%assign v v + 1
%endrep

; Frame (RBP-relative after the pushes below).
G_VECTOR equ 32
G_ERROR  equ 40
G_RIP    equ 48
G_CS     equ 56
G_RSP    equ 72
G_SS     equ 80
exc_common64:
    push rax
    push rcx
    push rdx
    push rbp
    mov rbp, rsp
    PRINT64 "exc "
    HEX64 [rbp + G_VECTOR], 2
    PRINT64 " err "
    HEX64 [rbp + G_ERROR], 8
    cmp qword [rbp + G_VECTOR], 8
    je .double_fault
    PRINT64 " at "
    HEX64 [rbp + G_CS], 4
    mov al, ':'
    call putc64
    HEX64 [rbp + G_RIP], 16
    PRINT64 " from "
    HEX64 [rbp + G_SS], 4
    mov al, ':'
    call putc64
    HEX64 [rbp + G_RSP], 16
    cmp qword [rbp + G_VECTOR], 14
    jne .no_cr2
    PRINT64 " cr2 "
    mov rax, cr2
    HEX64 rax, 16
.no_cr2:
    call newline64
    mov rax, [RESUME]
    test rax, rax
    jz .unexpected
    mov [rbp + G_RIP], rax
    mov qword [RESUME], 0
    pop rbp
    pop rdx
    pop rcx
    pop rax
    add rsp, 16
    iretq
.double_fault:
    ; The frame of a #DF is not restartable: show where it ran and go home.
    PRINT64 " on "
    HEX64 rbp, 16
    PRINT64 " cr2 "
    mov rax, cr2
    HEX64 rax, 16
    call newline64
    mov qword [TSS_RAM + 4], STACK0_TSS
    mov rsp, STACK0
    jmp [HOME]
.unexpected:
    PRINT64 "unexpected exception"
    call newline64
    mov al, 0x7e
    jmp exit64

IO_ROUTINES64
PM32_ROUTINES

gdt:
    dq 0
    DESC 0, 0xfffff, ACC_CODE0, FL_32                ; 08 32-bit code
    DESC 0, 0xfffff, ACC_DATA0, FL_32                ; 10
    DESC ROM_BASE, 0xffff, ACC_CODE0, FL_16          ; 18
    DESC ROM_BASE, 0xffff, ACC_DATA0, FL_16          ; 20
    DESC 0, 0xfffff, ACC_CODE0, FL_64                ; 28 64-bit code
    DESC 0, 0xfffff, ACC_CODE3, FL_32                ; 30 32-bit code, DPL 3
    DESC 0, 0xfffff, ACC_DATA3, FL_32                ; 38 data, DPL 3
    DESC 0, 0xfffff, ACC_CODE3, FL_64                ; 40 64-bit code, DPL 3
    DESC TSS_RAM, 0x68 + 0x80, 0x89, 0               ; 48 64-bit TSS
    dq 0
    GATE64_DESC gate64_target, KCODE64, 0xec, 0      ; 58 call gate, DPL 3
    DESC 0, 0xfffff, 0x12, FL_32                     ; 68 not present
gdt_end:
ldt:
    dq 0
ldt_end:

; The legacy IDT for the 32-bit phases.
idt:
%assign v 0
%rep 32
    GATE exc_stub_%[v], KCODE, 0x8e, 0
%assign v v + 1
%endrep
idt_end:

idt64:
%assign v 0
%rep 32
%if v == 8
    GATE64_DESC exc64_stub_%[v], KCODE64, 0x8e, 1
%else
    GATE64_DESC exc64_stub_%[v], KCODE64, 0x8e, 0
%endif
%assign v v + 1
%endrep
%rep 16
    dq 0, 0
%endrep
    GATE64_DESC int30_64, KCODE64, 0xee, 0           ; 30 DPL 3
    GATE64_DESC ist_64, KCODE64, 0x8e, 2             ; 31 DPL 0, IST2
idt64_end:

gdt_ptr:      dw GDT64_LIMIT
              dd GDT_RAM
idt_ptr:      dw idt_end - idt - 1
              dd idt
idt64_ptr:    dw idt64_end - idt64 - 1
              dq idt64
compat_ptr:   dq compat
              dw KCODE
leave_ptr:    dd leave_long
              dw KCODE
gate_ptr:     dq 0
              dw GATE64
tss_selector: dw TSS64

ROM_END
