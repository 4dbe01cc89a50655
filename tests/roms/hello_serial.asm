; hello_serial: prints on COM1, checks the UART's LSR and scratch register,
; reads memory where nothing is mapped and an unclaimed port, prints what it
; read, and exits through isa-debug-exit with status 0x21 (exit code 67).
;
; Each memory probe writes a pattern first and reads it back, so that RAM
; cannot pass for a hole:
; - 0xa0000, the legacy VGA window: vireo has nothing there (an unclaimed
;   MMIO access: the write vanishes, the read is 0); QEMU's default VGA,
;   still unprogrammed, ignores the write and reads 0 too.
; - 0x100000 through the HMA (segment 0xffff, offset 0x10; A20 is on at
;   reset): RAM with the default -m, and an unclaimed address with -m 1M in
;   both emulators.
; Everything stays in real mode on purpose: the ROM must also run where KVM
; cannot run protected-mode guest code.

%include "common.inc"

VGA_WINDOW_SEG  equ 0xa000      ; 0xa0000
HMA_SEG         equ 0xffff      ; 0xffff:0x0010 is 0x100000
UNCLAIMED_PORT  equ 0x2f8       ; COM2, absent with a single -serial

start:
    rom_prologue
    call uart_init
    mov si, msg_hello
    call puts

    ; LSR after initialisation: THRE and TEMT set, nothing received.
    mov si, msg_lsr
    call puts
    mov dx, COM1 + UART_LSR
    in al, dx
    movzx eax, al
    mov cx, 2
    call put_hex

    ; The scratch register holds what was written (Linux's 8250 probe).
    mov si, msg_scr
    call puts
    mov dx, COM1 + UART_SCR
    mov al, 0x5a
    out dx, al
    in al, dx
    movzx eax, al
    call put_hex
    mov al, ','
    call putc
    mov al, 0xa5
    out dx, al
    in al, dx
    movzx eax, al
    call put_hex

    mov si, msg_vga
    call puts
    mov ax, VGA_WINDOW_SEG
    mov es, ax
    mov bx, 0
    call probe_memory
    mov si, msg_hma
    call puts
    mov ax, HMA_SEG
    mov es, ax
    mov bx, 0x10
    call probe_memory

    ; Unclaimed ports float: all ones at every width.
    mov si, msg_port
    call puts
    mov dx, UNCLAIMED_PORT + UART_LSR
    in al, dx
    movzx eax, al
    mov cx, 2
    call put_hex
    mov al, ','
    call putc
    mov dx, UNCLAIMED_PORT
    in ax, dx
    movzx eax, ax
    mov cx, 4
    call put_hex
    mov al, ','
    call putc
    in eax, dx
    mov cx, 8
    call put_hex

    mov si, msg_bye
    call puts
    debug_exit 0x21

; Writes a pattern at ES:BX, then prints the dword read back there and
; the word 0x1234 bytes further on.
probe_memory:
    mov dword [es:bx], 0x12345678
    mov eax, [es:bx]
    mov cx, 8
    call put_hex
    mov al, ','
    call putc
    movzx eax, word [es:bx + 0x1234]
    mov cx, 4
    call put_hex
    ret

msg_hello:  db "hello from the test ROM", 13, 10, 0
msg_lsr:    db "LSR=", 0
msg_scr:    db " SCR=", 0
msg_vga:    db 13, 10, "MEM[a0000]=", 0
msg_hma:    db " MEM[100000]=", 0
msg_port:   db 13, 10, "PORT[2f8]=", 0
msg_bye:    db 13, 10, "bye", 13, 10, 0

rom_epilogue
