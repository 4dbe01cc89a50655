; rom-test:
; Privilege changes in 32-bit protected mode: IRETD to ring 3 (and the
; data segments it nulls), INT from ring 3 onto the TSS ring-0 stack and
; IRETD back, the gate DPL check for software interrupts, call gates with
; parameter copying to ring 0 and ring 1 and RETF n back, conforming code,
; RETF to an outer level, I/O through the TSS bitmap, IOPL and POPF/CLI
; rules, and the #GP of privileged instructions at CPL 3.
%include "sys_common.inc"
%include "sys_pm32.inc"
bits 16
org ROM_BASE

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
    mov ax, LDT_SEL
    lldt ax
    PRINT32 "pm32"
    call newline32

    ; Into ring 3 with IRETD. ES holds a ring-0 data segment, which the
    ; return to an outer level nulls; FS (DPL 3) and GS (conforming code)
    ; survive.
    mov dword [HOME], after_first_visit
    mov ax, KDATA
    mov es, ax
    mov ax, UDATA
    mov ds, ax
    mov fs, ax
    mov ax, CONFORMING
    mov gs, ax
    push dword UDATA
    push dword STACK3
    push dword 0x00000002           ; IOPL 0, IF 0
    push dword UCODE
    push dword ring3
    iretd

ring3:
    PRINT32 "ring 3"
    call print_segments
    call newline32

    ; I/O: COM1 and the exit port are open in the bitmap, port 0x80 is not.
    EXPECT .a1
    out 0x80, al                    ; #GP(0)
.a1:
    EXPECT .a2
    cli                             ; #GP(0): CPL > IOPL
.a2:
    pushfd
    or dword [esp], 0x3200          ; try IOPL 3 and IF
    popfd
    pushfd
    pop eax
    PRINT32 "eflags "
    HEX32 eax, 8                    ; neither changed
    call newline32

    ; Privileged instructions and segments at CPL 3.
    EXPECT .b1
    hlt
.b1:
    EXPECT .b2
    mov eax, cr0
.b2:
    EXPECT .b3
    lgdt [SCRATCH]
.b3:
    EXPECT .b4
    mov ax, KDATA
    mov ds, ax                      ; #GP(10): DPL 0 data at CPL 3
.b4:
    EXPECT .b5
    mov ax, UDATA
    mov ss, ax
    mov ax, KDATA | 3
    mov ss, ax                      ; #GP(10)
.b5:
    EXPECT .b6
    wbinvd
.b6:
    EXPECT .b7
    mov eax, dr7
.b7:
    EXPECT .b8
    invlpg [0]
.b8:
    EXPECT .b9
    mov ax, TSS_SEL
    ltr ax
.b9:
    mov ax, LDT_UDATA
    mov es, ax                      ; a DPL 3 LDT segment is fine
    mov eax, [es:SCRATCH]
    sgdt [SCRATCH]                  ; not privileged (no UMIP)
    smsw eax
    PRINT32 "msw "
    HEX32 eax, 4
    call newline32

    ; Software interrupts check the gate's DPL against CPL.
    int 0x30                        ; DPL 3 gate: onto the TSS ring-0 stack
    EXPECT .c1
    int 0x31                        ; #GP(18a)
.c1:
    EXPECT .c2
    int 0x32                        ; #GP(192): the DPL check comes first
.c2:
    EXPECT .c3
    int3                            ; #GP(1a): gate 3 is DPL 0
.c3:
    EXPECT .c4
    ud2                             ; #UD, delivered from ring 3
.c4:

    ; Call gates: to ring 0 with two parameters, to ring 1 with one.
    push dword 0x11111111
    push dword 0x22222222
    call GATE_UP:0
    PRINT32 "back from gate esp "
    HEX32 esp, 8
    call newline32
    push dword 0x33333333
    call GATE_RING1:0
    PRINT32 "back from ring 1 esp "
    HEX32 esp, 8
    call newline32
    EXPECT .d1
    call GATE_ABSENT:0              ; #NP(98)
.d1:
    EXPECT .d2
    call GATE_KERNEL:0              ; #GP(a0): gate DPL 0 < CPL 3
.d2:
    EXPECT .d3
    call KCODE:.d3                  ; #GP(8): non-conforming DPL 0
.d3:
    EXPECT .d4
    jmp KCODE:.d4                   ; #GP(8)
.d4:
    ; Conforming code runs at the caller's CPL.
    call CONFORMING:conforming_code
    PRINT32 "back from conforming cs "
    mov eax, cs
    HEX32 eax, 4
    call newline32
    call GATE_HOME:0

after_first_visit:
    ; RETF to an outer level: pops SS:ESP as well, and nulls ES (DPL 0).
    mov ax, KDATA
    mov es, ax
    mov ax, UDATA
    mov ds, ax
    mov dword [HOME], after_second_visit
    push dword UDATA
    push dword STACK3 - 0x100
    push dword UCODE
    push dword ring3_again
    retf

ring3_again:
    PRINT32 "ring 3 again esp "
    HEX32 esp, 8
    call print_segments
    call newline32
    call GATE_HOME:0

after_second_visit:
    ; IOPL 3: ring 3 may use CLI and any port.
    mov ax, UDATA
    mov ds, ax
    mov dword [HOME], finish
    push dword UDATA
    push dword STACK3
    push dword 0x00003002
    push dword UCODE
    push dword ring3_iopl3
    iretd

ring3_iopl3:
    cli
    out 0x80, al
    pushfd
    pop eax
    PRINT32 "iopl 3 eflags "
    HEX32 eax, 8
    call newline32
    call GATE_HOME:0

finish:
    PRINT32 "done"
    call newline32
    mov al, 0
    jmp exit32

conforming_code:
    PRINT32 "conforming cs "
    mov eax, cs
    HEX32 eax, 4
    call newline32
    retf

print_segments:
    PRINT32 " cs "
    mov eax, cs
    HEX32 eax, 4
    PRINT32 " ss "
    mov eax, ss
    HEX32 eax, 4
    PRINT32 " ds "
    mov eax, ds
    HEX32 eax, 4
    PRINT32 " es "
    mov eax, es
    HEX32 eax, 4
    PRINT32 " fs "
    mov eax, fs
    HEX32 eax, 4
    PRINT32 " gs "
    mov eax, gs
    HEX32 eax, 4
    ret

PM32_ROUTINES
PM32_GATE_TARGETS
PM32_TABLES
ROM_END
