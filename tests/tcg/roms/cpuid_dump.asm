; cpuid_dump.asm — prints CPUID leaves on COM1, one line per leaf/subleaf:
;   "LLLLLLLL.SS EAX EBX ECX EDX"  (hex)
; then exits through isa-debug-exit (port 0xf4, as run_rom_tests.py
; sets it up), status 1.
;
; Not a "rom-test": vireo's feature words differ from QEMU's by design
; (it advertises only what it implements). tests/tcg/compare_cpuid.py runs
; it on both and requires every other register to be equal and vireo's
; feature bits to be a subset of QEMU's. Runs entirely in real mode and
; uses only mov/movzx/add/xor/cmp/jcc/call/ret/out, so it needs nothing
; but CPUID from the system instructions. Hex digits come from a 256-entry
; table instead of shifts.
;
; Application processors also start at the reset vector on an emulator
; without INIT/SIPI; every CPU but APIC ID 0 halts at once.
bits 16
org 0

COM1      equ 0x3f8
DEBUG_EXIT equ 0xf4
SCRATCH   equ 0x600      ; 16 bytes of RAM at 0000:0600

start:
    cli
    xor ax, ax
    mov ss, ax
    mov es, ax
    mov sp, 0x7000
    mov ax, cs
    mov ds, ax

    ; Only the boot processor (initial APIC ID 0, leaf 1 EBX[31:24]) prints.
    mov eax, 1
    cpuid
    mov [es:SCRATCH], ebx
    cmp byte [es:SCRATCH + 3], 0
    jne park

    mov si, leaves
.next:
    mov eax, [si]
    mov ecx, [si + 4]
    cmp eax, 0xffffffff
    je finish
    mov [es:SCRATCH], eax
    mov [es:SCRATCH + 4], ecx
    mov di, SCRATCH
    call print_hex32
    mov al, '.'
    call putc
    mov al, [es:SCRATCH + 4]
    call print_byte
    mov eax, [si]            ; print_byte clobbered EAX
    mov ecx, [si + 4]
    cpuid
    mov [es:SCRATCH], eax
    mov [es:SCRATCH + 4], ebx
    mov [es:SCRATCH + 8], ecx
    mov [es:SCRATCH + 12], edx
    mov di, SCRATCH
.register:
    mov al, ' '
    call putc
    call print_hex32
    add di, 4
    cmp di, SCRATCH + 16
    jb .register
    mov al, 10
    call putc
    add si, 8
    jmp .next

finish:
    mov dx, DEBUG_EXIT
    mov al, 0
    out dx, al
park:
    cli
    hlt
    jmp park

; Prints the dword at es:di as 8 hex digits.
print_hex32:
    mov al, [es:di + 3]
    call print_byte
    mov al, [es:di + 2]
    call print_byte
    mov al, [es:di + 1]
    call print_byte
    mov al, [es:di]
    ; fall through

; Prints AL as two hex digits.
print_byte:
    push bx
    movzx bx, al
    add bx, bx
    mov ax, [cs:hex_pairs + bx]
    call putc
    mov al, ah
    call putc
    pop bx
    ret

putc:
    push dx
    mov dx, COM1
    out dx, al
    pop dx
    ret

; (leaf, subleaf) pairs, ended by 0xffffffff.
leaves:
    dd 0, 0
    dd 1, 0
    dd 2, 0
    dd 3, 0
    dd 4, 0
    dd 4, 1
    dd 4, 2
    dd 4, 3
    dd 4, 4
    dd 5, 0
    dd 6, 0
    dd 7, 0
    dd 7, 1
    dd 8, 0
    dd 0xa, 0
    dd 0xb, 0
    dd 0xb, 1
    dd 0xb, 2
    dd 0xc, 0
    dd 0xd, 0
    dd 0xd, 1
    dd 0xd, 2
    dd 0xe, 0              ; past the basic maximum: returns the last basic leaf
    dd 0x1f, 0
    dd 0x80000000, 0
    dd 0x80000001, 0
    dd 0x80000002, 0
    dd 0x80000003, 0
    dd 0x80000004, 0
    dd 0x80000005, 0
    dd 0x80000006, 0
    dd 0x80000007, 0
    dd 0x80000008, 0
    dd 0x80000009, 0
    dd 0x8000000a, 0
    dd 0x8000000b, 0       ; past the extended maximum
    dd 0x80000020, 0
    dd 0xc0000000, 0
    dd 0xffffffff, 0

hex_pairs:
%assign n 0
%rep 256
%substr hi "0123456789abcdef" (n / 16 + 1)
%substr lo "0123456789abcdef" (n % 16 + 1)
    db hi, lo
%assign n n + 1
%endrep

    times 0xfff0 - ($ - $$) db 0
reset_vector:
    jmp 0xf000:start
    times 0x10000 - ($ - $$) db 0
