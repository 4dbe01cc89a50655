#!/usr/bin/env python3
"""The command line through the real binary: every mistake exits 1 with one
line on stderr that names the culprit, in QEMU's words where QEMU has some
(the same arguments are given to qemu-system-x86_64 and its message must
appear in vireo's line); -version, -h and the help listings exit 0.

  cli_test.py VIREO
"""

import os
import re
import sys

from harness import Results, qemu_path, run, scratch_dir

# Every error case starts with these, so that nothing would wait on a display
# or a guest (they come first: "-m" must stay the last argument).
QUIET = ["-display", "none", "-serial", "none"]


def qemu_message(stderr_lines):
    """QEMU's error text without its program prefix and option prefix:
    "qemu-system-x86_64: -m foo: Parameter ..." gives "Parameter ..."."""
    if not stderr_lines:
        return None
    line = re.sub(r"^(qemu-system-x86_64|qemu): ", "", stderr_lines[0])
    return re.sub(r"^--?[a-zA-Z-]+( \S+)?: ", "", line)


def main():
    vireo = sys.argv[1]
    results = Results()
    qemu = qemu_path()
    if qemu is None:
        results.skip("comparing messages with QEMU",
                     "qemu-system-x86_64 is not installed (Debian package qemu-system-x86)")

    work = scratch_dir("vireo-cli-test-")
    odd_rom = os.path.join(work, "odd-size.rom")
    with open(odd_rom, "wb") as f:
        f.write(b"\xf4" * 1000)  # not a multiple of 64 KiB

    image = os.path.join(work, "disk.img")
    with open(image, "wb") as f:
        f.truncate(1 << 20)
    drive_none = ["-drive", f"file={image},format=raw,if=none,id=d0"]

    # arguments, text vireo's line must contain (the culprit), compare with QEMU?
    errors = [
        (["-bogus"], "-bogus: invalid option", True),
        (["-m", "foo"], "-m foo: Parameter 'size' expects a non-negative number below 2^64", True),
        (["-smp", "x"], "-smp x: Parameter 'smp.cpus' expects integer", True),
        (["-M", "foo"], "unsupported machine type 'foo'", True),
        (["-cpu", "foo"], "unable to find CPU model 'foo'", True),
        (["-device", "foo"], "-device foo: 'foo' is not a valid device model name", True),
        (["-device", "isa-debug-exit,iobas=3"],
         "-device isa-debug-exit,iobas=3: Property 'isa-debug-exit.iobas' not found", True),
        (["-serial", "foo"], "-serial foo: 'foo' is not a valid char driver", True),
        (["-kernel", "/nonexistent"],
         "could not open kernel file '/nonexistent': No such file or directory", True),
        (["-bios", "/nonexistent"], "could not load PC BIOS '/nonexistent'", True),
        (["-bios", odd_rom], f"could not load PC BIOS '{odd_rom}': size must be", True),
        (["-initrd", "/nonexistent"], "-initrd only allowed with -kernel option", True),
        (["-accel", "foo"], "-accel foo: invalid accelerator foo", True),
        (["-m"], "-m: requires an argument", True),
        # Drives and virtio-blk-pci.
        (["-drive", "file=/nonexistent.img,format=raw,if=virtio"],
         "Could not open '/nonexistent.img': No such file or directory", True),
        (["-drive", f"file={image},format=raw,if=virtio,foo=bar"],
         "Block format 'raw' does not support the option 'foo'", True),
        (["-drive", f"file={image},format=vmdkx,if=virtio"], "Unknown driver 'vmdkx'", True),
        (["-drive", f"file={image},format=raw,if=floppyx"], "unsupported bus type 'floppyx'", True),
        (["-drive", f"file={image},format=raw,if=virtio,cache=bogus"], "invalid cache option", True),
        (["-drive", f"file={image},format=raw,if=virtio,readonly=maybe"],
         "Parameter 'read-only' expects 'on' or 'off'", True),
        (["-drive", f"file={image},format=raw,if=virtio,snapshot=maybe"],
         "Parameter 'snapshot' expects 'on' or 'off'", True),
        (["-snapshot", "-drive", "file=/nonexistent.img,format=raw,if=virtio"],
         "Could not open '/nonexistent.img': No such file or directory", True),
        (["-drive", "format=raw,if=virtio"], 'A block device must be specified for "file"', True),
        (drive_none + drive_none, "Duplicate ID 'd0' for drive", True),
        (drive_none + ["-device", "virtio-blk-pci,drive=d1"],
         "-device virtio-blk-pci,drive=d1: Property 'virtio-blk-device.drive' can't find value 'd1'", True),
        (drive_none + ["-device", "virtio-blk-pci,drive=d0,bogus=1"],
         "Property 'virtio-blk-pci.bogus' not found", True),
        (drive_none + ["-device", "virtio-blk-pci"], "-device virtio-blk-pci: drive property not set", True),
        (drive_none + ["-drive", f"file={image},format=raw,if=none,id=d1",
                       "-device", "virtio-blk-pci,drive=d0,id=x", "-device", "virtio-blk-pci,drive=d1,id=x"],
         "Duplicate ID 'x' for device", True),
        (drive_none + ["-device", "virtio-blk-pci,drive=d0", "-device", "virtio-blk-pci,drive=d0"],
         "Drive 'd0' is already in use by another device", False),
        (["-drive", f"file={image},format=raw,if=virtio,id=d0", "-device", "virtio-blk-pci,drive=d0"],
         "Drive 'd0' is already in use because it has been automatically connected", False),
        # The none machine (libvirt's probe machine) has no bus for devices.
        (["-M", "none", "-device", "isa-debug-exit"],
         "-device isa-debug-exit: No 'ISA' bus found for device 'isa-debug-exit'", True),
        (["-M", "none", "-drive", f"file={image},format=raw,if=virtio"],
         f"-drive file={image},format=raw,if=virtio: No 'PCI' bus found for device 'virtio-blk-pci'", True),
        (["-M", "none"] + drive_none + ["-device", "virtio-blk-pci,drive=d0"],
         "-device virtio-blk-pci,drive=d0: No 'PCI' bus found for device 'virtio-blk-pci'", True),
        (["-M", "none", "-smp", "2"], "Invalid SMP CPUs 2. The max CPUs supported by machine 'none' is 1", True),
        (["-smp", "300"], "Invalid SMP CPUs 300. The max CPUs supported by machine 'pc-i440fx-7.2' is 255", True),
        (["-M", "pc-i440fx-7.2,bogus=1"], "Property 'pc-i440fx-7.2-machine.bogus' not found", True),
        (["-daemonize", "-nographic"], "-nographic cannot be used with -daemonize", True),
        # -boot: QEMU's generic letter check, then the pc machine's.
        (["-boot", "order=cdnx"], "Invalid boot device 'x'", True),
        (["-boot", "order=cdne"], "Too many boot devices for PC", True),
        (["-boot", "once=e"], "Invalid boot device for PC: 'e'", True),
        (["-boot", "menu=maybe"], "Parameter 'boot.menu' expects 'on' or 'off'", True),
        (["-boot", "reboot-timeout=70000"], "reboot timeout is invalid,it should be a value between -1 and 65535", True),
        (["-boot", "splash-time=-1"], "splash-time is invalid,it should be a value between 0 and 65535", True),
        (drive_none + ["-drive", f"file={image},format=raw,if=none,id=d1",
                       "-device", "virtio-blk-pci,drive=d0,bootindex=1", "-device", "virtio-blk-pci,drive=d1,bootindex=1"],
         "The bootindex 1 has already been used", True),
        # QEMU appends ",id=(null)" to the occupant's name.
        (drive_none + ["-device", "virtio-blk-pci,drive=d0,addr=0"],
         "PCI: slot 0 function 0 not available for virtio-blk-pci, in use by i440FX", False),
        # Networking (-netdev user, virtio-net-pci, -nic, -net).
        (["-netdev", "user,id=n0,hostfwd=tcp::abc-:22"],
         "-netdev user,id=n0,hostfwd=tcp::abc-:22: Invalid host forwarding rule 'tcp::abc-:22' (Bad host port)", True),
        (["-netdev", "user,id=n0,hostfwd=xyz::5555-:22"], "(Bad protocol name)", True),
        (["-netdev", "user,id=n0,hostfwd=tcp::5555"], "(Bad host port separator)", True),
        (["-netdev", "user,id=n0,hostfwd=tcp::5555-:0"], "(Bad guest port)", True),
        (["-netdev", "user,id=n0,hostfwd=tcp::5555-1.2.3.4.5:22"], "(Bad guest address)", True),
        (["-netdev", "user,id=n0", "-netdev", "user,id=n0"], "-netdev user,id=n0: Duplicate ID 'n0' for netdev", True),
        (["-netdev", "user"], "-netdev user: Parameter 'id' is missing", True),
        (["-netdev", "user,id=0n"], "Parameter 'id' expects an identifier", True),
        (["-netdev", "bogus,id=x"], "Parameter 'type' does not accept value 'bogus'", True),
        (["-netdev", "user,id=n0,foo=1"], "-netdev user,id=n0,foo=1: Invalid parameter 'foo'", True),
        (["-netdev", "user,id=n0,restrict=maybe"], "Parameter 'restrict' expects 'on' or 'off'", True),
        (["-netdev", "user,id=n0,net=10.0.5.0/33"], "Invalid netmask provided (must be in range 4-32)", True),
        (["-netdev", "user,id=n0,host=10.0.3.2"], "Host doesn't belong to network", True),
        (["-netdev", "user,id=n0,dns=10.0.2.2"], "DNS must be different from host", True),
        (["-netdev", "user,id=n0,dhcpstart=10.0.3.5"], "DHCP doesn't belong to network", True),
        (["-netdev", "user,id=n0,ipv4=off,ipv6=off"], "IPv4 and IPv6 disabled", True),
        (["-netdev", "tap,id=t0"], "-netdev tap,id=t0: netdev type 'tap' is not supported yet", False),
        (["-netdev", "user,id=n0,hostfwd=tcp:1.2.3:5555-:22"],
         "Could not set up host forwarding rule 'tcp:1.2.3:5555-:22'", True),
        (["-device", "virtio-net-pci,netdev=nope"],
         "-device virtio-net-pci,netdev=nope: Property 'virtio-net-device.netdev' can't find value 'nope'", True),
        (["-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0", "-device", "virtio-net-pci,netdev=n0"],
         "Property 'virtio-net-device.netdev' can't take value 'n0', it's in use", True),
        (["-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0,mac=zz"],
         "Property 'virtio-net-device.mac' doesn't take value 'zz'", True),
        (["-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0,bogus=1"],
         "Property 'virtio-net-pci.bogus' not found", True),
        (["-nic", "bogus"], "-nic bogus: Parameter 'type' does not accept value 'bogus'", True),
        (["-nic", "user,model=e1000x"], "Unsupported NIC model: e1000x", True),
        # QEMU's pc has an e1000; vireo has not, and says so.
        (["-nic", "user,model=e1000"], "Unsupported NIC model: e1000 (vireo has only virtio-net-pci)", False),
        (["-net", "user"], "-net user: only -net none is supported", False),
    ]
    # A host port another socket holds: QEMU's message, exit 1 before the guest starts.
    import socket
    busy = socket.socket()
    busy.bind(("127.0.0.1", 0))
    busy.listen()
    busy_port = busy.getsockname()[1]
    errors.append((["-netdev", f"user,id=n0,hostfwd=tcp:127.0.0.1:{busy_port}-:22"],
                   f"Could not set up host forwarding rule 'tcp:127.0.0.1:{busy_port}-:22'", True))
    for args, culprit, compare in errors:
        what = "vireo " + " ".join(args)
        r = run([vireo] + QUIET + args)
        lines = r.stderr_lines
        ok = (r.returncode == 1 and len(lines) == 1 and lines[0].startswith("vireo: ")
              and culprit in lines[0] and not r.stdout)
        results.check(ok, f"{what}: exit 1, one line naming the culprit",
                      f"expected one stderr line containing {culprit!r}\n" + r.describe())
        if compare and qemu:
            q = run([qemu, "-S"] + QUIET + args, timeout=20)
            message = qemu_message(q.stderr_lines)
            ok = q.returncode == 1 and message is not None and message in "\n".join(lines)
            results.check(ok, f"{what}: QEMU's wording",
                          f"QEMU said {message!r}\nvireo said {lines!r}\n" + q.describe())

    # Listings and information: exit 0, text on stdout, nothing on stderr.
    listings = [
        (["-version"], r"^vireo emulator version \d+\.\d+\.\d+"),
        (["-h"], r"(?m)^usage: vireo \[options\]"),
        (["--help"], r"(?m)^-kernel bzImage"),
        (["-machine", "help"], r"(?m)^pc\s+Standard PC"),
        (["-machine", "help"], r"(?m)^pc-i440fx-7.2\s+Standard PC .*\(default\)$"),
        (["-machine", "help"], r"(?m)^none\s+empty machine$"),
        (["-cpu", "help"], r"(?m)^qemu64\s"),
        (["-device", "help"], r"(?m)^isa-debug-exit\s"),
        (["-device", "help"], r"(?m)^virtio-blk-pci\s"),
        (["-device", "help"], r"(?m)^virtio-net-pci\s"),
        (["-accel", "help"], r"(?m)^kvm$"),
        (["-display", "help"], r"(?m)^none$"),
    ]
    for args, pattern in listings:
        r = run([vireo] + args)
        ok = (r.returncode == 0 and re.search(pattern, r.stdout_text) is not None
              and not r.stderr)
        results.check(ok, f"vireo {' '.join(args)}: exit 0 with the listing", r.describe())
        if qemu:
            q = run([qemu] + args, timeout=20)
            results.check(q.returncode == 0, f"qemu {' '.join(args)} exits 0 too", q.describe())
    results.finish()


if __name__ == "__main__":
    main()
