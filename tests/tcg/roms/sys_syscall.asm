; rom-test:
; Fast system calls under the default -cpu qemu64 (vendor AuthenticAMD):
; SYSENTER/SYSEXIT and SYSCALL/SYSRET round trips through ring 3 in legacy
; protected mode; in long mode SYSCALL/SYSRETQ to and from 64-bit ring 3
; (LSTAR, RCX, R11, SFMASK) and SYSRET/SYSCALL with compatibility-mode
; ring 3 (CSTAR); SWAPGS; the #UD of SYSENTER in long mode and of RDTSCP
; (not in qemu64) on AMD. Before that, the CPUID leaves that do not depend
; on which features vireo implements (tests/tcg/roms/cpuid_compare.py
; checks the feature words).
;
; Ring 3 only records what it sees (in RAM) and calls back into ring 0,
; which prints it: no TSS or I/O permission is needed.
%include "sys_common.inc"
%include "sys_pm32.inc"
bits 16
org ROM_BASE

; Selectors (the first five as sys_pm32.inc's, for ENTER_PM32).
KCODE64     equ 0x28                ; SYSCALL CS in long mode; SYSENTER_CS
KDATA64     equ 0x30                ; SYSCALL/SYSENTER SS: CS + 8
USER_BASE   equ 0x38                ; STAR[63:48]
UCODE32     equ 0x3b                ; SYSRET (32-bit) CS; SYSEXIT CS = SYSENTER_CS + 16
USER_DATA   equ 0x43                ; SYSRET/SYSEXIT SS
UCODE64     equ 0x4b                ; SYSRETQ CS = STAR[63:48] + 16
GDT64_LIMIT equ 0x4f

MSR_SYSENTER_CS  equ 0x174
MSR_SYSENTER_ESP equ 0x175
MSR_SYSENTER_EIP equ 0x176
MSR_EFER         equ 0xc0000080
MSR_STAR         equ 0xc0000081
MSR_LSTAR        equ 0xc0000082
MSR_CSTAR        equ 0xc0000083
MSR_SFMASK       equ 0xc0000084
MSR_GS_BASE      equ 0xc0000101
MSR_KERNEL_GS    equ 0xc0000102

PML4        equ 0x10000
PDPT        equ 0x11000
PD          equ 0x12000
SEEN        equ SCRATCH + 0x40      ; ring 3 writes CS, SS, flags here
SYSENTER_SP equ STACK0 - 0x200

%macro WRMSR32 2                    ; MSR, 32-bit value
    mov ecx, %1
    mov eax, %2
    xor edx, edx
    wrmsr
%endmacro

%macro EXPECT64 1
    mov qword [RESUME], %1
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

    ; --- CPUID ---------------------------------------------------------------
    mov esi, cpuid_leaves
.leaf:
    mov eax, [esi]
    cmp eax, 0xffffffff
    je .leaves_done
    mov ecx, [esi + 4]
    PRINT32 "cpuid "
    HEX32 eax, 8
    mov al, '.'
    call putc32
    HEX32 [esi + 4], 2
    mov eax, [esi]
    cpuid
    cmp dword [esi], 1
    je .features
    cmp dword [esi], 0x80000001
    jne .print
.features:
    ; Feature words: vireo advertises only what it implements.
    xor ecx, ecx
    xor edx, edx
.print:
    push eax
    mov al, ' '
    call putc32
    pop eax
    HEX32 eax, 8
    mov al, ' '
    call putc32
    HEX32 ebx, 8
    mov al, ' '
    call putc32
    HEX32 ecx, 8
    mov al, ' '
    call putc32
    HEX32 edx, 8
    call newline32
    add esi, 8
    jmp .leaf
.leaves_done:

    ; --- SYSENTER/SYSEXIT in legacy mode ---------------------------------------
    WRMSR32 MSR_SYSENTER_CS, KCODE64
    WRMSR32 MSR_SYSENTER_ESP, SYSENTER_SP
    WRMSR32 MSR_SYSENTER_EIP, sysenter_target
    mov ecx, MSR_SYSENTER_CS
    rdmsr
    PRINT32 "sysenter_cs "
    HEX32 eax, 8
    call newline32
    mov ecx, STACK3
    mov edx, ring3_sysenter
    sysexit

ring3_sysenter:                     ; ring 3, 32-bit
    mov eax, cs
    mov [SEEN], eax
    mov eax, ss
    mov [SEEN + 4], eax
    mov [SEEN + 8], esp
    sysenter

sysenter_target:                    ; ring 0
    pushfd
    pop ebx
    PRINT32 "sysenter cs "
    mov eax, cs
    HEX32 eax, 4
    PRINT32 " ss "
    mov eax, ss
    HEX32 eax, 4
    PRINT32 " esp "
    HEX32 esp, 8
    PRINT32 " eflags "
    HEX32 ebx, 8
    call newline32
    PRINT32 "sysexit cs "
    HEX32 [SEEN], 4
    PRINT32 " ss "
    HEX32 [SEEN + 4], 4
    PRINT32 " esp "
    HEX32 [SEEN + 8], 8
    call newline32

    ; --- SYSCALL/SYSRET in legacy mode (AMD) ------------------------------------
    mov esp, STACK0
    mov ecx, MSR_EFER
    rdmsr
    or eax, 1                       ; SCE
    wrmsr
    mov ecx, MSR_STAR
    mov eax, syscall_target32
    mov edx, (USER_BASE << 16) | KCODE
    wrmsr
    mov ecx, ring3_syscall32
    sysret                          ; IF becomes 1; no interrupt source is armed

ring3_syscall32:                    ; ring 3, 32-bit
    mov eax, cs
    mov [SEEN], eax
    mov eax, ss
    mov [SEEN + 4], eax
    pushfd
    pop eax
    mov [SEEN + 8], eax
    syscall
after_syscall32:

syscall_target32:                   ; ring 0
    pushfd
    pop ebx
    PRINT32 "syscall cs "
    mov eax, cs
    HEX32 eax, 4
    PRINT32 " ss "
    mov eax, ss
    HEX32 eax, 4
    PRINT32 " ecx "
    mov eax, ecx
    sub eax, after_syscall32        ; 0: the instruction after SYSCALL
    HEX32 eax, 8
    PRINT32 " eflags "
    HEX32 ebx, 8
    call newline32
    PRINT32 "sysret cs "
    HEX32 [SEEN], 4
    PRINT32 " ss "
    HEX32 [SEEN + 4], 4
    PRINT32 " eflags "
    HEX32 [SEEN + 8], 8
    call newline32

    ; --- Long mode ---------------------------------------------------------------
    mov ax, KDATA
    mov ss, ax
    mov esp, STACK0
    ; Identity map of the first 2 MiB (one large page, user, writable).
    mov dword [PML4], PDPT | 7
    mov dword [PML4 + 4], 0
    mov dword [PDPT], PD | 7
    mov dword [PDPT + 4], 0
    mov dword [PD], 0x87
    mov dword [PD + 4], 0
    mov eax, PML4
    mov cr3, eax
    mov eax, cr4
    or eax, 0x20                    ; PAE
    mov cr4, eax
    mov ecx, MSR_EFER
    rdmsr
    or eax, 0x901                   ; LME, NXE, SCE
    wrmsr
    mov eax, cr0
    or eax, 0x80000000
    mov cr0, eax
    lidt [idt64_ptr]
    jmp KCODE64:long64

bits 64
long64:
    mov rsp, STACK0
    mov ecx, MSR_EFER
    rdmsr
    PRINT64 "long mode efer "
    HEX64 rax, 8
    call newline64

    mov ecx, MSR_STAR
    xor eax, eax
    mov edx, (USER_BASE << 16) | KCODE64
    wrmsr
    mov ecx, MSR_LSTAR
    lea rax, [rel lstar_entry]
    xor edx, edx
    wrmsr
    mov ecx, MSR_CSTAR
    lea rax, [rel cstar_entry]
    wrmsr
    mov ecx, MSR_SFMASK
    mov eax, 0x47700                ; TF DF IF IOPL AC NT, as Linux
    wrmsr
    rdmsr
    PRINT64 "sfmask "
    HEX64 rax, 8
    mov ecx, MSR_STAR
    rdmsr
    PRINT64 " star "
    HEX64 rdx, 8
    HEX64 rax, 8
    call newline64

    ; SYSRETQ to 64-bit ring 3: RFLAGS from R11.
    lea rcx, [rel ring3_64]
    mov r11, 0x8c7                  ; OF SF ZF PF CF, IF clear
    o64 sysret

ring3_64:                           ; ring 3, 64-bit
    mov eax, cs
    mov [SEEN], rax
    mov eax, ss
    mov [SEEN + 8], rax
    pushfq
    pop rax
    mov [SEEN + 16], rax
    or rax, 0x400                   ; DF goes to R11; SFMASK clears it
    push rax
    popfq
    syscall
after_syscall64:

lstar_entry:                        ; ring 0, from 64-bit code
    mov rbx, r11
    pushfq
    pop rdx
    ; Only the system flags: QEMU 7.2 loses the arithmetic flags here (its
    ; helper_syscall reloads EFLAGS without them), while the SDM keeps
    ; every flag SFMASK does not clear, as vireo does (unit-tested).
    and rdx, ~0x8d5
    PRINT64 "lstar cs "
    mov eax, cs
    HEX64 rax, 4
    PRINT64 " ss "
    mov eax, ss
    HEX64 rax, 4
    PRINT64 " rcx "
    lea rax, [rel after_syscall64]
    sub rax, rcx
    HEX64 rax, 8
    PRINT64 " r11 "
    HEX64 rbx, 8
    PRINT64 " rflags "
    HEX64 rdx, 8
    call newline64
    PRINT64 "sysretq cs "
    HEX64 [SEEN], 4
    PRINT64 " ss "
    HEX64 [SEEN + 8], 4
    PRINT64 " rflags "
    HEX64 [SEEN + 16], 8
    call newline64

    ; SYSRET without REX.W: compatibility-mode ring 3 at ECX.
    mov rcx, 0xffffffff00000000     ; the upper half of RCX is ignored
    lea rax, [rel ring3_compat]
    or rcx, rax
    mov r11d, 0x2
    sysret

bits 32
ring3_compat:                       ; ring 3, compatibility mode
    mov eax, cs
    mov [SEEN], eax
    mov eax, ss
    mov [SEEN + 8], eax
    syscall
after_syscall_compat:
bits 64

cstar_entry:                        ; ring 0, from compatibility mode
    PRINT64 "cstar cs "
    mov eax, cs
    HEX64 rax, 4
    PRINT64 " rcx "
    mov eax, after_syscall_compat
    sub rax, rcx
    HEX64 rax, 8
    PRINT64 " from cs "
    HEX64 [SEEN], 4
    PRINT64 " ss "
    HEX64 [SEEN + 8], 4
    call newline64

    ; --- SWAPGS -------------------------------------------------------------
    mov ecx, MSR_GS_BASE
    mov eax, 0x1000
    xor edx, edx
    wrmsr
    mov ecx, MSR_KERNEL_GS
    mov eax, SCRATCH
    wrmsr
    mov qword [SCRATCH + 0x18], 0x5a5a
    swapgs
    mov rbx, [gs:0x18]
    mov ecx, MSR_GS_BASE
    rdmsr
    PRINT64 "swapgs gs "
    HEX64 rax, 8
    mov ecx, MSR_KERNEL_GS
    rdmsr
    PRINT64 " kernel_gs "
    HEX64 rax, 8
    PRINT64 " gs:18 "
    HEX64 rbx, 8
    swapgs
    mov ecx, MSR_GS_BASE
    rdmsr
    PRINT64 " back "
    HEX64 rax, 8
    call newline64

    ; --- What AMD's qemu64 does not have in long mode ------------------------
    EXPECT64 .s1
    sysenter                        ; #UD on AMD in long mode
.s1:
    EXPECT64 .s2
    sysexit
.s2:
    EXPECT64 .s3
    rdtscp                          ; #UD: qemu64 has no RDTSCP
.s3:
    PRINT64 "rdtsc advances "
    rdtsc
    mov ebx, eax
    rdtsc
    cmp eax, ebx                    ; the low halves differ unless 2^32 ticks passed
    mov eax, 1
    jne .advances
    mov eax, 0
.advances:
    HEX64 rax, 1
    call newline64

    PRINT64 "done"
    call newline64
    mov al, 0
    jmp exit64

; Exceptions in 64-bit ring 0: print the vector and where, resume at
; [RESUME] or stop.
%assign v 0
%rep 32
exc64_%[v]:
%if v == 8 || (v >= 10 && v <= 14) || v == 17
    push qword v
%else
    push qword 0
    push qword v
%endif
    jmp exc64_common
%assign v v + 1
%endrep
exc64_common:
    push rax
    push rbp
    mov rbp, rsp
    PRINT64 "exc "
    HEX64 [rbp + 16], 2
    PRINT64 " err "
    HEX64 [rbp + 24], 4
    PRINT64 " cs "
    HEX64 [rbp + 40], 4
    call newline64
    mov rax, [RESUME]
    test rax, rax
    jz .stop
    mov [rbp + 32], rax
    mov qword [RESUME], 0
    pop rbp
    pop rax
    add rsp, 16
    iretq
.stop:
    PRINT64 "unexpected exception"
    call newline64
    mov al, 0x7e
    jmp exit64

IO_ROUTINES64
PM32_ROUTINES

cpuid_leaves:
    dd 0, 0
    dd 1, 0
    dd 5, 0
    dd 7, 0
    dd 0xb, 0
    dd 0xb, 1
    dd 0xb, 2
    dd 0xd, 0
    dd 0xe, 0
    dd 0x80000000, 0
    dd 0x80000001, 0
    dd 0x80000002, 0
    dd 0x80000003, 0
    dd 0x80000004, 0
    dd 0x80000005, 0
    dd 0x80000006, 0
    dd 0x80000008, 0
    dd 0xffffffff, 0

gdt:
    dq 0
    DESC 0, 0xfffff, ACC_CODE0, FL_32                ; 08 32-bit code
    DESC 0, 0xfffff, ACC_DATA0, FL_32                ; 10
    DESC ROM_BASE, 0xffff, ACC_CODE0, FL_16          ; 18
    DESC ROM_BASE, 0xffff, ACC_DATA0, FL_16          ; 20
    DESC 0, 0xfffff, ACC_CODE0, FL_64                ; 28 64-bit code
    DESC 0, 0xfffff, ACC_DATA0, FL_32                ; 30 kernel data
    DESC 0, 0xfffff, ACC_CODE3, FL_32                ; 38 32-bit code, DPL 3
    DESC 0, 0xfffff, ACC_DATA3, FL_32                ; 40 data, DPL 3
    DESC 0, 0xfffff, ACC_CODE3, FL_64                ; 48 64-bit code, DPL 3
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
    dw ((exc64_%[v]) - $$ + ROM_BASE) & 0xffff
    dw KCODE64
    db 0
    db 0x8e
    dw (((exc64_%[v]) - $$ + ROM_BASE) >> 16) & 0xffff
    dd 0
    dd 0
%assign v v + 1
%endrep
idt64_end:

gdt_ptr:      dw GDT64_LIMIT
              dd GDT_RAM
idt_ptr:      dw idt_end - idt - 1
              dd idt
idt64_ptr:    dw idt64_end - idt64 - 1
              dq idt64

ROM_END
