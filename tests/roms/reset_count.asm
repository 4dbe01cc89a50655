; reset_count: counts boots in a RAM byte that reset does not clear (RAM
; keeps its contents across a PC reset, in QEMU as on hardware). The first
; boot asks for a reset, the second exits through isa-debug-exit with
; status 0x22 (exit code 69). With -no-reboot the emulator exits at the
; reset instead, after printing only the first boot.
;
; Assemble with -DRESET_VIA_KBC to reset with the i8042's "pulse output
; line" command 0xFE on port 0x64; otherwise bit 0 of System Control Port A
; (0x92) is used.
;
; With -DSHOW_BOOT_ORDER each boot also prints CMOS byte 0x3d, the first
; two boot devices (-boot once= holds for the first boot only).

%include "common.inc"

BOOT_COUNT      equ 0x0500      ; low RAM, unused by anything else here

start:
    rom_prologue
    call uart_init
    xor ax, ax
    mov es, ax
    inc byte [es:BOOT_COUNT]
    mov si, msg_boot
    call puts
    movzx eax, byte [es:BOOT_COUNT]
    mov cx, 2
    call put_hex
%ifdef SHOW_BOOT_ORDER
    mov al, ' '
    call putc
    mov al, 0x3d
    out 0x70, al
    in al, 0x71
    movzx eax, al
    call put_hex
%endif
    mov si, msg_crlf
    call puts

    cmp byte [es:BOOT_COUNT], 1
    je .first_boot
    cmp byte [es:BOOT_COUNT], 2
    je .second_boot
    mov si, msg_too_many
    call puts
    debug_exit 0x3f

.first_boot:
%ifdef RESET_VIA_KBC
    mov si, msg_reset_kbc
    call puts
    mov al, 0xfe
    out 0x64, al
%else
    mov si, msg_reset_92
    call puts
    in al, 0x92
    or al, 0x01
    out 0x92, al
%endif
.wait_for_reset:
    hlt
    jmp .wait_for_reset

.second_boot:
    mov si, msg_second
    call puts
    debug_exit 0x22

msg_boot:       db "boot ", 0
msg_crlf:       db 13, 10, 0
msg_reset_kbc:  db "resetting through port 0x64 (0xfe)", 13, 10, 0
msg_reset_92:   db "resetting through port 0x92", 13, 10, 0
msg_second:     db "RAM survived the reset", 13, 10, 0
msg_too_many:   db "too many boots", 13, 10, 0

rom_epilogue
