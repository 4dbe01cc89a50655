#!/usr/bin/env python3
"""Crash safety of vireo's qcow2 writer: vireo-img is killed with SIGKILL at
random moments while it writes (allocating clusters and growing the
refcount table, compressing, copying on write into an overlay, committing
into an existing image); every image left behind must pass `qemu-img
check` with at most leaked clusters (exit 0 or 3, never 2), as
block/qcow2.h's write order promises.

  img_crash_test.py VIREO_IMG [ROUNDS]
"""

import os
import random
import shutil
import signal
import subprocess
import sys
import time

from harness import Results, run, scratch_dir


def main():
    vireo_img = sys.argv[1]
    rounds = int(sys.argv[2]) if len(sys.argv) > 2 else 6
    results = Results()
    if shutil.which("qemu-img") is None:
        results.skip("crash safety", "qemu-img not installed (Debian package qemu-utils)")
        results.finish()
    work = scratch_dir("vireo-img-crash-")

    def path(name):
        return os.path.join(work, name)

    rng = random.Random(7)
    # 24 MiB: random, text and zero stretches.
    with open(path("source.raw"), "wb") as f:
        for i in range(24):
            kind = i % 3
            f.write(os.urandom(1 << 20) if kind == 0 else
                    (b"crash test " * 100000)[: 1 << 20] if kind == 1 else bytes(1 << 20))
    run(["qemu-img", "convert", "-O", "qcow2", path("source.raw"), path("base.qcow2")])

    def prepare_commit():
        shutil.copy(path("base.qcow2"), path("commit-base.qcow2"))
        run([vireo_img, "create", "-q", "-f", "qcow2", "-b", "commit-base.qcow2", "-F", "qcow2",
             path("commit-top.qcow2")])
        run(["qemu-io", "-c", "write -P 0x3c 0 8M", "-c", "write -P 0x11 12M 4M", path("commit-top.qcow2")])

    scenarios = [
        ("convert, 512-byte clusters, 64-bit refcounts (refcount table growth)",
         None, ["convert", "-O", "qcow2", "-o", "cluster_size=512,refcount_bits=64", path("source.raw"), path("out.qcow2")],
         "out.qcow2"),
        ("convert -c", None, ["convert", "-c", "-O", "qcow2", "-o", "cluster_size=4k", path("source.raw"), path("out.qcow2")],
         "out.qcow2"),
        ("convert -B (copy-on-write into an overlay)", None,
         ["convert", "-O", "qcow2", "-o", "cluster_size=4k", "-B", "base.qcow2", "-F", "qcow2", path("source.raw"),
          path("out.qcow2")], "out.qcow2"),
        ("commit into an existing image", prepare_commit, ["commit", path("commit-top.qcow2")], "commit-base.qcow2"),
    ]
    for what, prepare, argv, image in scenarios:
        # How long the whole operation takes, to kill inside it.
        if prepare:
            prepare()
        start = time.monotonic()
        full = run([vireo_img] + argv, timeout=120)
        duration = time.monotonic() - start
        if not results.check(full.returncode == 0, f"{what}: runs to completion", full.describe()):
            continue
        worst = 0
        leaky = 0
        details = []
        for _ in range(rounds):
            for name in ("out.qcow2",):
                if os.path.exists(path(name)):
                    os.unlink(path(name))
            if prepare:
                prepare()
            process = subprocess.Popen([vireo_img] + argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            time.sleep(rng.uniform(0.02, max(0.05, duration * 0.9)))
            process.send_signal(signal.SIGKILL)
            process.wait()
            if not os.path.exists(path(image)):
                continue
            check = run(["qemu-img", "check", path(image)], timeout=120)
            worst = max(worst, 2 if check.returncode not in (0, 3) else check.returncode)
            leaky += check.returncode == 3
            if check.returncode not in (0, 3):
                details.append(check.describe())
        # (How many kills left leaks shows that they landed mid-write.)
        results.check(worst in (0, 3), f"{what}: killed {rounds} times, qemu-img check finds at most leaks "
                      f"({leaky} left leaks)",
                      "\n".join(details))
    results.finish()


if __name__ == "__main__":
    main()
