"""Running the guest kit under vireo and QEMU side by side, for the
benchmarks in bench/. Standard library only.

A run is one process from exec to exit: wall time until a console line
appears, the whole console, and the peak resident set size the kernel
recorded for the child (ru_maxrss from wait4).
"""
import os
import re
import resource
import select
import shutil
import statistics
import subprocess
import sys
import time

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


def guest_argv(binary, kit, test, memory_mb=512, extra=()):
    return [binary, "-accel", "tcg", "-m", str(memory_mb), "-nographic", "-no-reboot", *extra,
            "-kernel", os.path.join(kit, "vmlinuz"), "-initrd", os.path.join(kit, "initrd.gz"),
            "-append", f"console=ttyS0 vireo.test={test}"]


class GuestRun:
    def __init__(self, seconds_to_line, console, exit_status, peak_rss_kib):
        self.seconds_to_line = seconds_to_line
        self.console = console
        self.exit_status = exit_status
        self.peak_rss_kib = peak_rss_kib


def run_guest(argv, final_line, timeout_s=900):
    """Runs argv until it exits; returns when `final_line` (a regex) first
    appeared, measured from just before exec."""
    start = time.monotonic()
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    console = b""
    seen_at = None
    deadline = start + timeout_s
    while time.monotonic() < deadline:
        ready, _, _ = select.select([process.stdout], [], [], 1.0)
        if not ready:
            continue
        chunk = os.read(process.stdout.fileno(), 65536)
        if not chunk:
            break
        console += chunk
        if seen_at is None and re.search(final_line, console.decode("utf-8", "replace"), re.M):
            seen_at = time.monotonic() - start
    if time.monotonic() >= deadline:
        process.kill()
    _, status, usage = os.wait4(process.pid, 0)
    text = console.decode("utf-8", "replace").replace("\r", "")
    if seen_at is None:
        raise RuntimeError(f"{argv[0]}: /{final_line}/ never appeared; last lines:\n"
                           + "\n".join(text.split("\n")[-15:]))
    return GuestRun(seen_at, text, os.waitstatus_to_exitcode(status), usage.ru_maxrss)


def ensure_kit(kit):
    subprocess.run([os.path.join(ROOT, "scripts", "guest-kit"), kit], check=True,
                   stdout=subprocess.DEVNULL)


def emulators(vireo, qemu):
    found = [("vireo", vireo)]
    if qemu and shutil.which(qemu):
        found.append(("qemu", qemu))
    else:
        print("qemu-system-x86_64 not found: printing vireo's figures only", file=sys.stderr)
    return found


def median(values):
    return statistics.median(values)
