#!/usr/bin/env python3
"""Real-mode test ROMs (tests/roms/*.asm) under vireo -accel kvm and under
qemu-system-x86_64 -accel tcg, the reference: both must print exactly the
expected bytes on COM1 and exit with the expected status.

  rom_test.py VIREO ROM_SOURCE_DIR

The ROMs are assembled with nasm at test time. The vireo half is skipped
when /dev/kvm cannot be opened, the QEMU half when QEMU is not installed;
with both skipped (or nasm missing) the test is skipped (exit 77).
"""

import os
import shutil
import sys

from harness import Results, assemble, kvm_unavailable_reason, qemu_path, run, scratch_dir, SKIP

# The command line both emulators get, as one would type it to try a ROM.
COMMON = ["-device", "isa-debug-exit,iobase=0xf4,iosize=4", "-display", "none", "-serial", "stdio"]

HELLO_START = ("hello from the test ROM\r\n"
               "LSR=60 SCR=5a,a5\r\n")
HELLO_END = ("PORT[2f8]=ff,ffff,ffffffff\r\n"
             "bye\r\n")


def reset_output(method, reboot):
    text = f"boot 01\r\nresetting through {method}\r\n"
    if reboot:
        text += "boot 02\r\nRAM survived the reset\r\n"
    return text


# name, ROM, extra options, expected COM1 output, expected exit status.
CASES = [
    ("hello_serial: UART, memory probes, unclaimed port", "hello_serial", [],
     HELLO_START + "MEM[a0000]=00000000,0000 MEM[100000]=12345678,0000\r\n" + HELLO_END, 67),
    ("hello_serial with -m 1M: 0x100000 is unclaimed MMIO", "hello_serial", ["-m", "1M"],
     HELLO_START + "MEM[a0000]=00000000,0000 MEM[100000]=00000000,0000\r\n" + HELLO_END, 67),
    ("reset through port 0x92, RAM kept, second boot exits", "reset_port92", [],
     reset_output("port 0x92", True), 69),
    ("reset through port 0x92 with -no-reboot exits 0", "reset_port92", ["-no-reboot"],
     reset_output("port 0x92", False), 0),
    ("reset through the i8042 (0xFE on port 0x64)", "reset_kbc", [],
     reset_output("port 0x64 (0xfe)", True), 69),
    ("reset through the i8042 with -no-reboot exits 0", "reset_kbc", ["-no-reboot"],
     reset_output("port 0x64 (0xfe)", False), 0),
]

ROMS = {
    "hello_serial": ("hello_serial.asm", []),
    "reset_port92": ("reset_count.asm", []),
    "reset_kbc": ("reset_count.asm", ["RESET_VIA_KBC"]),
}


def main():
    vireo, source_dir = sys.argv[1], sys.argv[2]
    results = Results()
    if shutil.which("nasm") is None:
        print("SKIP: nasm is not installed (Debian package nasm; scripts/setup installs it)")
        sys.exit(SKIP)

    work = scratch_dir("vireo-rom-test-")
    for name, (source, defines) in ROMS.items():
        assemble(os.path.join(source_dir, source), os.path.join(work, name + ".rom"), defines)

    kvm_problem = kvm_unavailable_reason()
    qemu = qemu_path()
    if kvm_problem:
        results.skip("the vireo half (-accel kvm)", kvm_problem)
    if qemu is None:
        results.skip("the QEMU half", "qemu-system-x86_64 is not installed (Debian package qemu-system-x86)")

    for what, rom, extra, expected, status in CASES:
        rom_path = os.path.join(work, rom + ".rom")
        runs = {}
        if not kvm_problem:
            runs["vireo -accel kvm"] = run([vireo, "-accel", "kvm", "-bios", rom_path] + COMMON + extra)
        if qemu:
            runs["qemu -accel tcg"] = run([qemu, "-accel", "tcg", "-bios", rom_path] + COMMON + extra)
        for who, r in runs.items():
            ok = (not r.timed_out and r.returncode == status and r.stdout_text == expected)
            results.check(ok, f"{who}: {what}",
                          f"expected exit {status} and stdout {expected!r}\n" + r.describe())
        if len(runs) == 2:
            v, q = runs.values()
            results.check(v.stdout == q.stdout and v.returncode == q.returncode,
                          f"vireo and QEMU agree: {what}",
                          "vireo:\n" + v.describe() + "\nqemu:\n" + q.describe())
    results.finish()


if __name__ == "__main__":
    main()
