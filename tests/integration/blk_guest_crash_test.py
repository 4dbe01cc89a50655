#!/usr/bin/env python3
"""Crash safety of vireo's qcow2 writer under a real guest: the guest kit in
vireo.test=blkwrite writes without end to a virtio-blk disk

  vireo -accel tcg -m 128 -nographic -no-reboot -kernel vmlinuz
        -initrd initrd.gz -append "console=ttyS0 quiet vireo.test=blkwrite"
        -drive file=disk.qcow2,format=qcow2,if=virtio

(4 KiB-aligned O_DIRECT writes of 4-128 KiB at pseudo-random places, so new
clusters keep being allocated, with rewrites, discards and flushes mixed
in), and vireo is killed with SIGKILL at a random moment once the guest's
writes have reached the image. After every kill:
  - `qemu-img check` finds at most leaked clusters (exit 0 or 3, no
    "ERROR" line), as block/qcow2.h's write order promises;
  - every 4 KiB block of the image, as qemu-img reads it, is zero (never
    written, or discarded), or a block the guest wrote for that very place
    (the guest labels each block with its own offset), so no write landed
    in the wrong cluster and no cluster is shared by two places;
  - vireo-img reads the same bytes as qemu-img.
Images:
  - one made by qemu-img (64 KiB clusters), killed KILLS times, each boot
    continuing on what the last kill left;
  - a fresh vireo-img image with 512-byte clusters (a new L2 table every
    32 KiB, a refcount block every 128 KiB, refcount table growth);
  - a fresh overlay (64 KiB clusters) on a raw backing file of labelled
    blocks, so partial-cluster writes copy from the backing file;
  - a fresh image with lazy_refcounts=on: after the kill the dirty bit is
    set, `qemu-img check -r all` on a copy rebuilds the refcounts to a
    clean image, and so does vireo-img check -r all, before the checks
    above.
Each boot takes ~15-25 s on tcg.

  blk_guest_crash_test.py VIREO REPO_ROOT KIT_DIR VIREO_IMG [KILLS]
"""

import json
import os
import random
import re
import select
import shutil
import signal
import subprocess
import sys
import time

from harness import Results, run, scratch_dir
from linux_tcg_test import KIT_TIMEOUT_S

DISK_BYTES = 64 << 20
BLOCK = 4096
WRITING = re.compile(rb"^VIREO-INFO blkwrite writing", re.M)
LABEL = re.compile(rb"VIREO-BLK (\d+) n=(\d+) *\n")
BOOT_TIMEOUT_S = 300


def guest_argv(vireo, kit, image):
    return [vireo, "-accel", "tcg", "-m", "128", "-nographic", "-no-reboot",
            "-drive", f"file={image},format=qcow2,if=virtio",
            "-kernel", os.path.join(kit, "vmlinuz"), "-initrd", os.path.join(kit, "initrd.gz"),
            "-append", "console=ttyS0 quiet vireo.test=blkwrite"]


def boot_and_kill(vireo, kit, image, rng):
    """Boots the writer, waits until its writes reach the image, lets it
    write a random while longer and SIGKILLs vireo. Returns (killed, seconds
    written before the kill, console)."""
    before = os.stat(image).st_mtime_ns
    process = subprocess.Popen(guest_argv(vireo, kit, image), stdin=subprocess.DEVNULL,
                               stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    console = b""
    kill_at = None
    deadline = time.monotonic() + BOOT_TIMEOUT_S
    killed = False
    try:
        while time.monotonic() < deadline:
            now = time.monotonic()
            if kill_at is not None and now >= kill_at:
                process.send_signal(signal.SIGKILL)
                killed = True
                break
            wait = 1.0 if kill_at is None else max(0.0, kill_at - now)
            ready, _, _ = select.select([process.stdout], [], [], wait)
            if ready:
                chunk = os.read(process.stdout.fileno(), 65536)
                if not chunk:
                    break  # vireo exited by itself
                console += chunk
            if kill_at is None and WRITING.search(console) and os.stat(image).st_mtime_ns != before:
                written_from = time.monotonic()
                kill_at = written_from + rng.uniform(0.2, 4.0)
    finally:
        if process.poll() is None and not killed:
            process.kill()
        process.wait()
    text = console.decode("utf-8", "replace").replace("\r", "")
    return killed, (time.monotonic() - written_from) if killed else 0.0, text


def check_blocks(results, raw_path, what, backing_labels):
    """Every block zero or labelled with its own offset; returns the count
    of labelled blocks."""
    bad = []
    labelled = 0
    zero = bytes(BLOCK)
    with open(raw_path, "rb") as f:
        offset = 0
        while True:
            block = f.read(BLOCK)
            if not block:
                break
            if block != zero:
                match = LABEL.fullmatch(block)
                if match is None or int(match.group(1)) != offset:
                    if len(bad) < 5:
                        bad.append(f"block at {offset}: {block[:48]!r}")
                    else:
                        bad.append(None)
                elif not (backing_labels and match.group(2) == b"0"):
                    labelled += 1
            offset += len(block)
    results.check(not bad, f"{what}: every 4 KiB block is zero or the guest's block for that place",
                  f"{len(bad)} bad blocks, the first ones:\n" + "\n".join(b for b in bad if b))
    return labelled


def check_lazy_image(results, work, image, what):
    """A lazy_refcounts image killed while writing: the dirty bit is set
    (refcount updates were deferred), and QEMU's own repair of a dirty
    image (rebuilding refcounts) leaves it clean."""
    info = run(["qemu-img", "info", "-U", "--output=json", image])
    results.check(info.returncode == 0 and json.loads(info.stdout_text).get("dirty-flag") is True,
                  f"{what}: the image is left with the dirty bit set", info.describe())
    copy = os.path.join(work, "lazy-repaired.qcow2")
    shutil.copyfile(image, copy)
    repaired = run(["qemu-img", "check", "-r", "all", copy], timeout=120)
    again = run(["qemu-img", "check", copy], timeout=120)
    results.check(repaired.returncode == 0 and again.returncode == 0,
                  f"{what}: qemu-img check -r all rebuilds the refcounts, then finds the image clean",
                  repaired.describe() + "\n" + again.describe())
    os.unlink(copy)


def check_image(results, vireo_img, work, image, what, backing_labels=False, lazy=False):
    """qemu-img check, the block labels, and vireo-img reading what qemu-img
    reads. Returns how many blocks the guest's writes left."""
    if lazy:
        check_lazy_image(results, work, image, what)
        # vireo-img opens a dirty image writable by recounting it first.
        repaired = run([vireo_img, "check", "-r", "all", image], timeout=120)
        results.check(repaired.returncode == 0, f"{what}: vireo-img check -r all", repaired.describe())
    check = run(["qemu-img", "check", image], timeout=120)
    output = check.stdout_text + check.stderr.decode("utf-8", "replace")
    leaks = re.search(r"^(\d+) leaked clusters were found", output, re.M)
    results.check(check.returncode in (0, 3) and "ERROR" not in output,
                  f"{what}: qemu-img check finds at most leaks (exit {check.returncode}, "
                  f"{leaks.group(1) if leaks else 0} leaked clusters)", output)
    theirs = os.path.join(work, "qemu.raw")
    ours = os.path.join(work, "vireo.raw")
    converted = run(["qemu-img", "convert", "-O", "raw", image, theirs], timeout=120)
    if not results.check(converted.returncode == 0, f"{what}: qemu-img convert -O raw", converted.describe()):
        return 0
    labelled = check_blocks(results, theirs, what, backing_labels)
    converted = run([vireo_img, "convert", "-O", "raw", image, ours], timeout=120)
    if results.check(converted.returncode == 0, f"{what}: vireo-img convert -O raw", converted.describe()):
        same = subprocess.run(["cmp", "-s", theirs, ours]).returncode == 0
        results.check(same, f"{what}: vireo-img reads the same bytes as qemu-img")
    os.unlink(theirs)
    if os.path.exists(ours):
        os.unlink(ours)
    return labelled


def crash_rounds(results, vireo, vireo_img, kit, work, image, what, kills, rng, backing_labels=False, lazy=False):
    for round_number in range(1, kills + 1):
        label = f"{what}, kill {round_number}/{kills}" if kills > 1 else what
        killed, seconds, console = boot_and_kill(vireo, kit, image, rng)
        tail = "\n".join(console.split("\n")[-25:])
        if not results.check(killed, f"{label}: the guest wrote to the image and vireo was killed "
                             f"{seconds:.1f} s later", tail):
            return
        labelled = check_image(results, vireo_img, work, image, label, backing_labels, lazy)
        # Proof that the kills land among real writes, not before them.
        results.check(labelled > 0, f"{label}: {labelled} blocks the guest wrote are on the image")


def make_backing(path):
    """A raw disk whose every block is labelled, as if written by the guest
    (n=0), so copy-on-write from it is checked like the guest's blocks."""
    with open(path, "wb") as f:
        chunk = bytearray()
        for offset in range(0, DISK_BYTES, BLOCK):
            chunk += f"VIREO-BLK {offset} n=0".encode().ljust(BLOCK - 1) + b"\n"
            if len(chunk) >= 1 << 20:
                f.write(chunk)
                chunk = bytearray()
        f.write(chunk)


def main():
    vireo, repo, kit, vireo_img = sys.argv[1:5]
    kills = int(sys.argv[5]) if len(sys.argv) > 5 else 5
    results = Results()
    if shutil.which("qemu-img") is None:
        results.skip("guest crash test", "qemu-img is not installed (Debian package qemu-utils)")
        results.finish()
    built = subprocess.run([os.path.join(repo, "scripts", "guest-kit"), kit],
                           stdin=subprocess.DEVNULL, timeout=KIT_TIMEOUT_S)
    if not results.check(built.returncode == 0, f"scripts/guest-kit {kit}"):
        results.finish()
    work = scratch_dir("vireo-blk-guest-crash-")
    seed = int(os.environ.get("VIREO_CRASH_SEED", random.randrange(1 << 30)))
    print(f"kill timing seed: {seed} (VIREO_CRASH_SEED repeats it)")
    rng = random.Random(seed)

    image = os.path.join(work, "continued.qcow2")
    made = run(["qemu-img", "create", "-f", "qcow2", image, str(DISK_BYTES)])
    if results.check(made.returncode == 0, "qemu-img create (64 KiB clusters)", made.describe()):
        crash_rounds(results, vireo, vireo_img, kit, work, image, "qemu-img image, continued", kills, rng)

    image = os.path.join(work, "small-clusters.qcow2")
    made = run([vireo_img, "create", "-q", "-f", "qcow2", "-o", "cluster_size=512", image, str(DISK_BYTES)])
    if results.check(made.returncode == 0, "vireo-img create -o cluster_size=512", made.describe()):
        crash_rounds(results, vireo, vireo_img, kit, work, image, "fresh 512-byte-cluster image", 1, rng)

    image = os.path.join(work, "lazy.qcow2")
    made = run([vireo_img, "create", "-q", "-f", "qcow2", "-o", "lazy_refcounts=on", image, str(DISK_BYTES)])
    if results.check(made.returncode == 0, "vireo-img create -o lazy_refcounts=on", made.describe()):
        crash_rounds(results, vireo, vireo_img, kit, work, image, "fresh lazy_refcounts image", 1, rng, lazy=True)

    backing = os.path.join(work, "backing.raw")
    make_backing(backing)
    image = os.path.join(work, "overlay.qcow2")
    made = run([vireo_img, "create", "-q", "-f", "qcow2", "-b", backing, "-F", "raw", image])
    if results.check(made.returncode == 0, "vireo-img create -b backing.raw", made.describe()):
        crash_rounds(results, vireo, vireo_img, kit, work, image, "fresh overlay on a raw backing file", 1, rng,
                     backing_labels=True)
    results.finish()


if __name__ == "__main__":
    main()
