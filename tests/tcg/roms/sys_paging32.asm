; rom-test:
; 32-bit paging (4 KiB pages and a PSE 4 MiB page): #PF error codes and
; CR2 for not-present, write-protect (with and without CR0.WP) and
; user/supervisor violations (no I/D bit without PAE, even with EFER.NXE),
; the accessed and dirty bits, and INVLPG and CR3 reloads picking up
; changed entries.
%include "sys_common.inc"
%include "sys_pm32.inc"
bits 16
org ROM_BASE

PAGE_DIR    equ 0x20000
PAGE_TABLE  equ 0x21000             ; maps 0-4 MiB
ABSENT      equ 0x50000             ; not present
READONLY    equ 0x51000             ; read-only
KERNEL_ONLY equ 0x52000             ; supervisor-only
TOUCHED     equ 0x53000             ; A/D bits watched
REMAPPED    equ 0x54000             ; pointed elsewhere later
OTHER       equ 0x55000

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
    call setup_tss32
    mov ax, TSS_SEL
    ltr ax
    PRINT32 "pm32"
    call newline32

    ; Identity map of 0-4 MiB, user and writable, with the exceptions above;
    ; PDE 1 is a 4 MiB page at 4 MiB that maps physical 0 again.
    mov edi, PAGE_TABLE
    mov eax, 0x007
.fill:
    mov [edi], eax
    add edi, 4
    add eax, 0x1000
    cmp edi, PAGE_TABLE + 0x1000
    jb .fill
    mov dword [PAGE_TABLE + (ABSENT >> 12) * 4], ABSENT | 0x006
    mov dword [PAGE_TABLE + (READONLY >> 12) * 4], READONLY | 0x005
    mov dword [PAGE_TABLE + (KERNEL_ONLY >> 12) * 4], KERNEL_ONLY | 0x003
    mov dword [PAGE_DIR], PAGE_TABLE | 0x007
    mov dword [PAGE_DIR + 4], 0x00000087  ; 4 MiB page, physical 0
    mov dword [OTHER], 0x55555555
    mov dword [REMAPPED], 0x44444444
    mov eax, PAGE_DIR
    mov cr3, eax
    mov eax, cr4
    or eax, 0x10                    ; PSE
    mov cr4, eax
    mov eax, cr0
    or eax, 0x80010000              ; PG, WP
    mov cr0, eax
    PRINT32 "paging cr0 "
    mov eax, cr0
    HEX32 eax, 8
    call newline32

    EXPECT .p1
    mov eax, [ABSENT + 0x10]        ; #PF 0: not present, read
.p1:
    EXPECT .p2
    mov dword [ABSENT + 0x20], 1    ; #PF 2: not present, write
.p2:
    EXPECT .p3
    mov dword [READONLY + 0x30], 1  ; #PF 3: read-only with WP
.p3:
    mov eax, [READONLY]             ; reads are fine
    mov eax, [KERNEL_ONLY]          ; and ring 0 may use supervisor pages
    mov eax, cr0
    and eax, ~0x10000
    mov cr0, eax                    ; WP off: ring 0 writes read-only pages
    mov dword [READONLY + 0x40], 0x12345678
    or eax, 0x10000
    mov cr0, eax
    PRINT32 "wp off wrote "
    HEX32 [READONLY + 0x40], 8
    call newline32

    ; Accessed and dirty bits appear in the PTE after a read, then a write.
    PRINT32 "pte "
    HEX32 [PAGE_TABLE + (TOUCHED >> 12) * 4], 3
    mov eax, [TOUCHED]
    mov al, ' '
    call putc32
    HEX32 [PAGE_TABLE + (TOUCHED >> 12) * 4], 3
    mov dword [TOUCHED], 1
    mov al, ' '
    call putc32
    HEX32 [PAGE_TABLE + (TOUCHED >> 12) * 4], 3
    PRINT32 " pde "
    HEX32 [PAGE_DIR], 3
    call newline32

    ; The PSE alias at 4 MiB sees the same memory.
    mov dword [SCRATCH], 0xcafe
    PRINT32 "alias "
    HEX32 [0x400000 + SCRATCH], 8
    call newline32

    ; A changed PTE is used after INVLPG, and after a CR3 reload.
    mov eax, [REMAPPED]
    mov dword [PAGE_TABLE + (REMAPPED >> 12) * 4], OTHER | 0x007
    invlpg [REMAPPED]
    PRINT32 "invlpg "
    HEX32 [REMAPPED], 8
    mov dword [PAGE_TABLE + (REMAPPED >> 12) * 4], REMAPPED | 0x007
    mov eax, cr3
    mov cr3, eax
    mov al, ' '
    call putc32
    HEX32 [REMAPPED], 8
    call newline32

    ; Ring 3: user-mode page faults carry U (bit 2). EFER.NXE is set, which
    ; 32-bit paging ignores: instruction fetches do not set I/D (bit 4),
    ; which needs PAE paging (SDM vol. 3 §4.7).
    mov ecx, 0xc0000080
    rdmsr
    or eax, 0x800
    wrmsr
    mov dword [HOME], finish
    mov ax, UDATA
    mov ds, ax
    push dword UDATA
    push dword STACK3
    push dword 0x00000002
    push dword UCODE
    push dword ring3
    iretd

ring3:
    PRINT32 "ring 3"
    call newline32
    EXPECT .u1
    mov eax, [KERNEL_ONLY]          ; #PF 5: present, user read
.u1:
    EXPECT .u2
    mov dword [READONLY], 1         ; #PF 7: present, user write
.u2:
    EXPECT .u3
    mov dword [KERNEL_ONLY], 1      ; #PF 7
.u3:
    EXPECT .u4
    mov eax, [ABSENT]               ; #PF 4: not present, user
.u4:
    EXPECT .u5
    call KERNEL_ONLY                ; #PF 5: user fetch from a supervisor page
.u5:
    call GATE_HOME:0

finish:
    ; Paging off again, and protected mode continues.
    mov eax, cr0
    and eax, 0x7fffffff
    mov cr0, eax
    mov eax, [ABSENT]
    PRINT32 "paging off "
    mov eax, cr0
    HEX32 eax, 8
    call newline32
    mov al, 0
    jmp exit32

PM32_ROUTINES
PM32_GATE_TARGETS
PM32_TABLES
ROM_END
