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

PIT_COUNT    equ 11932      ; 99.998 Hz, Linux's LATCH for HZ=100

; Counters in low RAM (segment 0), bumped by the interrupt handlers.
PIT_IRQS     equ 0x500

start:
    rom_prologue
    call uart_init
    xor ax, ax
    mov es, ax
    mov word [es:PIT_IRQS], 0
    mov word [es:RTC_PERIODIC], 0
    mov word [es:RTC_UPDATES], 0

    call install_spurious_vectors
    mov word [es:MASTER_BASE * 4], irq0_handler
    mov word [es:SLAVE_BASE * 4], irq8_handler

    call setup_virtual_wire
    mov ecx, 0x1b               ; IA32_APIC_BASE
    rdmsr
    mov si, msg_apic_base
    call print
    mov cx, 8
    call put_hex
    call newline
    mov ebx, 0xfee00000
    mov eax, [fs:ebx + 0x30]    ; version
    mov si, msg_apic_version
    call print
    call put_hex
    call newline
    mov eax, [fs:ebx + 0x350]
    mov si, msg_apic_lint0
    call print
    call put_hex
    call newline

    mov ax, 0xfefa              ; IRQ 0 and the cascade; IRQ 8
    call init_pics

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

    call rtc_start_64hz

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
    mov bx, [es:PIT_IRQS]
    call ch2_start
    call ch2_wait
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
    call rtc_count_flags
    mov al, 0x20
    out PIC2_CMD, al
    out PIC1_CMD, al
    pop ds
    pop ax
    iret

%include "pc_legacy.inc"

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
