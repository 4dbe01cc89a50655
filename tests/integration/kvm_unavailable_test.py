#!/usr/bin/env python3
"""-accel kvm where KVM cannot be used: vireo must exit 1 with one clear
line, in QEMU's words ("failed to initialize kvm"), and not fall over.

  kvm_unavailable_test.py VIREO

/dev/kvm is taken away only for the emulator, in a private mount namespace
(unshare --mount): once with an empty /dev (no such file), once with
/dev/null bound over /dev/kvm (a device that is not KVM). That needs root or
unprivileged user namespaces; without either the test is skipped.
"""

import os
import subprocess
import sys

from harness import Results, SKIP, qemu_path, run, scratch_dir

# Runs "$0" "$@" after hiding /dev/kvm; only this process tree sees it.
HIDE = {
    "no /dev/kvm at all": "mount -t tmpfs vireo-test /dev",
    "/dev/kvm is not KVM (/dev/null)": "mount --bind /dev/null /dev/kvm",
}


def namespace_prefix(setup):
    """The command prefix that runs a program with `setup` done in a private
    mount namespace, or None if this host does not let us make one."""
    for unshare in (["unshare", "--mount", "--propagation", "private"],
                    ["unshare", "--user", "--map-root-user", "--mount", "--propagation", "private"]):
        probe = subprocess.run(unshare + ["true"], stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
        if probe.returncode == 0:
            return unshare + ["sh", "-c", setup + ' && exec "$0" "$@"']
    return None


def main():
    vireo = sys.argv[1]
    results = Results()
    if namespace_prefix("true") is None:
        print("SKIP: cannot make a private mount namespace here (unshare --mount needs root "
              "or user namespaces), so /dev/kvm cannot be hidden from vireo")
        sys.exit(SKIP)
    if not os.path.exists("/dev/kvm"):
        results.skip("bind-mounting over /dev/kvm", "this host has no /dev/kvm to hide")
        del HIDE["/dev/kvm is not KVM (/dev/null)"]

    work = scratch_dir("vireo-kvm-test-")
    rom = os.path.join(work, "hlt.rom")
    with open(rom, "wb") as f:
        f.write(b"\xf4" * 65536)  # HLT everywhere; it never runs
    args = ["-accel", "kvm", "-bios", rom, "-display", "none", "-serial", "none"]
    qemu = qemu_path()

    for situation, setup in HIDE.items():
        prefix = namespace_prefix(setup)
        r = run(prefix + [vireo] + args)
        lines = r.stderr_lines
        ok = (r.returncode == 1 and len(lines) == 1 and
              lines[0].startswith("vireo: failed to initialize kvm: "))
        results.check(ok, f"{situation}: exit 1 with one line", r.describe())
        if situation.startswith("no /dev/kvm"):
            text = "\n".join(lines)
            results.check("/dev/kvm" in text and "No such file or directory" in text,
                          f"{situation}: the line names /dev/kvm and the reason", r.describe())
        if qemu:
            q = run(prefix + [qemu] + args, timeout=20)
            results.check(q.returncode == 1 and any("failed to initialize kvm" in l for l in q.stderr_lines),
                          f"{situation}: QEMU also exits 1 with 'failed to initialize kvm'", q.describe())
    results.finish()


if __name__ == "__main__":
    main()
