; Lost RTC periodic interrupts, from a -bios ROM in real mode: the guest
; counts the RTC's 64 Hz periodic interrupts over two RTC seconds while it
; keeps interrupts disabled for 50 ms out of every 100 ms (timed by PIT
; counter 2), the way a busy guest that keeps time by counting ticks
; misses some. Periods that end while the previous interrupt is unread
; merge into one on the hardware; with -rtc driftfix=slew the emulator owes
; them to the guest and raises them later, so the count comes out as 128.
; Assembled with -DAPIC_MODE, IRQ 8 goes through the IOAPIC (pin 8, edge)
; to the local APIC instead of through the 8259 pair, as an APIC-mode OS
; has it: QEMU re-raises lost ticks only in that mode (in PIC mode its
; slew policy sees every tick as lost and floods the guest).
; Output on COM1, "name: value" lines, then isa-debug-exit (iobase=0xf4)
; with status 1. tests/integration/pc_timers_test.py runs it with and
; without driftfix=slew on vireo and on QEMU.
;   nasm -f bin -I tests/roms/ [-DAPIC_MODE] -o rtc_slew.rom tests/hw/roms/rtc_slew.asm
%include "common.inc"

; Noted in low RAM (segment 0) by the IRQ 8 handler.
PERIODIC_AT_1 equ 0x506     ; RTC_PERIODIC when the first update came
PERIODIC_AT_3 equ 0x508     ; ... and the third

start:
    rom_prologue
    call uart_init
    xor ax, ax
    mov es, ax
    mov word [es:RTC_PERIODIC], 0
    mov word [es:RTC_UPDATES], 0
    call install_spurious_vectors
    mov word [es:SLAVE_BASE * 4], irq8_handler
    call setup_virtual_wire
%ifdef APIC_MODE
    mov ax, 0xffff              ; the 8259s stay quiet
    call init_pics
    ; IOAPIC redirection entry 8: vector SLAVE_BASE, fixed, physical
    ; destination APIC 0, edge, active high, unmasked.
    mov ebx, 0xfec00000
    mov dword [fs:ebx], 0x10 + 2 * 8 + 1
    mov dword [fs:ebx + 0x10], 0
    mov dword [fs:ebx], 0x10 + 2 * 8
    mov dword [fs:ebx + 0x10], SLAVE_BASE
%else
    mov ax, 0xfefb              ; the cascade; IRQ 8
    call init_pics
%endif

    call rtc_start_64hz

    ; 50 ms with interrupts off, 50 ms on, until the third update.
    xor bp, bp                  ; stretches with interrupts off
    sti
.cycle:
    cli
    call ch2_start
    call ch2_wait
    inc bp
    sti
    call ch2_start
    call ch2_wait
    cmp word [es:RTC_UPDATES], 3
    jb .cycle
    cli

    mov si, msg_periodic
    call print
    mov ax, [es:PERIODIC_AT_3]
    sub ax, [es:PERIODIC_AT_1]
    call put_dec
    call newline
    mov si, msg_stretches
    call print
    mov ax, bp
    call put_dec
    call newline
    mov si, msg_done
    call print
    debug_exit 0

; IRQ 8: count PF and UF from register C (reading it ends the interrupt);
; at the first and third update note the periodic count. EOI the slave,
; then the master's cascade.
irq8_handler:
    push ax
    push ebx
    push ds
    xor ax, ax
    mov ds, ax
    call rtc_count_flags
    test al, 0x10
    jz .eoi
    mov bx, [RTC_PERIODIC]
    cmp word [RTC_UPDATES], 1
    jne .not_first
    mov [PERIODIC_AT_1], bx
.not_first:
    cmp word [RTC_UPDATES], 3
    jne .eoi
    mov [PERIODIC_AT_3], bx
.eoi:
%ifdef APIC_MODE
    mov ebx, 0xfee000b0         ; the local APIC's EOI register
    mov dword [fs:ebx], 0
%else
    mov al, 0x20
    out PIC2_CMD, al
    out PIC1_CMD, al
%endif
    pop ds
    pop ebx
    pop ax
    iret

%include "pc_legacy.inc"

msg_periodic:   db "rtc periodic irqs in 2 s: ", 0
msg_stretches:  db "stretches with interrupts off: ", 0
msg_done:       db "done", 13, 10, 0

    rom_epilogue
