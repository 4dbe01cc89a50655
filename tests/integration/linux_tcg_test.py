#!/usr/bin/env python3
"""Boots the test guest (scripts/guest-kit: Debian's unmodified kernel and a
busybox initramfs) on vireo's software CPU, as a user would:

  vireo -accel tcg -m 512 -nographic -no-reboot -kernel vmlinuz
        -initrd initrd.gz -append "console=ttyS0 vireo.test=..."

Checks, each through the real binary and the guest's own output:
  banner   the kernel prints its "Linux version" banner (earlyprintk)
  boot     userspace starts (VIREO-BOOT), the check passes, and vireo exits 0
           when the guest powers off
  smp      with -smp 2 the guest counts 2 online CPUs
  cpu      the guest's CPU workload checksum equals QEMU's for the same guest
  hpet     with clocksource=hpet the kernel keeps time on the HPET (found
           through the ACPI HPET table) and boots to userspace
  shell    an interactive session on a pty: typing `echo $((6*7))` prints 42

  linux_tcg_test.py VIREO REPO_ROOT KIT_DIR [CHECK...]
"""

import os
import pty
import re
import select
import shutil
import subprocess
import sys
import time

from harness import QEMU, Results, SKIP, end_process

KIT_TIMEOUT_S = 900


def boot(argv, patterns, timeout_s, wait_for_exit=False):
    """Runs the guest until every pattern is on its console (and, with
    wait_for_exit, until the process ends), or the time is up; returns the
    console text and the exit status (None if it had to be stopped)."""
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    console = b""
    deadline = time.monotonic() + timeout_s
    seen_all = False
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([process.stdout], [], [], 1.0)
            if ready:
                chunk = os.read(process.stdout.fileno(), 65536)
                if not chunk:
                    break
                console += chunk
                text = console.decode("utf-8", "replace").replace("\r", "")
                seen_all = all(re.search(p, text, re.M) for p in patterns)
                if seen_all and not wait_for_exit:
                    break
        if seen_all and wait_for_exit:
            try:
                process.wait(timeout=max(1.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                pass
    finally:
        status = process.poll()
        end_process(process)
    return console.decode("utf-8", "replace").replace("\r", ""), status

BOOT_TIMEOUT_S = 600


def guest_argv(emulator, kit, test, extra=(), append_extra=""):
    return [emulator, "-accel", "tcg", "-m", "512", "-nographic", "-no-reboot", *extra,
            "-kernel", os.path.join(kit, "vmlinuz"), "-initrd", os.path.join(kit, "initrd.gz"),
            "-append", f"console=ttyS0 vireo.test={test} {append_extra}".strip()]


def check_console(results, what, console, status, patterns, seconds, expect_status=None):
    tail = "\n".join(console.split("\n")[-40:])
    ok = True
    for pattern in patterns:
        ok &= results.check(re.search(pattern, console, re.M) is not None,
                            f"{what}: the guest printed /{pattern}/ ({seconds:.1f} s)",
                            f"exit status: {status}\nlast console lines:\n{tail}")
    if expect_status is not None:
        ok &= results.check(status == expect_status, f"{what}: vireo exited {expect_status}",
                            f"exit status: {status}\nlast console lines:\n{tail}")
    return ok


def timed_boot(argv, patterns, wait_for_exit=False):
    start = time.monotonic()
    console, status = boot(argv, patterns, BOOT_TIMEOUT_S, wait_for_exit=wait_for_exit)
    return console, status, time.monotonic() - start


def check_banner(results, vireo, kit):
    argv = guest_argv(vireo, kit, "boot", append_extra="earlyprintk=ttyS0")
    # Wait for the pattern that is checked: output arrives in chunks, and
    # a chunk can end after "Linux version 6.1".
    banner = r"Linux version \d+\.\d+\.\d+"
    console, status, seconds = timed_boot(argv, [banner])
    check_console(results, "banner", console, status, [banner], seconds)


def check_boot(results, vireo, kit):
    patterns = [r"^VIREO-BOOT uptime=[0-9.]+$", r"^VIREO-RESULT boot ok$"]
    console, status, seconds = timed_boot(guest_argv(vireo, kit, "boot"), patterns, wait_for_exit=True)
    check_console(results, "boot", console, status, patterns, seconds, expect_status=0)


def check_smp(results, vireo, kit):
    patterns = [r"^VIREO-RESULT cpus online=2$"]
    argv = guest_argv(vireo, kit, "cpus", extra=("-smp", "2"))
    console, status, seconds = timed_boot(argv, patterns, wait_for_exit=True)
    check_console(results, "smp", console, status, patterns, seconds, expect_status=0)


def check_hpet(results, vireo, kit):
    patterns = [r"hpet0: at MMIO 0xfed00000", r"clocksource: Switched to clocksource hpet",
                r"^VIREO-RESULT boot ok$"]
    argv = guest_argv(vireo, kit, "boot", append_extra="clocksource=hpet")
    console, status, seconds = timed_boot(argv, patterns, wait_for_exit=True)
    check_console(results, "hpet", console, status, patterns, seconds, expect_status=0)


def check_cpu(results, vireo, kit):
    pattern = r"^VIREO-RESULT cpu checksum=([0-9a-f]{32})"
    console, status, seconds = timed_boot(guest_argv(vireo, kit, "cpu"), [pattern], wait_for_exit=True)
    if not check_console(results, "cpu", console, status, [pattern], seconds, expect_status=0):
        return
    ours = re.search(pattern, console, re.M).group(1)
    if shutil.which(QEMU) is None:
        results.skip("cpu: checksum equals QEMU's", f"{QEMU} is not installed")
        return
    reference, qemu_status, _ = timed_boot(guest_argv(QEMU, kit, "cpu"), [pattern], wait_for_exit=True)
    match = re.search(pattern, reference, re.M)
    results.check(match is not None and match.group(1) == ours,
                  f"cpu: checksum {ours} equals QEMU's",
                  f"QEMU printed: {match.group(1) if match else None} (status {qemu_status})")


def check_shell(results, vireo, kit):
    """Types into the guest's shell through a pseudo-terminal, as a person at
    a terminal would, and reads the guest's answer."""
    controller, terminal = pty.openpty()
    argv = guest_argv(vireo, kit, "shell")
    process = subprocess.Popen(argv, stdin=terminal, stdout=terminal, stderr=terminal, close_fds=True)
    os.close(terminal)
    output = b""

    def wait_for(pattern, timeout_s):
        nonlocal output
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            ready, _, _ = select.select([controller], [], [], 0.5)
            if ready:
                try:
                    chunk = os.read(controller, 65536)
                except OSError:
                    break
                if not chunk:
                    break
                output += chunk
                if re.search(pattern, output.decode("utf-8", "replace").replace("\r", ""), re.M):
                    return True
        return False

    try:
        # busybox's line editor asks the terminal where the cursor is
        # (ESC [ 6 n) right after the prompt; a terminal answers ESC [ row;col R.
        prompt = wait_for(r"^VIREO-BOOT", BOOT_TIMEOUT_S) and wait_for(r"[#$] (\x1b\[6n)?$", 120)
        results.check(prompt, "shell: a prompt appears", output.decode("utf-8", "replace")[-2000:])
        if prompt:
            if output.endswith(b"\x1b[6n"):
                os.write(controller, b"\x1b[24;10R")
            os.write(controller, b"echo $((6*7))\r")
            results.check(wait_for(r"^42$", 60), "shell: `echo $((6*7))` answers 42",
                          output.decode("utf-8", "replace")[-2000:])
            os.write(controller, b"exit\r")
            results.check(wait_for(r"VIREO-RESULT shell done", 60), "shell: exit ends the session",
                          output.decode("utf-8", "replace")[-2000:])
            try:
                status = process.wait(timeout=60)
            except subprocess.TimeoutExpired:
                status = None
            results.check(status == 0, "shell: vireo exits 0 after the guest powers off",
                          f"status {status}")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
        os.close(controller)


CHECKS = {"banner": check_banner, "boot": check_boot, "smp": check_smp, "hpet": check_hpet,
          "cpu": check_cpu, "shell": check_shell}


def main():
    vireo, repo, kit = sys.argv[1], sys.argv[2], sys.argv[3]
    wanted = sys.argv[4:] or list(CHECKS)
    results = Results()
    built = subprocess.run([os.path.join(repo, "scripts", "guest-kit"), kit],
                           stdin=subprocess.DEVNULL, timeout=KIT_TIMEOUT_S)
    if not results.check(built.returncode == 0, f"scripts/guest-kit {kit}"):
        results.finish()
    for name in wanted:
        CHECKS[name](results, vireo, kit)
    results.finish()


if __name__ == "__main__":
    main()
