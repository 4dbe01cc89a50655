#!/usr/bin/env python3
"""A hostile virtio driver inside a real guest: tests/guest/virtio/
hostile_virtio.c, built static with the host's gcc and appended to the kit's
initrd (as guest_conform_test.py does), maps the virtio-blk-pci function's
BAR 4 from sysfs and feeds it malformed split virtqueues: rings outside RAM,
a descriptor loop, a buffer outside RAM, a head index out of range, an
available index that jumps, a next index out of range, a request without a
status byte. For each, vireo must set DEVICE_NEEDS_RESET, complete nothing,
log it, and recover on reset; good requests before and after succeed, and
the guest powers off normally (vireo exits 0).

  virtio_hostile_test.py VIREO REPO_ROOT KIT_DIR WORK_DIR
"""

import gzip
import os
import re
import shutil
import subprocess
import sys

from guest_conform_test import newc_entry
from harness import Results, SKIP
from linux_tcg_test import guest_argv

BAD_CASES = ["rings-outside-ram", "descriptor-loop", "buffer-outside-ram", "head-out-of-range",
             "avail-index-jump", "next-out-of-range", "no-status-byte"]


def main():
    vireo, repo, kit, work = sys.argv[1:5]
    results = Results()
    if shutil.which("gcc") is None:
        print("SKIP: gcc is not installed")
        sys.exit(SKIP)
    os.makedirs(work, exist_ok=True)
    built = subprocess.run([os.path.join(repo, "scripts", "guest-kit"), kit], stdin=subprocess.DEVNULL)
    if not results.check(built.returncode == 0, f"scripts/guest-kit {kit}"):
        results.finish()
    program = os.path.join(work, "hostile_virtio")
    compiled = subprocess.run(["gcc", "-static", "-O2", "-std=gnu11", "-o", program,
                               os.path.join(repo, "tests", "guest", "virtio", "hostile_virtio.c")],
                              capture_output=True, text=True)
    if not results.check(compiled.returncode == 0, "gcc builds hostile_virtio.c", compiled.stderr):
        results.finish()

    archive = newc_entry("conform", 0o040755)
    with open(program, "rb") as f:
        archive += newc_entry("conform/hostile_virtio", 0o100755, f.read())
    archive += newc_entry("TRAILER!!!", 0)
    combined_kit = os.path.join(work, "kit")
    os.makedirs(combined_kit, exist_ok=True)
    with open(os.path.join(kit, "initrd.gz"), "rb") as base, \
            open(os.path.join(combined_kit, "initrd.gz"), "wb") as out:
        out.write(base.read())
        out.write(gzip.compress(archive))
    shutil.copy(os.path.join(kit, "vmlinuz"), os.path.join(combined_kit, "vmlinuz"))

    image = os.path.join(work, "disk.img")
    with open(image, "wb") as f:
        f.truncate(4 << 20)
    argv = guest_argv(vireo, combined_kit, "conform",
                      extra=("-drive", f"file={image},format=raw,if=virtio"))
    # vireo's own warnings go to stderr, kept apart from the guest's console
    # so that neither cuts into the other's lines.
    try:
        run = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=600)
        console, log, status = run.stdout, run.stderr, run.returncode
    except subprocess.TimeoutExpired as e:
        console, log, status = e.stdout or b"", e.stderr or b"", None
    console = console.decode("utf-8", "replace").replace("\r", "")
    log = log.decode("utf-8", "replace")
    tail = "\n".join(console.split("\n")[-40:])

    good = re.findall(r"^VIREO-HOSTILE (good-\w+) needs_reset=(\d) used=(\d+) reset_ok=(\d)$", console, re.M)
    results.check(len(good) == 2 and all(g[1:] == ("0", "1", "1") for g in good),
                  "a good flush completes before and after the hostile rings", tail)
    for when in ("good-before", "good-after"):
        results.check(re.search(rf"^VIREO-HOSTILE {when}-status=0$", console, re.M) is not None,
                      f"{when}: the flush's status byte is VIRTIO_BLK_S_OK", tail)
    for case in BAD_CASES:
        match = re.search(rf"^VIREO-HOSTILE {case} needs_reset=(\d) used=(\d+) reset_ok=(\d)$", console, re.M)
        results.check(match is not None and match.groups() == ("1", "0", "1"),
                      f"{case}: DEVICE_NEEDS_RESET, nothing completed, reset recovers",
                      match.group(0) if match else tail)
    warnings = re.findall(r"^vireo: warning: virtio-blk-pci: device needs reset: .*$", log, re.M)
    results.check(len(warnings) == len(BAD_CASES),
                  f"vireo logged one line per bad ring ({len(warnings)})", "\n".join(warnings))
    results.check(re.search(r"^VIREO-CONFORM-END hostile_virtio status=0$", console, re.M) is not None,
                  "the hostile driver ran to the end in the guest", tail)
    results.check(status == 0, "vireo exits 0 after the guest powers off", f"status {status}\n{tail}")
    results.finish()


if __name__ == "__main__":
    main()
