; boot_sector: an MBR boot sector (the firmware loads it at 0:0x7c00) that
; prints "booted from disk NAME" on COM1 and leaves through isa-debug-exit
; with status EXIT. The fw-cfg test builds one per disk (-DNAME=..,
; -DEXIT=..) to see which disk the firmware's boot order picked.

bits 16
cpu 386
org 0x7c00

COM1            equ 0x3f8
DEBUG_EXIT_PORT equ 0xf4

    cli
    xor ax, ax
    mov ds, ax
    mov ss, ax
    mov sp, 0x7c00
    mov si, message
.next:
    lodsb
    test al, al
    jz .done
    mov ah, al
    mov dx, COM1 + 5
.wait:
    in al, dx
    test al, 0x20               ; transmit holding register empty
    jz .wait
    mov al, ah
    mov dx, COM1
    out dx, al
    jmp .next
.done:
    mov al, EXIT
    out DEBUG_EXIT_PORT, al
.hang:
    hlt
    jmp .hang

message: db "booted from disk ", NAME, 13, 10, 0

    times 510 - ($ - $$) db 0
    dw 0xaa55
