#!/usr/bin/env python3
"""Guest user-space conformance: small static C programs (tests/guest/conform:
integer arithmetic, SSE/x87 floating point, signals and processes, threads)
are built with the host's gcc, run natively on the host, and run inside the
guest kit on vireo's software CPU with -smp 2; the guest's output of every
program must equal the host's, byte for byte, and so must its exit status.

The programs reach the guest in a second newc cpio archive appended to the
kit's initrd (Linux unpacks concatenated archives in order); the kit's
vireo.test=conform runs each one between VIREO-CONFORM-BEGIN/END lines.

  guest_conform_test.py VIREO REPO_ROOT KIT_DIR WORK_DIR
"""

import gzip
import os
import re
import shutil
import subprocess
import sys

from harness import Results, SKIP
from linux_tcg_test import boot, guest_argv

PROGRAMS = ["integer", "float", "signals", "threads"]
# The host's glibc picks AVX2/FMA variants of libm and string functions at
# run time where the host has them; the guest (qemu64) gets the SSE2 ones.
# Mask those features natively so that both run the same code paths.
NATIVE_ENV = dict(os.environ, GLIBC_TUNABLES="glibc.cpu.hwcaps=-AVX,-AVX2,-FMA,-FMA4,-AVX512F")


def newc_entry(name, mode, data=b""):
    """One entry of a cpio archive in the "newc" format the kernel reads
    (Documentation/driver-api/early-userspace/buffer-format.rst)."""
    name_bytes = name.encode() + b"\0"
    fields = [0, mode, 0, 0, 1, 0, len(data), 0, 0, 0, 0, len(name_bytes), 0]
    header = b"070701" + b"".join(b"%08x" % f for f in fields)
    entry = header + name_bytes
    entry += b"\0" * (-len(entry) % 4)
    entry += data + b"\0" * (-len(data) % 4)
    return entry


def build_programs(repo, work, results):
    source_dir = os.path.join(repo, "tests", "guest", "conform")
    binaries = {}
    for name in PROGRAMS:
        out = os.path.join(work, name)
        built = subprocess.run(["gcc", "-static", "-O2", "-std=gnu11", "-pthread", "-o", out,
                                os.path.join(source_dir, name + ".c"), "-lm"],
                               capture_output=True, text=True)
        if results.check(built.returncode == 0, f"gcc builds {name}.c", built.stderr):
            binaries[name] = out
    return binaries


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
    binaries = build_programs(repo, work, results)
    if not binaries:
        results.finish()

    native = {}
    for name, path in binaries.items():
        run = subprocess.run([path], capture_output=True, env=NATIVE_ENV, timeout=60)
        native[name] = (run.stdout.decode(), run.returncode)

    archive = newc_entry("conform", 0o040755)
    for name, path in binaries.items():
        with open(path, "rb") as f:
            archive += newc_entry(f"conform/{name}", 0o100755, f.read())
    archive += newc_entry("TRAILER!!!", 0)
    initrd = os.path.join(work, "initrd-conform.gz")
    with open(os.path.join(kit, "initrd.gz"), "rb") as base, open(initrd, "wb") as out:
        out.write(base.read())
        out.write(gzip.compress(archive))
    combined_kit = os.path.join(work, "kit")
    os.makedirs(combined_kit, exist_ok=True)
    shutil.copy(initrd, os.path.join(combined_kit, "initrd.gz"))
    shutil.copy(os.path.join(kit, "vmlinuz"), os.path.join(combined_kit, "vmlinuz"))

    argv = guest_argv(vireo, combined_kit, "conform", extra=("-smp", "2"))
    console, status = boot(argv, [r"^VIREO-RESULT conform ran=\d+"], 900, wait_for_exit=True)
    results.check(re.search(rf"^VIREO-RESULT conform ran={len(binaries)}$", console, re.M) is not None,
                  f"the guest ran all {len(binaries)} programs",
                  "\n".join(console.split("\n")[-30:]))
    for name in binaries:
        match = re.search(rf"^VIREO-CONFORM-BEGIN {name}\n(.*?)^VIREO-CONFORM-END {name} status=(\d+)$",
                          console, re.M | re.S)
        guest_output = match.group(1) if match else None
        expected_output, expected_status = native[name]
        results.check(match is not None and guest_output == expected_output,
                      f"{name}: the guest's output equals the host's",
                      f"host:\n{expected_output}\nguest:\n{guest_output}")
        results.check(match is not None and int(match.group(2)) == expected_status,
                      f"{name}: exit status {expected_status} as on the host",
                      f"guest: {match.group(2) if match else None}")
    results.check(status == 0, "vireo exits 0 after the guest powers off", f"status {status}")
    results.finish()


if __name__ == "__main__":
    main()
