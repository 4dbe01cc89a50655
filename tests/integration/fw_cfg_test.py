#!/usr/bin/env python3
"""fw_cfg through the real CLI on -accel tcg, with QEMU as the reference.

  fw_cfg_test.py VIREO ROM_SOURCE_DIR

1. tests/roms/fw_cfg_dump.asm as -bios reads fw_cfg over I/O and DMA
   (signature, ID, directory, fixed items, etc/e820, bootorder, the boot
   wait files) and makes hostile requests (DMA outside RAM, a wrapping
   range, a descriptor outside RAM, missing selectors, a write to a
   read-only item); every line but the directory must equal QEMU's, the
   directory must list vireo's files with QEMU's sizes, and some values are
   checked against what the command line asked for.
2. Debian's SeaBIOS boots one of two virtio-blk disks (tests/roms/
   boot_sector.asm, one per disk) by bootindex, then with the indices
   swapped; -boot order=/once= as CMOS bytes (cmos_dump.asm); with an unbootable first disk, -boot reboot-timeout=0 makes
   SeaBIOS reboot at once (-no-reboot exits); under -nographic SeaBIOS
   prints on COM1 and offers its boot menu only with menu=on. QEMU must
   do the same.
"""

import os
import re
import shutil
import struct
import sys

from harness import Results, assemble, qemu_path, run, scratch_dir, SKIP

DEBUG_EXIT = ["-device", "isa-debug-exit,iobase=0xf4,iosize=4"]
SEABIOS = "/usr/share/seabios/bios-256k.bin"


def dump_lines(text):
    return [l for l in text.replace("\r", "").split("\n") if l]


def split_dump(lines):
    """(directory {name: (select, size)}, other lines)."""
    files, other = {}, []
    for l in lines:
        m = re.fullmatch(r"F ([0-9a-f]{4}) ([0-9a-f]{8}) (.*)", l)
        if m:
            files[m.group(3)] = (int(m.group(1), 16), int(m.group(2), 16))
        elif not l.startswith("DIR "):
            other.append(l)
    return files, other


def expected_e820(ram_mib, amd=True):
    ram = ram_mib << 20
    below = 0xc0000000 if ram >= 0xe0000000 else ram
    entries = []
    if amd:
        entries.append((0xfd00000000, 0x300000000, 2))
    entries.append((0, below, 1))
    if ram > below:
        entries.append((1 << 32, ram - below, 1))
    return b"".join(struct.pack("<QQI", *e) for e in entries).hex()


def check_dump(results, vireo, qemu, rom, what, extra, expect):
    argv = ["-accel", "tcg", "-bios", rom, "-display", "none", "-serial", "stdio"] + DEBUG_EXIT + extra
    v = run([vireo] + argv, timeout=60)
    lines = dump_lines(v.stdout_text)
    ok = v.returncode == 67 and lines and lines[-1] == "alive"
    results.check(ok, f"{what}: the dump ROM runs to the end on vireo and vireo survives the hostile requests",
                  v.describe())
    files, other = split_dump(lines)
    names = sorted(files)
    results.check([files[n][0] for n in names] == list(range(0x20, 0x20 + len(names))),
                  f"{what}: vireo's directory is sorted by name, selectors from 0x20", repr(files))
    values = {}
    for l in other:
        words = l.split(" ", 2 if l.startswith(("K ", "FILE ")) else 1)
        if len(words) > 1:
            values[" ".join(words[:-1])] = words[-1]
    for key, want in expect.items():
        results.check(values.get(key) == want, f"{what}: {key} is {want}",
                      f"got {values.get(key)!r}\n" + v.describe())
    if qemu:
        q = run([qemu] + argv, timeout=60)
        qfiles, qother = split_dump(dump_lines(q.stdout_text))
        results.check(q.returncode == 67 and other == qother, f"{what}: every item and hostile answer equals QEMU's",
                      "\n".join(f"vireo: {a}\nqemu:  {b}" for a, b in zip(other, qother) if a != b) +
                      "\n" + v.describe() + "\n" + q.describe())
        results.check(all(qfiles.get(n, (0, -1))[1] == files[n][1] for n in files),
                      f"{what}: vireo's files are QEMU's, with the same sizes", f"vireo {files}\nqemu {qfiles}")


def boot_disks(emulator, disks, extra=(), timeout=60):
    argv = [emulator, "-accel", "tcg", "-display", "none", "-serial", "stdio", "-no-reboot"] + DEBUG_EXIT
    for i, (image, bootindex) in enumerate(disks):
        argv += ["-drive", f"file={image},format=raw,if=none,id=d{i}"]
        dev = f"virtio-blk-pci,drive=d{i},addr={i + 4:#x}"
        if bootindex is not None:
            dev += f",bootindex={bootindex}"
        argv += ["-device", dev]
    return run(argv + list(extra), timeout=timeout)


def main():
    vireo, source_dir = sys.argv[1], sys.argv[2]
    results = Results()
    if shutil.which("nasm") is None:
        print("SKIP: nasm is not installed (Debian package nasm; scripts/setup installs it)")
        sys.exit(SKIP)
    qemu = qemu_path()
    if qemu is None:
        results.skip("the QEMU halves", "qemu-system-x86_64 is not installed (Debian package qemu-system-x86)")
    work = scratch_dir("vireo-fw-cfg-test-")
    rom = os.path.join(work, "fw_cfg_dump.rom")
    assemble(os.path.join(source_dir, "fw_cfg_dump.asm"), rom)

    # Two disks only to give bootorder content; they are never booted here.
    blank = os.path.join(work, "blank.img")
    with open(blank, "wb") as f:
        f.truncate(1 << 20)
    disks = ["-drive", f"file={blank},format=raw,if=none,id=x,readonly=on",
             "-device", "virtio-blk-pci,drive=x,addr=0x5,bootindex=7",
             "-drive", f"file={blank},format=raw,if=none,id=y,readonly=on",
             "-device", "virtio-blk-pci,drive=y,addr=0xa,bootindex=2"]
    bootorder = b"/pci@i0cf8/scsi@a/disk@0,0\n/pci@i0cf8/scsi@5/disk@0,0\nHALT\x00"
    common = {"SIG": "QEMU", "ID": "03000000", "DMASIG": "51454d5520434647",
              "H1": "ctl=00000001", "H2": "ctl=00000001", "H3": "ok",
              "H4": "00000000 00000000 ctl=00000000 0000000000000000",
              "H5": "ctl=00000001 QEMU", "H6": "QEMU", "H7": "ctl=00000000 MU aaaa",
              "H8": "ctl=00000000 03000000", "H9": "ctl=00000000 51454d5500000000"}
    cases = [
        ("-m 128, boot options, two bootable disks",
         ["-m", "128", "-boot", "menu=on,strict=on,splash-time=1500,reboot-timeout=3000",
          "-uuid", "12345678-9abc-def0-1122-334455667788"] + disks,
         {"K 0003": "0000000800000000", "K 000e": "0100", "K 0005": "0100",
          "K 0002": "123456789abcdef01122334455667788",
          "FILE etc/e820": f"00000028 {expected_e820(128)} IO {expected_e820(128)}",
          "FILE bootorder": f"{len(bootorder):08x} {bootorder.hex()} IO {bootorder.hex()}",
          "FILE etc/boot-fail-wait": "00000004 b80b0000 IO b80b0000",
          "FILE etc/boot-menu-wait": "00000002 dc05 IO dc05"}),
        ("-m 3600 (RAM above 4 GiB), -smp 3,maxcpus=4, -no-hpet",
         ["-m", "3600", "-smp", "3,maxcpus=4", "-no-hpet"],
         {"K 0003": struct.pack("<Q", 3600 << 20).hex(), "K 0005": "0300", "K 000f": "0400",
          "K 000e": "0000", "FILE etc/e820": f"0000003c {expected_e820(3600)} IO {expected_e820(3600)}",
          "FILE etc/boot-fail-wait": "00000004 ffffffff IO ffffffff"}),
    ]
    for what, extra, expect in cases:
        check_dump(results, vireo, qemu, rom, what, extra, {**common, **expect})

    # -boot order=/once= are the CMOS boot order (bytes 0x3d and 0x38,
    # QEMU's nibbles: a/b floppy 1, c disk 2, d CD 3, n network 4; bit 0 of
    # 0x38 clear: the floppy signature check stays on).
    cmos_rom = os.path.join(work, "cmos_dump.rom")
    assemble(os.path.join(source_dir, "..", "hw", "roms", "cmos_dump.asm"), cmos_rom)
    for boot, want in (("order=ndc", (0x34, 0x20)), ("order=c,once=dn", (0x43, 0x00)), (None, (0x12, 0x30))):
        argv = ["-accel", "tcg", "-bios", cmos_rom, "-display", "none", "-serial", "stdio"] + DEBUG_EXIT
        if boot:
            argv += ["-boot", boot]
        for who, emulator in [("vireo", vireo)] + ([("qemu", qemu)] if qemu else []):
            r = run([emulator] + argv)
            cmos = [int(x, 16) for x in re.findall(r"\b[0-9a-f]{2}\b", r.stdout_text)]
            got = (cmos[0x3d], cmos[0x38]) if len(cmos) == 128 else None
            results.check(got == want, f"{who}: -boot {boot or '(default cad)'}: CMOS 0x3d/0x38 = "
                                       f"{want[0]:02x}/{want[1]:02x}", f"got {got}\n" + r.describe())

    # once= holds for the first boot; the reset brings order= back.
    once_rom = os.path.join(work, "boot_once.rom")
    assemble(os.path.join(source_dir, "reset_count.asm"), once_rom, ["SHOW_BOOT_ORDER"])
    want = "boot 01 03\r\nresetting through port 0x92\r\nboot 02 02\r\nRAM survived the reset\r\n"
    for who, emulator in [("vireo", vireo)] + ([("qemu", qemu)] if qemu else []):
        r = run([emulator, "-accel", "tcg", "-bios", once_rom, "-display", "none", "-serial", "stdio",
                 "-boot", "order=c,once=d"] + DEBUG_EXIT)
        results.check(r.returncode == 69 and r.stdout_text == want,
                      f"{who}: -boot order=c,once=d: CMOS says d on the first boot, c after the reset", r.describe())

    # SeaBIOS picks the disk by bootindex.
    if not os.path.exists(SEABIOS):
        results.skip("SeaBIOS boots", f"{SEABIOS} is not installed (Debian package seabios)")
        results.finish()
    images = {}
    for name, status in (("A", 0x11), ("B", 0x12)):
        sector = os.path.join(work, f"boot_{name}.bin")
        assemble(os.path.join(source_dir, "boot_sector.asm"), sector, [f"NAME='{name}'", f"EXIT={status:#x}"])
        image = os.path.join(work, f"disk_{name}.img")
        with open(sector, "rb") as s, open(image, "wb") as f:
            f.write(s.read())
            f.truncate(1 << 20)
        images[name] = (image, status * 2 + 1)
    emulators = [("vireo", vireo)] + ([("qemu", qemu)] if qemu else [])
    a, b = images["A"][0], images["B"][0]
    boots = [
        ("bootindex A=1 B=2 boots A", [(a, 1), (b, 2)], [], "A"),
        ("bootindex A=2 B=1 boots B", [(a, 2), (b, 1)], [], "B"),
        ("only B has a bootindex: B first", [(a, None), (b, 5)], [], "B"),
    ]
    for what, disks_, extra, disk in boots:
        for who, emulator in emulators:
            r = boot_disks(emulator, disks_, extra)
            results.check(r.returncode == images[disk][1] and f"booted from disk {disk}" in r.stdout_text,
                          f"{who}: {what}", r.describe())
    # SeaBIOS boots the first hard disk only: with an unbootable one first
    # it finds no bootable device; reboot-timeout=0 (etc/boot-fail-wait)
    # makes it reboot at once, and -no-reboot turns that into exit 0.
    # (Without reboot-timeout it would wait forever: QEMU's default -1.)
    for who, emulator in emulators:
        r = boot_disks(emulator, [(blank, 1), (b, 2)], ["-boot", "reboot-timeout=0"])
        results.check(r.returncode == 0 and "booted from disk" not in r.stdout_text,
                      f"{who}: an unbootable first disk, then reboot-timeout=0 reboots", r.describe())
    # -nographic: SeaBIOS's console goes to COM1 (fw_cfg's nographic item);
    # menu=on (the boot-menu item, splash-time its wait) makes it offer
    # the menu before booting, menu=off not.
    for who, emulator in emulators:
        for menu, offered in (("menu=on,splash-time=300", True), ("menu=off", False)):
            r = run([emulator, "-accel", "tcg", "-nographic", "-monitor", "none", "-serial", "stdio"] + DEBUG_EXIT +
                    ["-drive", f"file={a},format=raw,if=none,id=a", "-device", "virtio-blk-pci,drive=a,bootindex=1",
                     "-boot", menu], timeout=60)
            text = r.stdout_text
            ok = (r.returncode == images["A"][1] and "SeaBIOS (version" in text and "booted from disk A" in text
                  and ("Press ESC for boot menu." in text) == offered)
            results.check(ok, f"{who}: -nographic -boot {menu}: SeaBIOS on COM1, boot menu "
                              f"{'offered' if offered else 'not offered'}, disk A booted", r.describe())
    results.finish()


if __name__ == "__main__":
    main()
