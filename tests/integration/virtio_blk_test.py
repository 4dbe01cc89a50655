#!/usr/bin/env python3
"""The guest kit's blk check on vireo's software CPU: Debian's unmodified
kernel finds the PCI bus through our DSDT, a virtio-blk-pci disk on it,
reads it and writes one sector:

  vireo -accel tcg -m 512 -nographic -no-reboot -kernel vmlinuz
        -initrd initrd.gz -append "console=ttyS0 vireo.test=blk"
        -drive file=disk.img,format=raw,if=virtio

Checks:
  - the guest's md5 of the disk's first 16 MiB equals the host's;
  - the sector the guest wrote (2048) is in the image after vireo exits,
    and nothing else changed;
  - the guest saw the i440FX (00.0), PIIX3 (01.0) and a modern
    virtio-blk (1af4:1042) at 02.0, interrupting through MSI-X, with no
    ACPI errors while it set the bus up;
  - with snapshot=on the guest reads the same md5 and its write succeeds,
    but the image file is byte-identical afterwards and the temporary
    overlay is gone from $TMPDIR;
  - on a qcow2 copy of the image (-drive format=qcow2) the guest reads the
    same md5, the sector it wrote is what `vireo-img convert -O raw` reads
    back afterwards, and `qemu-img check` finds the image clean;
  - the same guest on QEMU (-device virtio-blk-pci,disable-legacy=on, no
    VGA/NIC so the disk is at 02.0 there too) sees the same IDs there
    and prints the same md5.

  virtio_blk_test.py VIREO REPO_ROOT KIT_DIR VIREO_IMG
"""

import hashlib
import os
import random
import re
import shutil
import subprocess
import sys

from harness import QEMU, Results, scratch_dir
from linux_tcg_test import KIT_TIMEOUT_S, timed_boot

DISK_BYTES = 32 << 20
SECTOR = 2048
MARKER = b"VIREO-WROTE-SECTOR"


def make_image(path):
    # Seeded pseudo-random bytes: every sector different, the same each run.
    rng = random.Random(20261125)
    with open(path, "wb") as f:
        for _ in range(DISK_BYTES // (1 << 20)):
            f.write(rng.randbytes(1 << 20))


def kit_argv(emulator, kit, drive_args):
    return [emulator, "-accel", "tcg", "-m", "512", "-nographic", "-no-reboot", *drive_args,
            "-kernel", os.path.join(kit, "vmlinuz"), "-initrd", os.path.join(kit, "initrd.gz"),
            "-append", "console=ttyS0 vireo.test=blk"]


def pci_devices(console):
    """{address: (vendor:device, class, irq)} from the VIREO-INFO pci lines."""
    found = {}
    for m in re.finditer(r"^VIREO-INFO pci 0000:(\S+) 0x(\w+):0x(\w+) class=0x(\w+) irq=(\d+)$", console, re.M):
        found[m.group(1)] = (f"{m.group(2)}:{m.group(3)}", m.group(4), int(m.group(5)))
    return found


def check_image_after(results, path, original, what):
    with open(path, "rb") as f:
        data = f.read()
    sector = data[SECTOR * 512:(SECTOR + 1) * 512]
    expected = MARKER + bytes(512 - len(MARKER))
    results.check(sector == expected, f"{what}: sector {SECTOR} on the image holds what the guest wrote",
                  f"first bytes: {sector[:32]!r}")
    rest_same = (data[:SECTOR * 512] == original[:SECTOR * 512]
                 and data[(SECTOR + 1) * 512:] == original[(SECTOR + 1) * 512:])
    results.check(rest_same and len(data) == len(original), f"{what}: no other byte of the image changed")


def boot_blk(results, emulator, kit, drive_args, what):
    """One blk-check boot; the guest's md5, or None when it did not finish."""
    result = r"^VIREO-RESULT blk md5=([0-9a-f]{32}) wrote=2048$"
    console, status, seconds = timed_boot(kit_argv(emulator, kit, drive_args), [result], wait_for_exit=True)
    tail = "\n".join(console.split("\n")[-40:])
    match = re.search(result, console, re.M)
    results.check(match is not None, f"{what}: the guest's blk check finished, its write accepted ({seconds:.1f} s)",
                  tail)
    results.check(status == 0, f"{what}: exits 0 when the guest powers off", f"status {status}\n{tail}")
    return match.group(1) if match else None


def check_snapshot(results, vireo, kit, work, image, original, host_md5):
    # The overlay is created in $TMPDIR and unlinked once open: an empty
    # private TMPDIR afterwards shows nothing was left behind.
    tmpdir = os.path.join(work, "tmp")
    os.mkdir(tmpdir)
    saved = os.environ.get("TMPDIR")
    os.environ["TMPDIR"] = tmpdir
    try:
        md5 = boot_blk(results, vireo, kit, ["-drive", f"file={image},format=raw,if=virtio,snapshot=on"],
                       "vireo snapshot=on")
    finally:
        if saved is None:
            del os.environ["TMPDIR"]
        else:
            os.environ["TMPDIR"] = saved
    results.check(md5 == host_md5, f"vireo snapshot=on: guest md5 {md5} equals the host's {host_md5}")
    with open(image, "rb") as f:
        results.check(f.read() == original, "vireo snapshot=on: the image file is byte-identical afterwards")
    left = os.listdir(tmpdir)
    results.check(not left, "vireo snapshot=on: no temporary overlay left in $TMPDIR", str(left))


def check_qcow2(results, vireo, vireo_img, kit, work, raw_image, original, host_md5):
    qemu_img = shutil.which("qemu-img")
    qcow2 = os.path.join(work, "disk.qcow2")
    # qemu-img makes the image when it is there, so vireo reads a qcow2
    # written by QEMU's own code; vireo-img otherwise.
    maker = qemu_img or vireo_img
    made = subprocess.run([maker, "convert", "-f", "raw", "-O", "qcow2", raw_image, qcow2],
                          capture_output=True, text=True, timeout=120)
    if not results.check(made.returncode == 0, f"qcow2: {os.path.basename(maker)} convert -O qcow2", made.stderr):
        return
    md5 = boot_blk(results, vireo, kit, ["-drive", f"file={qcow2},format=qcow2,if=virtio"], "vireo qcow2")
    results.check(md5 == host_md5, f"vireo qcow2: guest md5 {md5} equals the host's {host_md5}")
    back = os.path.join(work, "qcow2-back.raw")
    converted = subprocess.run([vireo_img, "convert", "-O", "raw", qcow2, back],
                               capture_output=True, text=True, timeout=120)
    if results.check(converted.returncode == 0, "vireo qcow2: vireo-img convert -O raw reads the image back",
                     converted.stderr):
        check_image_after(results, back, original, "vireo qcow2 (vireo-img convert -O raw)")
    if qemu_img is None:
        results.skip("qemu-img check of the qcow2 image", "qemu-img is not installed (Debian package qemu-utils)")
        return
    checked = subprocess.run([qemu_img, "check", qcow2], capture_output=True, text=True, timeout=120)
    results.check(checked.returncode == 0, "vireo qcow2: qemu-img check finds the image clean afterwards",
                  checked.stdout + checked.stderr)


def main():
    vireo, repo, kit, vireo_img = sys.argv[1], sys.argv[2], sys.argv[3], sys.argv[4]
    results = Results()
    built = subprocess.run([os.path.join(repo, "scripts", "guest-kit"), kit],
                           stdin=subprocess.DEVNULL, timeout=KIT_TIMEOUT_S)
    if not results.check(built.returncode == 0, f"scripts/guest-kit {kit}"):
        results.finish()

    work = scratch_dir("vireo-virtio-blk-test-")
    image = os.path.join(work, "disk.img")
    make_image(image)
    with open(image, "rb") as f:
        original = f.read()
    host_md5 = hashlib.md5(original[:16 << 20]).hexdigest()

    result = r"^VIREO-RESULT blk md5=([0-9a-f]{32}) wrote=2048$"
    console, status, seconds = timed_boot(
        kit_argv(vireo, kit, ["-drive", f"file={image},format=raw,if=virtio"]), [result], wait_for_exit=True)
    tail = "\n".join(console.split("\n")[-40:])
    match = re.search(result, console, re.M)
    if results.check(match is not None, f"vireo: the guest's blk check finished ({seconds:.1f} s)", tail):
        results.check(match.group(1) == host_md5, f"vireo: guest md5 {match.group(1)} equals the host's {host_md5}")
    results.check(status == 0, "vireo: exits 0 when the guest powers off", f"status {status}\n{tail}")
    check_image_after(results, image, original, "vireo")

    devices = pci_devices(console)
    results.check(devices.get("00:00.0", ("",))[0] == "8086:1237", "vireo: i440FX host bridge at 00.0", str(devices))
    results.check(devices.get("00:01.0", ("",))[0] == "8086:7000", "vireo: PIIX3 ISA bridge at 01.0", str(devices))
    results.check(devices.get("00:02.0", ("", ""))[:2] == ("1af4:1042", "010000"),
                  "vireo: virtio-blk (modern, mass storage) at 02.0", str(devices))
    # Linux names the irqchip "PCI-MSI" for MSI and MSI-X alike; separate
    # config and request vectors exist only with MSI-X (virtio_pci never
    # uses plain MSI), and an INTx disk would show "IO-APIC ... virtio0".
    irq_lines = re.findall(r"^VIREO-INFO irq .*$", console, re.M)
    results.check(any(re.search(r"PCI-MSI.*virtio0-config$", l) for l in irq_lines)
                  and any(re.search(r"PCI-MSI.*virtio0-req\.0$", l) for l in irq_lines),
                  "vireo: the disk interrupts through MSI-X (config and queue vectors)",
                  "\n".join(l for l in console.split("\n") if "VIREO-INFO irq" in l))
    results.check(re.search(r"^VIREO-INFO acpi-errors=0$", console, re.M) is not None,
                  "vireo: no ACPI errors in the guest's dmesg")
    results.check("ACPI Error" not in console and "AE_" not in console, "vireo: no ACPI errors on the console")

    snapshot_image = os.path.join(work, "snapshot.img")
    with open(snapshot_image, "wb") as f:
        f.write(original)
    check_snapshot(results, vireo, kit, work, snapshot_image, original, host_md5)
    # snapshot.img is still the original: the qcow2 copy is made from it.
    check_qcow2(results, vireo, vireo_img, kit, work, snapshot_image, original, host_md5)

    if shutil.which(QEMU) is None:
        results.skip("QEMU reference boot", f"{QEMU} is not installed")
        results.finish()
    qemu_image = os.path.join(work, "qemu-disk.img")
    with open(qemu_image, "wb") as f:
        f.write(original)
    qemu_drive = ["-vga", "none", "-net", "none",
                  "-drive", f"file={qemu_image},format=raw,if=none,id=d0",
                  "-device", "virtio-blk-pci,drive=d0,disable-legacy=on"]
    reference, qemu_status, qemu_seconds = timed_boot(kit_argv(QEMU, kit, qemu_drive), [result], wait_for_exit=True)
    qemu_match = re.search(result, reference, re.M)
    results.check(qemu_match is not None and qemu_match.group(1) == host_md5,
                  f"QEMU: the same guest prints the same md5 ({qemu_seconds:.1f} s)",
                  "\n".join(reference.split("\n")[-20:]))
    qemu_devices = pci_devices(reference)
    for address in ("00:00.0", "00:01.0", "00:02.0"):
        ours = devices.get(address, ("?", "?"))[:2]
        theirs = qemu_devices.get(address, ("?", "?"))[:2]
        results.check(ours == theirs, f"{address}: IDs and class {ours} as on QEMU {theirs}")
    results.finish()


if __name__ == "__main__":
    main()
