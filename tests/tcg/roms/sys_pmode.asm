; rom-test:
; Real mode -> 16-bit protected mode -> 32-bit protected mode and back:
; segment loads and their faults (#GP/#NP/#SS with the selector as error
; code), the accessed and TSS busy bits, LLDT/LTR/SLDT/STR, LAR/LSL/VERR/
; VERW/ARPL, SGDT/SIDT/SMSW/LMSW, PUSHF/POPF at CPL 0, INT n through
; present, absent and out-of-limit gates, INT3/INTO/UD2/#DE (also in real
; mode, through the IVT), and a double
; fault from a #GP whose gate is not present.
%include "sys_common.inc"
%include "sys_pm32.inc"
bits 16
org ROM_BASE

start:
    mov ax, 0xf000
    mov ds, ax
    PRINT16 "real mode"
    call newline16
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
    call setup_tss32

    ; --- Descriptor tables -------------------------------------------------
    sgdt [SCRATCH]
    PRINT32 "sgdt "
    HEX32 [SCRATCH], 4
    mov al, ' '
    call putc32
    HEX32 [SCRATCH + 2], 8
    PRINT32 " sidt "
    sidt [SCRATCH]
    HEX32 [SCRATCH], 4
    mov al, ' '
    call putc32
    HEX32 [SCRATCH + 2], 8
    PRINT32 " msw "
    smsw eax
    HEX32 eax, 8
    call newline32

    ; The accessed bit is set by the load, in the GDT in RAM.
    PRINT32 "fresh "
    HEX32 [GDT_RAM + FRESH_DATA + 4], 8
    mov ax, FRESH_DATA
    mov es, ax
    mov al, ' '
    call putc32
    HEX32 [GDT_RAM + FRESH_DATA + 4], 8
    call newline32

    ; LDT and task register; LTR marks the TSS busy.
    mov ax, LDT_SEL
    lldt ax
    mov ax, TSS_SEL
    PRINT32 "tss "
    HEX32 [GDT_RAM + TSS_SEL + 4], 8
    ltr ax
    mov al, ' '
    call putc32
    HEX32 [GDT_RAM + TSS_SEL + 4], 8
    PRINT32 " str "
    str eax
    HEX32 eax, 8
    PRINT32 " sldt "
    mov eax, 0xffffffff
    sldt eax
    HEX32 eax, 8
    call newline32
    mov ax, LDT_DATA
    mov fs, ax
    mov eax, [fs:SCRATCH + 2]
    PRINT32 "ldt load ok "
    mov eax, fs
    HEX32 eax, 4
    call newline32

    ; --- Segment loads that fault -----------------------------------------
    EXPECT .r1
    mov ax, ABSENT_DATA
    mov ds, ax                      ; #NP(30)
.r1:
    EXPECT .r2
    mov ax, EXEC_ONLY
    mov ds, ax                      ; #GP(38): not readable
.r2:
    EXPECT .r3
    mov ax, READ_ONLY
    mov ss, ax                      ; #GP(40): SS must be writable
.r3:
    EXPECT .r4
    mov ax, USER_DATA_0
    mov ss, ax                      ; #GP(48): SS DPL must be CPL
.r4:
    EXPECT .r5
    mov ax, ABSENT_SS
    mov ss, ax                      ; #SS(80)
.r5:
    EXPECT .r6
    mov ax, 0x1f8
    mov gs, ax                      ; #GP(1f8): beyond the GDT limit
.r6:
    EXPECT .r7
    xor ax, ax
    mov ss, ax                      ; #GP(0): null SS outside 64-bit mode
.r7:
    EXPECT .r8
    mov ax, 0x1c
    mov gs, ax                      ; #GP(1c): beyond the LDT limit
.r8:
    EXPECT .r9
    mov ax, TSS_SEL
    mov gs, ax                      ; #GP(58): a system segment
.r9:
    EXPECT .r10
    mov ax, KDATA | 3
    mov ss, ax                      ; #GP(10): RPL != CPL
.r10:
    push dword READ_ONLY
    EXPECT .r11
    pop ss                          ; #GP(40), ESP unchanged
.r11:
    PRINT32 "esp "
    HEX32 esp, 8
    call newline32
    add esp, 4
    ; (A null selector's use, limit violations and writes to code raise
    ; #GP(0) in vireo; QEMU's TCG does not check data-segment limits or
    ; types, so those are unit tests: tests/tcg/segmentation_test.cpp.)
    mov ax, KDATA
    mov gs, ax
    lds esi, [far_pointer]
    mov eax, ds
    PRINT32 "lds "
    HEX32 eax, 4
    mov al, ' '
    call putc32
    HEX32 esi, 8
    call newline32
    EXPECT .r15
    lfs esi, [far_pointer_bad]      ; #NP(30); ESI and FS unchanged
.r15:
    PRINT32 "lfs kept "
    HEX32 esi, 8
    call newline32

    ; --- LAR / LSL / VERR / VERW / ARPL ------------------------------------
    mov esi, probe_selectors
.probe:
    movzx ebx, word [esi]
    cmp ebx, 0xffff
    je .probed
    PRINT32 "sel "
    HEX32 ebx, 4
    mov eax, 0x11111111
    lar eax, bx
    call print_zf_eax
    mov eax, 0x22222222
    lsl eax, bx
    call print_zf_eax
    verr bx
    call print_zf
    verw bx
    call print_zf
    call newline32
    add esi, 2
    jmp .probe
.probed:
    mov ax, KDATA
    mov bx, 0x0003
    arpl ax, bx
    call print_zf
    HEX32 eax, 4
    arpl ax, bx
    call print_zf
    call newline32

    ; --- Flags at CPL 0 ----------------------------------------------------
    pushfd
    or dword [esp], 0x3000          ; IOPL 3
    popfd
    pushfd
    pop eax
    PRINT32 "eflags "
    HEX32 eax, 8
    pushfd
    and dword [esp], ~0x3000
    popfd
    pushfd
    pop ebx
    mov al, ' '
    call putc32
    HEX32 ebx, 8
    call newline32

    ; --- Software interrupts and exceptions -------------------------------
    int 0x30
    EXPECT .s1
    int 0x32                        ; #NP(192): gate not present
.s1:
    EXPECT .s2
    int 0x40                        ; #GP(202): beyond the IDT limit
.s2:
    EXPECT .s3
    int3                            ; #BP, a trap: EIP after the INT3
.s3:
    mov al, 0x7f
    add al, 1                       ; OF = 1
    EXPECT .s4
    into                            ; #OF, a trap
.s4:
    xor eax, eax                    ; OF = 0
    into
    ; (INT1/ICEBP, a trap-like #DB on hardware, is #UD in QEMU 7.2, built
    ; without WANT_ICEBP: covered by tests/tcg/segmentation_test.cpp.)
    EXPECT .s6
    ud2                             ; #UD, a fault: EIP of the UD2
.s6:
    EXPECT .s7
    db 0x0f, 0x20, 0xc8             ; mov eax, cr1: #UD
.s7:
    xor edx, edx
    xor ecx, ecx
    mov eax, 1
    EXPECT .s9
    div ecx                         ; #DE, a fault: EIP of the DIV
.s9:
    EXPECT .s8
    db 0x0f, 0xff                   ; #UD: no such opcode
.s8:

    ; Double fault: #GP through an absent gate raises #NP while delivering,
    ; and two contributory exceptions make #DF (error code 0).
    lidt [idt_df_ptr]
    EXPECT .df
    mov ax, EXEC_ONLY
    mov ds, ax
.df:
    lidt [idt_ptr]
    mov ax, KDATA
    mov ds, ax

    ; LMSW sets TS here, CLTS clears it; LMSW can set PE but never clear it.
    smsw ax
    or ax, 8
    lmsw ax
    smsw ax
    PRINT32 "msw "
    HEX32 eax, 4
    clts
    smsw ax
    mov bx, ax
    mov al, ' '
    call putc32
    HEX32 ebx, 4
    and bx, 0xfffe
    lmsw bx
    smsw bx
    mov al, ' '
    call putc32
    HEX32 ebx, 4
    call newline32

    ; --- Back to real mode -------------------------------------------------
    jmp CODE16:R(.pm16_again)
bits 16
.pm16_again:
    mov ax, DATA16
    mov ds, ax
    mov es, ax
    int 0x33                        ; a 16-bit gate from 16-bit code
    mov ax, DATA16
    mov ss, ax
    mov eax, cr0
    and eax, 0xfffffffe
    mov cr0, eax
    jmp 0xf000:R(.real_again)
.real_again:
    mov ax, 0xf000
    mov ds, ax
    xor ax, ax
    mov ss, ax
    mov sp, STACK0
    PRINT16 "real mode again "
    mov ax, cs
    HEX16 eax, 4
    call newline16
    ; Real-mode INT through the IVT at 0.
    lidt [R(ivt_ptr)]
    xor ax, ax
    mov es, ax
    mov word [es:0x22 * 4], R(real_int22)
    mov word [es:0x22 * 4 + 2], 0xf000
    int 0x22
    ; A real-mode exception through the IVT: #DE, IP of the DIV pushed.
    mov word [es:0], R(real_divide_error)
    mov word [es:2], 0xf000
    xor dx, dx
    xor cx, cx
    mov ax, 1
    div cx
    PRINT16 "done"
    call newline16
    mov al, 0
    jmp exit16

real_divide_error:
    push bp
    mov bp, sp
    PRINT16 "real #DE at "
    HEX16 [bp + 4], 4
    mov al, ':'
    call putc16
    HEX16 [bp + 2], 4
    call newline16
    add word [bp + 2], 2            ; skip the 2-byte DIV CX
    pop bp
    iret

real_int22:
    PRINT16 "real int22 sp "
    HEX16 esp, 4
    call newline16
    iret

bits 32
print_zf:
    push eax
    mov al, ' '
    jnz .clear
    mov al, '+'
.clear:
    call putc32
    pop eax
    ret
print_zf_eax:
    call print_zf
    HEX32 eax, 8
    ret

probe_selectors:
    dw KCODE, KDATA, EXEC_ONLY, READ_ONLY, USER_DATA_0, UDATA, TSS_SEL, LDT_SEL
    dw GATE_UP, CONFORMING, SMALL_DATA, ABSENT_DATA, LDT_UDATA, 0x1f8, 0, 0xffff
far_pointer:     dd 0x12345678
                 dw KDATA
far_pointer_bad: dd 0x9abcdef0
                 dw ABSENT_DATA
ivt_ptr:         dw 0x3ff
                 dd 0

PM32_ROUTINES
PM32_GATE_TARGETS
PM32_TABLES
ROM_END
