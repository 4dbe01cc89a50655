#!/usr/bin/env python3
"""Boots the test guest (scripts/guest-kit: Debian's kernel and a busybox
initramfs) under vireo -accel kvm and waits for its boot check:

  vireo -accel kvm -m 512 -nographic -no-reboot -kernel vmlinuz
        -initrd initrd.gz -append "console=ttyS0 vireo.test=boot"

must print "VIREO-BOOT uptime=..." and "VIREO-RESULT boot ok".

  linux_kvm_test.py VIREO REPO_ROOT KIT_DIR

Skipped (exit 77, one line saying why) unless the host gives KVM hardware
virtualization: a 64-bit kernel needs it. Hosts whose /dev/kvm comes from
kvm_pvm (a paravirtual KVM for guests without VMX/SVM) run real-mode code
but not long-mode guests, so Linux cannot boot there.
"""

import os
import re
import select
import subprocess
import sys
import time

from harness import Results, SKIP, end_process, kvm_unavailable_reason

BOOT_TIMEOUT_S = 300
KIT_TIMEOUT_S = 900


def hardware_kvm_unavailable_reason():
    """None when /dev/kvm is backed by VMX or SVM, else why not."""
    try:
        with open("/proc/cpuinfo") as f:
            flags = set()
            for line in f:
                if line.startswith("flags"):
                    flags.update(line.split(":", 1)[1].split())
    except OSError as e:
        return f"cannot read /proc/cpuinfo ({e.strerror})"
    providers = [m for m in ("kvm_intel", "kvm_amd") if os.path.isdir(f"/sys/module/{m}")]
    if os.path.isdir("/sys/module/kvm_pvm") and not providers:
        return ("/dev/kvm is provided by kvm_pvm (paravirtual KVM without VMX/SVM): "
                "long-mode guests such as Linux do not run on it")
    if not flags & {"vmx", "svm"}:
        return "the CPU has no hardware virtualization (no vmx or svm in /proc/cpuinfo)"
    if not providers:
        return "neither kvm_intel nor kvm_amd is loaded"
    return kvm_unavailable_reason()


def boot(argv, patterns, timeout_s):
    """Runs the guest until every pattern has been seen on its console or
    the time is up; returns (console text, exit status or None)."""
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    console = b""
    deadline = time.monotonic() + timeout_s
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([process.stdout], [], [], 1.0)
            if ready:
                chunk = os.read(process.stdout.fileno(), 65536)
                if not chunk:
                    break
                console += chunk
                text = console.decode("utf-8", "replace").replace("\r", "")
                if all(re.search(p, text, re.M) for p in patterns):
                    break
    finally:
        # The guest powers off with no ACPI device to receive it and halts;
        # the check is done, so end vireo as a user would.
        end_process(process)
    return console.decode("utf-8", "replace").replace("\r", ""), process.returncode


def main():
    vireo, repo, kit = sys.argv[1], sys.argv[2], sys.argv[3]
    reason = hardware_kvm_unavailable_reason()
    if reason:
        print(f"SKIP: Linux under -accel kvm: {reason}")
        sys.exit(SKIP)

    results = Results()
    built = subprocess.run([os.path.join(repo, "scripts", "guest-kit"), kit],
                           stdin=subprocess.DEVNULL, timeout=KIT_TIMEOUT_S)
    if not results.check(built.returncode == 0, f"scripts/guest-kit {kit}"):
        results.finish()

    patterns = [r"^VIREO-BOOT uptime=[0-9.]+$", r"^VIREO-RESULT boot ok$"]
    argv = [vireo, "-accel", "kvm", "-m", "512", "-nographic", "-no-reboot",
            "-kernel", os.path.join(kit, "vmlinuz"), "-initrd", os.path.join(kit, "initrd.gz"),
            "-append", "console=ttyS0 vireo.test=boot"]
    start = time.monotonic()
    console, status = boot(argv, patterns, BOOT_TIMEOUT_S)
    seconds = time.monotonic() - start
    tail = "\n".join(console.split("\n")[-30:])
    for pattern in patterns:
        results.check(re.search(pattern, console, re.M) is not None,
                      f"the guest printed /{pattern}/ (after {seconds:.1f} s)",
                      f"vireo status: {status}\nlast console lines:\n{tail}")
    results.finish()


if __name__ == "__main__":
    main()
