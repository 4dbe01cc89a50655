; rom-test:
; Virtual-8086 mode: IRETD with VM set from CPL 0 enters it (popping ESP,
; SS, ES, DS, FS, GS), real-mode segment semantics at CPL 3, INT n with
; IOPL 3 going to the ring-0 handler on the TSS stack with the 9-slot frame
; and null data segments, IRETD back, PUSHF/POPF keeping IOPL and VM,
; #GP for privileged instructions and for INT n once IOPL < 3, and I/O
; through the TSS bitmap whatever IOPL says.
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
    PRINT32 "pm32"
    call newline32
    mov dword [HOME], finish
    push dword 0x0040               ; GS
    push dword 0x0030               ; FS
    push dword 0xf000               ; DS
    push dword 0x0020               ; ES
    push dword 0x0000               ; SS
    push dword 0x7800               ; ESP
    push dword 0x00023002           ; VM, IOPL 3
    push dword 0xf000               ; CS
    push dword R(v86_code)          ; EIP
    iretd

finish:
    ; Again with IOPL 0: INT n faults, INT3 is not IOPL-sensitive (it meets
    ; gate 3's DPL 0 instead), and port I/O still goes by the bitmap.
    push dword 0
    push dword 0
    push dword 0xf000
    push dword 0
    push dword 0
    push dword 0x7800
    push dword 0x00020002           ; VM, IOPL 0
    push dword 0xf000
    push dword R(v86_iopl0)
    iretd

bits 16
v86_code:
    PRINT16 "v86 cs "
    mov ax, cs
    HEX16 eax, 4
    PRINT16 " ds "
    mov ax, ds
    HEX16 eax, 4
    PRINT16 " es "
    mov ax, es
    HEX16 eax, 4
    PRINT16 " fs "
    mov ax, fs
    HEX16 eax, 4
    PRINT16 " gs "
    mov ax, gs
    HEX16 eax, 4
    PRINT16 " sp "
    HEX16 esp, 4
    call newline16
    ; Segment registers load as in real mode: base = selector * 16.
    xor ax, ax
    mov es, ax
    mov dword [es:SCRATCH], 0x12345678
    mov ax, SCRATCH >> 4
    mov es, ax
    PRINT16 "real-style load "
    HEX16 [es:0], 8
    call newline16
    int 0x34                        ; IOPL 3: to the ring-0 handler
    PRINT16 "back in v86"
    call newline16
    pushfd
    pop eax
    PRINT16 "pushfd "
    HEX16 eax, 8                    ; VM and RF read as 0
    pushfd
    and dword [esp], ~0x3000        ; try IOPL 0
    popfd
    pushfd
    pop ebx
    PRINT16 " after popfd "
    HEX16 ebx, 8                    ; IOPL stays 3
    call newline16
    cli                             ; fine with IOPL 3
    xor ax, ax
    mov es, ax
    mov dword [es:RESUME], R(.a1)
    lgdt [cs:0]                     ; #GP(0): CPL 3
.a1:
    mov dword [es:RESUME], R(.a2)
    mov eax, cr0                    ; #GP(0)
.a2:
    mov dword [es:RESUME], R(.a3)
    hlt                             ; #GP(0)
.a3:
    int 0x35                        ; home

v86_iopl0:
    PRINT16 "v86 iopl 0"
    call newline16
    xor ax, ax
    mov es, ax
    mov dword [es:RESUME], R(.b1)
    int 0x34                        ; #GP(0)
.b1:
    mov dword [es:RESUME], R(.b2)
    int3                            ; #GP(1a)
.b2:
    PRINT16 "done"
    call newline16
    mov al, 0
    jmp exit16

PM32_ROUTINES
PM32_GATE_TARGETS
PM32_TABLES
ROM_END
