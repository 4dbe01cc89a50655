; The PC's legacy interrupt path end to end, from a -bios ROM in real mode:
; the local APIC put in virtual wire mode as SeaBIOS does (after reset its
; LINT0 is masked, on QEMU 7.2 as on hardware; the ROM reaches the APIC
; page from big real mode), the 8259A pair programmed as Linux does, the
; PIT's counter 0 in mode 2 at 100 Hz on IRQ 0, the RTC's periodic (64 Hz)
; and update-ended interrupts on IRQ 8 through the cascade, and counter 2
; through port 0x61. The RTC's once-a-second update interrupts time two
; seconds, over which the IRQ 0 and periodic interrupts are counted; then
; counter 2 times 50 ms in IRQ 0s.
; Output on COM1, one "name: value" line each, then isa-debug-exit
; (iobase=0xf4) with status 1. tests/integration/pc_timers_test.py runs it
; on vireo and on QEMU and compares the lines (counts within a tolerance).
;   nasm -f bin -I tests/roms/ -o pc_timers.rom tests/hw/roms/pc_timers.asm
%include "common.inc"
cpu 686                         ; RDMSR/WRMSR

PIC1_CMD     equ 0x20
PIC1_DATA    equ 0x21
PIC2_CMD     equ 0xa0
PIC2_DATA    equ 0xa1
PIT_CH0      equ 0x40
PIT_CH2      equ 0x42
PIT_MODE     equ 0x43
PORT_B       equ 0x61
CMOS_INDEX   equ 0x70
CMOS_DATA    equ 0x71
MASTER_BASE  equ 0x08       ; IRQ 0-7 on vectors 0x08-0x0f, as a PC BIOS
SLAVE_BASE   equ 0x70       ; IRQ 8-15 on 0x70-0x77
PIT_COUNT    equ 11932      ; 99.998 Hz, Linux's LATCH for HZ=100
CAL2_LATCH   equ 59659      ; 50 ms, Linux's CAL2_LATCH

; Counters in low RAM (segment 0), bumped by the interrupt handlers.
PIT_IRQS     equ 0x500
RTC_PERIODIC equ 0x502
RTC_UPDATES  equ 0x504

start:
    rom_prologue
    call uart_init
    xor ax, ax
    mov es, ax
    mov word [es:PIT_IRQS], 0
    mov word [es:RTC_PERIODIC], 0
    mov word [es:RTC_UPDATES], 0

    ; The interrupt vector table: every PIC vector gets a handler.
    mov di, MASTER_BASE * 4
    mov cx, 8
.master_vectors:
    mov word [es:di], spurious_master
    mov word [es:di + 2], 0xf000
    add di, 4
    loop .master_vectors
    mov di, SLAVE_BASE * 4
    mov cx, 8
.slave_vectors:
    mov word [es:di], spurious_slave
    mov word [es:di + 2], 0xf000
    add di, 4
    loop .slave_vectors
    mov word [es:MASTER_BASE * 4], irq0_handler
    mov word [es:SLAVE_BASE * 4], irq8_handler

    ; Virtual wire mode, as SeaBIOS sets it up: APIC software-enabled,
    ; LINT0 ExtINT (level), LINT1 NMI. Before the PIC is unmasked, since
    ; QEMU only looks at INTR when it changes.
    mov ecx, 0x1b               ; IA32_APIC_BASE
    rdmsr
    mov si, msg_apic_base
    call print
    mov cx, 8
    call put_hex
    call newline
    call enter_big_real_mode
    mov ebx, 0xfee00000
    mov eax, [fs:ebx + 0x30]    ; version
    mov si, msg_apic_version
    call print
    call put_hex
    call newline
    mov eax, [fs:ebx + 0xf0]
    or eax, 0x100               ; SVR: software enable
    mov [fs:ebx + 0xf0], eax
    mov dword [fs:ebx + 0x350], 0x8700
    mov dword [fs:ebx + 0x360], 0x0400
    mov eax, [fs:ebx + 0x350]
    mov si, msg_apic_lint0
    call print
    call put_hex
    call newline

    ; init_8259A: mask all, ICW1-4 on both, then the masks we want.
    mov al, 0xff
    out PIC1_DATA, al
    out PIC2_DATA, al
    mov al, 0x11                ; ICW1: edge, cascade, ICW4 follows
    out PIC1_CMD, al
    mov al, MASTER_BASE         ; ICW2
    out PIC1_DATA, al
    mov al, 0x04                ; ICW3: slave on IR2
    out PIC1_DATA, al
    mov al, 0x01                ; ICW4: 8086 mode, normal EOI
    out PIC1_DATA, al
    mov al, 0x11
    out PIC2_CMD, al
    mov al, SLAVE_BASE
    out PIC2_DATA, al
    mov al, 0x02                ; ICW3: slave ID 2
    out PIC2_DATA, al
    mov al, 0x01
    out PIC2_DATA, al
    mov al, 0xfa                ; IRQ 0 and the cascade
    out PIC1_DATA, al
    mov al, 0xfe                ; IRQ 8
    out PIC2_DATA, al

    mov si, msg_imr
    call print
    in al, PIC1_DATA
    mov cx, 2
    call put_hex
    mov al, ' '
    call putc
    in al, PIC2_DATA
    call put_hex
    call newline

    ; PIT counter 0: mode 2, LSB then MSB, as Linux's periodic mode.
    mov al, 0x34
    out PIT_MODE, al
    mov al, PIT_COUNT & 0xff
    out PIT_CH0, al
    mov al, PIT_COUNT >> 8
    out PIT_CH0, al
    mov al, 0xe2                ; read-back: status of counter 0
    out PIT_MODE, al
    in al, PIT_CH0
    and al, 0x7f                ; OUT depends on the moment
    mov si, msg_pit_status
    call print
    mov cx, 2
    call put_hex
    call newline

    ; RTC: 64 Hz periodic rate, periodic and update-ended interrupts.
    mov al, 0x0a
    out CMOS_INDEX, al
    mov al, 0x2a
    out CMOS_DATA, al
    mov al, 0x0b
    out CMOS_INDEX, al
    mov al, 0x52                ; PIE | UIE | 24-hour, BCD
    out CMOS_DATA, al
    mov al, 0x0c
    out CMOS_INDEX, al
    in al, CMOS_DATA            ; clear any old flags

    sti
    ; From the first update to the third: two seconds of the RTC.
.wait_first:
    hlt
    cmp word [es:RTC_UPDATES], 1
    jb .wait_first
    mov bx, [es:PIT_IRQS]
    mov dx, [es:RTC_PERIODIC]
.wait_third:
    hlt
    cmp word [es:RTC_UPDATES], 3
    jb .wait_third
    mov ax, [es:PIT_IRQS]
    sub ax, bx
    mov bp, [es:RTC_PERIODIC]
    sub bp, dx

    mov si, msg_pit_irqs
    call print
    call put_dec
    call newline
    mov si, msg_rtc_irqs
    call print
    mov ax, bp
    call put_dec
    call newline

    ; Counter 2 through port 0x61, as pit_calibrate_tsc: gate on, speaker
    ; off, mode 0 with 50 ms, then wait for OUT2 while IRQ 0 keeps counting.
    in al, PORT_B
    and al, 0xfd
    or al, 0x01
    out PORT_B, al
    mov al, 0xb0
    out PIT_MODE, al
    mov bx, [es:PIT_IRQS]
    mov al, CAL2_LATCH & 0xff
    out PIT_CH2, al
    mov al, CAL2_LATCH >> 8
    out PIT_CH2, al
.wait_out2:
    in al, PORT_B
    test al, 0x20
    jz .wait_out2
    mov ax, [es:PIT_IRQS]
    sub ax, bx
    mov si, msg_ch2
    call print
    call put_dec
    call newline

    cli
    mov si, msg_done
    call print
    debug_exit 0

; IRQ 0: count, then a non-specific EOI.
irq0_handler:
    push ax
    push ds
    xor ax, ax
    mov ds, ax
    inc word [PIT_IRQS]
    mov al, 0x20
    out PIC1_CMD, al
    pop ds
    pop ax
    iret

; IRQ 8: register C says which RTC interrupts happened (reading it ends
; them); EOI the slave, then the master's cascade.
irq8_handler:
    push ax
    push ds
    xor ax, ax
    mov ds, ax
    mov al, 0x0c
    out CMOS_INDEX, al
    in al, CMOS_DATA
    test al, 0x40
    jz .no_periodic
    inc word [RTC_PERIODIC]
.no_periodic:
    test al, 0x10
    jz .no_update
    inc word [RTC_UPDATES]
.no_update:
    mov al, 0x20
    out PIC2_CMD, al
    out PIC1_CMD, al
    pop ds
    pop ax
    iret

; A spurious IRQ 7 needs no EOI; other master IRQs are masked.
spurious_master:
    iret
; A spurious IRQ 15 still needs the master's EOI for the cascade.
spurious_slave:
    push ax
    mov al, 0x20
    out PIC1_CMD, al
    pop ax
    iret

; Loads FS with a flat 4 GiB data segment and returns to real mode, where
; FS keeps its 4 GiB limit ("big real mode"), to reach the APIC page.
enter_big_real_mode:
    push eax
    push bx
    lgdt [cs:gdt_descriptor]
    mov eax, cr0
    or al, 1
    mov cr0, eax
    mov bx, 0x08
    mov fs, bx
    and al, 0xfe
    mov cr0, eax
    xor bx, bx
    mov fs, bx
    pop bx
    pop eax
    ret

gdt:
    dq 0
    dq 0x00cf92000000ffff       ; 0x08: data, base 0, limit 4 GiB
gdt_descriptor:
    dw gdt_descriptor - gdt - 1
    dd 0xf0000 + gdt

; Prints the NUL-terminated string at DS:SI (common.inc's puts without
; LODSB, so the test needs no string instructions from the CPU).
print:
    push ax
.next:
    mov al, [si]
    inc si
    test al, al
    jz .done
    call putc
    jmp .next
.done:
    pop ax
    ret

; Prints AX in decimal, by subtracting powers of ten (no DIV needed).
put_dec:
    push ax
    push bx
    push cx
    push dx
    push si
    mov si, powers_of_ten
    xor dx, dx                  ; DL: a digit was printed already
.power:
    mov bx, [si]
    add si, 2
    xor cx, cx
.subtract:
    cmp ax, bx
    jb .digit
    sub ax, bx
    inc cx
    jmp .subtract
.digit:
    test cx, cx
    jnz .print
    test dl, dl
    jnz .print
    cmp bx, 1
    jne .power                  ; no leading zeros, but print a lone 0
.print:
    push ax
    mov al, cl
    add al, '0'
    call putc
    pop ax
    mov dl, 1
    cmp bx, 1
    jne .power
    pop si
    pop dx
    pop cx
    pop bx
    pop ax
    ret

powers_of_ten: dw 10000, 1000, 100, 10, 1

newline:
    push ax
    mov al, 13
    call putc
    mov al, 10
    call putc
    pop ax
    ret

msg_imr:        db "pic imr: ", 0
msg_apic_base:  db "apic base: ", 0
msg_apic_version: db "apic version: ", 0
msg_apic_lint0: db "apic lint0: ", 0
msg_pit_status: db "pit ch0 status: ", 0
msg_pit_irqs:   db "pit irqs in 2 s: ", 0
msg_rtc_irqs:   db "rtc periodic irqs in 2 s: ", 0
msg_ch2:        db "pit irqs while ch2 counts 50 ms: ", 0
msg_done:       db "done", 13, 10, 0

    rom_epilogue
