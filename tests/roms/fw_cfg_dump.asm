; fw_cfg_dump: reads QEMU's fw_cfg device the way firmware does, over both
; interfaces, and prints what it finds on COM1 so the test can compare
; vireo with QEMU (tests/integration/fw_cfg_test.py):
;
;   SIG, ID, DMASIG      the signature (I/O), FW_CFG_ID, the DMA register's
;                        read-back signature
;   DIR / F lines        the file directory over I/O: selector, size, name
;   K lines              fixed items over I/O: selector, first bytes
;   FILE / FILEIO lines  some files found by name in the directory (read
;                        over DMA into RAM), their contents over DMA and I/O
;   H lines              hostile requests: DMA outside RAM, a wrapping
;                        address, a descriptor outside RAM, selectors that
;                        do not exist, a write to a read-only item, skip,
;                        select-only; then "alive" and exit status 0x21.
;
; Everything stays in real mode with 32-bit registers; DMA descriptors and
; buffers live in low RAM (segment 0).

%include "common.inc"
cpu 686

FW_CFG_SEL      equ 0x510
FW_CFG_DATA     equ 0x511
FW_CFG_DMA      equ 0x514
DMA_ERROR       equ 0x01
DMA_READ        equ 0x02
DMA_SKIP        equ 0x04
DMA_SELECT      equ 0x08
DMA_WRITE       equ 0x10

DESC            equ 0x1000          ; FWCfgDmaAccess (16 bytes)
DIRBUF          equ 0x2000          ; the file directory (up to 4 + 32 * 64)
BUF             equ 0x3000          ; file contents

start:
    rom_prologue
    xor ax, ax
    mov es, ax
    call uart_init

    ; Signature over I/O, as characters.
    mov si, msg_sig
    call puts
    xor ax, ax
    call cfg_select
    mov cx, 4
.sig:
    call cfg_byte
    call putc
    loop .sig

    mov si, msg_id
    call puts
    mov ax, 1
    call cfg_select
    mov cx, 4
    call io_hex

    ; The DMA register reads back "QEMU CFG" byte by byte.
    mov si, msg_dmasig
    call puts
    mov dx, FW_CFG_DMA
    mov cx, 8
.dmasig:
    in al, dx
    call hex8
    inc dx
    loop .dmasig

    ; A 16-bit read of the selector port is not a data read.
    mov si, msg_inw
    call puts
    xor ax, ax
    call cfg_select
    mov dx, FW_CFG_SEL
    in ax, dx
    movzx eax, ax
    mov cx, 4
    call put_hex
    mov al, ' '
    call putc
    call cfg_byte               ; still the first byte of the signature
    call putc

    ; The directory over I/O.
    mov si, msg_dir
    call puts
    mov ax, 0x19
    call cfg_select
    call cfg_be32
    mov ebp, eax
    mov cx, 8
    call put_hex
.entry:
    test ebp, ebp
    jz .dir_done
    dec ebp
    mov si, msg_f
    call puts
    call cfg_be32               ; size
    mov ebx, eax
    call cfg_byte               ; select (be16)
    mov ah, al
    call cfg_byte
    movzx eax, ax
    mov cx, 4
    call put_hex
    mov al, ' '
    call putc
    mov eax, ebx
    mov cx, 8
    call put_hex
    mov al, ' '
    call putc
    call cfg_byte               ; reserved
    call cfg_byte
    mov cx, 56
.name:
    call cfg_byte
    test al, al
    jz .name_pad
    call putc
.name_pad:
    loop .name
    jmp .entry
.dir_done:

    ; Fixed items over I/O: selector, byte count to print.
    mov si, keys
.key:
    lodsw
    cmp ax, 0xffff
    je .keys_done
    mov bx, ax
    lodsw
    push si
    mov cx, ax
    mov si, msg_k
    call puts
    mov ax, bx
    push cx
    movzx eax, ax
    mov cx, 4
    call put_hex
    pop cx
    mov al, ' '
    call putc
    mov ax, bx
    call cfg_select
    call io_hex
    pop si
    jmp .key
.keys_done:

    ; The directory again, over DMA into RAM, to find files by name.
    mov eax, (0x19 << 16) | DMA_SELECT | DMA_READ
    mov ecx, 4 + 32 * 64
    mov ebx, DIRBUF
    call dma
    mov si, files
.file:
    cmp byte [si], 0
    je .files_done
    call find_file              ; DI = entry or 0; SI past the name
    push si
    test di, di
    jz .next_file
    mov si, di
    add si, 8
    push si
    mov si, msg_file
    call puts
    pop si
    call puts_es
    mov al, ' '
    call putc
    mov eax, [es:di]
    bswap eax
    mov ebp, eax                ; size
    mov cx, 8
    call put_hex
    mov al, ' '
    call putc
    ; Contents over DMA (at most 256 bytes shown).
    movzx eax, word [es:di + 4]
    xchg al, ah
    shl eax, 16
    or eax, DMA_SELECT | DMA_READ
    mov ecx, ebp
    cmp ecx, 256
    jbe .fits
    mov ecx, 256
.fits:
    mov ebx, BUF
    push ecx
    call dma
    pop ecx
    mov bx, BUF
.dump:
    jcxz .dumped
    mov al, [es:bx]
    call hex8
    inc bx
    dec cx
    jmp .dump
.dumped:
    ; and over I/O.
    mov si, msg_io
    call puts
    mov ax, [es:di + 4]
    xchg al, ah
    call cfg_select
    mov ecx, ebp
    cmp ecx, 256
    jbe .fits_io
    mov ecx, 256
.fits_io:
    call io_hex
.next_file:
    pop si
    jmp .file
.files_done:

    ; H1: a DMA read to an address no RAM holds (1 TiB).
    mov si, msg_h1
    call puts
    mov dword [es:DESC + 8], 0x00010000     ; be64 high half 0x100: 0x100_0000_0000
    mov eax, DMA_SELECT | DMA_READ
    mov ecx, 4
    mov ebx, 0
    call dma_keep_high
    call print_ctl

    ; H2: an address range that wraps past 2^64.
    mov si, msg_h2
    call puts
    mov dword [es:DESC + 8], 0xffffffff
    mov eax, (0x19 << 16) | DMA_SELECT | DMA_READ
    mov ecx, 0x100
    mov ebx, 0xfffffff0
    call dma_keep_high
    call print_ctl

    ; H3: the descriptor itself outside RAM (3 GiB with the test's -m).
    mov si, msg_h3
    call puts
    mov dx, FW_CFG_DMA
    xor eax, eax
    out dx, eax
    mov dx, FW_CFG_DMA + 4
    mov eax, 0xc0000000
    bswap eax
    out dx, eax
    mov al, 'o'
    call putc
    mov al, 'k'
    call putc

    ; H4: selectors that do not exist read zeros, over I/O and DMA.
    mov si, msg_h4
    call puts
    mov ax, 0x3fff
    call cfg_select
    mov cx, 4
    call io_hex
    mov al, ' '
    call putc
    mov ax, 0x1234
    call cfg_select
    mov cx, 4
    call io_hex
    mov al, ' '
    call putc
    call fill_buf
    mov eax, (0x0123 << 16) | DMA_SELECT | DMA_READ
    mov ecx, 8
    mov ebx, BUF
    call dma
    call print_ctl
    mov al, ' '
    call putc
    mov cx, 8
    call buf_hex

    ; H5: a DMA write to the (read-only) signature fails and changes nothing.
    mov si, msg_h5
    call puts
    mov dword [es:BUF], 0x64636261
    mov eax, DMA_SELECT | DMA_WRITE
    mov ecx, 4
    mov ebx, BUF
    call dma
    call print_ctl
    mov al, ' '
    call putc
    call print_signature

    ; H6: a byte written to the data port is ignored.
    mov si, msg_h6
    call puts
    xor ax, ax
    call cfg_select
    mov dx, FW_CFG_DATA
    mov al, 'X'
    out dx, al
    call print_signature

    ; H7: DMA skip moves the offset without touching memory.
    mov si, msg_h7
    call puts
    call fill_buf
    mov eax, DMA_SELECT | DMA_SKIP
    mov ecx, 2
    mov ebx, BUF
    call dma
    call print_ctl
    mov al, ' '
    call putc
    call cfg_byte
    call putc
    call cfg_byte
    call putc
    mov al, ' '
    call putc
    mov cx, 2
    call buf_hex

    ; H8: select only (no read/write/skip bit).
    mov si, msg_h8
    call puts
    mov eax, (1 << 16) | DMA_SELECT
    mov ecx, 4
    mov ebx, BUF
    call dma
    call print_ctl
    mov al, ' '
    call putc
    mov cx, 4
    call io_hex

    ; H9: a read past the end of an item gives zeros after it.
    mov si, msg_h9
    call puts
    call fill_buf
    mov eax, DMA_SELECT | DMA_READ
    mov ecx, 8
    mov ebx, BUF
    call dma
    call print_ctl
    mov al, ' '
    call putc
    mov cx, 8
    call buf_hex

    mov si, msg_alive
    call puts
    debug_exit 0x21

; --- fw_cfg helpers -------------------------------------------------------

cfg_select:                     ; AX = selector
    push dx
    mov dx, FW_CFG_SEL
    out dx, ax
    pop dx
    ret

cfg_byte:                       ; AL = next data byte
    push dx
    mov dx, FW_CFG_DATA
    in al, dx
    pop dx
    ret

cfg_be32:                       ; EAX = next four data bytes, big-endian
    push cx
    xor eax, eax
    mov cx, 4
.b:
    shl eax, 8
    call cfg_byte
    loop .b
    pop cx
    ret

io_hex:                         ; prints CX data bytes in hex
    jcxz .done
.b:
    call cfg_byte
    call hex8
    loop .b
.done:
    ret

; DMA: EAX = control, ECX = length, EBX = low 32 bits of the address
; (dma clears the high half; dma_keep_high keeps [DESC + 8]).
dma:
    mov dword [es:DESC + 8], 0
dma_keep_high:
    bswap eax
    mov [es:DESC], eax
    bswap ecx
    mov [es:DESC + 4], ecx
    bswap ebx
    mov [es:DESC + 12], ebx
    mov dx, FW_CFG_DMA
    xor eax, eax
    out dx, eax                 ; high half of the descriptor's address
    mov dx, FW_CFG_DMA + 4
    mov eax, DESC
    bswap eax
    out dx, eax                 ; low half: starts the transfer
    ret

print_ctl:                      ; the control word the device left
    mov si, msg_ctl
    call puts
    mov eax, [es:DESC]
    bswap eax
    mov cx, 8
    jmp put_hex

print_signature:                ; the signature's four bytes over I/O
    xor ax, ax
    call cfg_select
    mov cx, 4
.c:
    call cfg_byte
    call putc
    loop .c
    ret

fill_buf:                       ; BUF[0..16) = 0xaa
    mov dword [es:BUF], 0xaaaaaaaa
    mov dword [es:BUF + 4], 0xaaaaaaaa
    mov dword [es:BUF + 8], 0xaaaaaaaa
    mov dword [es:BUF + 12], 0xaaaaaaaa
    ret

buf_hex:                        ; CX bytes of BUF in hex
    mov bx, BUF
.b:
    mov al, [es:bx]
    call hex8
    inc bx
    loop .b
    ret

; Finds the NUL-terminated name at DS:SI in the directory at ES:DIRBUF.
; DI = its entry (or 0); SI = past the name.
find_file:
    mov eax, [es:DIRBUF]
    bswap eax
    mov cx, ax
    mov di, DIRBUF + 4
.entry:
    jcxz .none
    push si
    push di
    add di, 8
.cmp:
    mov al, [si]
    cmp al, [es:di]
    jne .differ
    test al, al
    jz .found
    inc si
    inc di
    jmp .cmp
.found:
    pop di
    pop si
    jmp .skip_name
.differ:
    pop di
    pop si
    add di, 64
    dec cx
    jmp .entry
.none:
    xor di, di
.skip_name:
    lodsb
    test al, al
    jnz .skip_name
    ret

puts_es:                        ; the NUL-terminated string at ES:SI
    mov al, [es:si]
    test al, al
    jz .done
    call putc
    inc si
    jmp puts_es
.done:
    ret

hex8:                           ; AL in two hex digits
    push eax
    push cx
    movzx eax, al
    mov cx, 2
    call put_hex
    pop cx
    pop eax
    ret

; --- data -----------------------------------------------------------------

keys:                           ; selector, bytes to print
    dw 0x02, 16                 ; UUID
    dw 0x03, 8                  ; RAM size
    dw 0x04, 2                  ; nographic
    dw 0x05, 2                  ; nb_cpus
    dw 0x0d, 32                 ; NUMA
    dw 0x0e, 2                  ; boot menu
    dw 0x0f, 2                  ; max_cpus
    dw 0x4005, 2                ; nb_cpus through the write channel bit
    dw 0x8002, 4                ; irq0 override
    dw 0x8004, 121              ; HPET
    dw 0xffff

files:
    db "etc/e820", 0
    db "bootorder", 0
    db "etc/boot-fail-wait", 0
    db "etc/boot-menu-wait", 0
    db "bios-geometry", 0
    db 0

msg_sig:    db "SIG ", 0
msg_id:     db 13, 10, "ID ", 0
msg_dmasig: db 13, 10, "DMASIG ", 0
msg_inw:    db 13, 10, "INW ", 0
msg_dir:    db 13, 10, "DIR ", 0
msg_f:      db 13, 10, "F ", 0
msg_k:      db 13, 10, "K ", 0
msg_file:   db 13, 10, "FILE ", 0
msg_io:     db " IO ", 0
msg_ctl:    db "ctl=", 0
msg_h1:     db 13, 10, "H1 ", 0
msg_h2:     db 13, 10, "H2 ", 0
msg_h3:     db 13, 10, "H3 ", 0
msg_h4:     db 13, 10, "H4 ", 0
msg_h5:     db 13, 10, "H5 ", 0
msg_h6:     db 13, 10, "H6 ", 0
msg_h7:     db 13, 10, "H7 ", 0
msg_h8:     db 13, 10, "H8 ", 0
msg_h9:     db 13, 10, "H9 ", 0
msg_alive:  db 13, 10, "alive", 13, 10, 0

rom_epilogue
