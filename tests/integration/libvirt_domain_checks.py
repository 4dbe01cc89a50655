"""Domain checks for libvirt_test.py: a vireo domain's start and life under
Debian's libvirt 9.0, through virsh on the test's private libvirtd.

One domain: direct kernel boot of the guest kit in shell mode, a pty serial
console, a qcow2 virtio disk, <controller type='usb' model='none'/> and
<memballoon model='none'/>. virsh define, start, list; the guest answers a
command on the console pty; the guest reads the disk; suspend/resume change
the state and the guest's clock does not count the pause; qemu-monitor-command
--hmp 'info status'; dumpxml round-trips; destroy and undefine leave no
process behind.

Only the guest's own output proves anything: libvirt would accept an
emulator that runs no guest at all.
"""

import os
import re
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET

from harness import scratch_dir
from monitor_clients import PtyConsole

NAME = "vireo-lvdom"
BOOT_TIMEOUT_S = 300
DISK_MARKER = "VIREO-LIBVIRT-DISK-MARKER"


def domain_xml(vireo, files):
    return f"""<domain type='qemu'>
  <name>{NAME}</name>
  <memory unit='MiB'>256</memory>
  <vcpu>1</vcpu>
  <os>
    <type arch='x86_64' machine='pc'>hvm</type>
    <kernel>{files}/vmlinuz</kernel>
    <initrd>{files}/initrd.gz</initrd>
    <cmdline>console=ttyS0 vireo.test=shell</cmdline>
  </os>
  <features><acpi/></features>
  <devices>
    <emulator>{vireo}</emulator>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2'/>
      <source file='{files}/disk.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <serial type='pty'><target port='0'/></serial>
    <console type='pty'><target type='serial' port='0'/></console>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
  </devices>
</domain>
"""


def guest_files(ctx, results):
    """The kernel, initrd and disk in a directory the libvirt-qemu user can
    read (the emulator runs as that user, with cwd /)."""
    files = scratch_dir("vireo-lvdom-files-")
    os.chmod(files, 0o755)
    for name in ("vmlinuz", "initrd.gz"):
        shutil.copy(os.path.join(ctx.guest_kit, name), files)
        os.chmod(os.path.join(files, name), 0o644)
    raw = os.path.join(files, "disk.raw")
    with open(raw, "wb") as f:
        f.write(DISK_MARKER.encode().ljust(512, b"\0"))
        f.truncate(16 << 20)
    converted = subprocess.run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw,
                                os.path.join(files, "disk.qcow2")],
                               stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    os.unlink(raw)
    if not results.check(converted.returncode == 0, "domain: a qcow2 disk image (qemu-img convert)",
                         converted.stdout.decode(errors="replace")):
        return None
    os.chmod(os.path.join(files, "disk.qcow2"), 0o666)
    return files


def domstate(lv):
    r = lv.virsh("domstate", NAME, timeout=30)
    return r.stdout_text.strip() if r.returncode == 0 else f"(domstate failed: {r.describe()})"


def uptime(console):
    match = console.command("echo UP=$(cut -d' ' -f1 /proc/uptime)=", r"^UP=([0-9.]+)=")
    return float(match.group(1)) if match else None


def check_domain_life(lv, results, ctx):
    if ctx.guest_kit is None or not os.path.exists(os.path.join(ctx.guest_kit, "vmlinuz")):
        results.skip("domain checks", "no guest kit (libvirt_test.py VIREO SOURCE_ROOT GUEST_KIT_DIR)")
        return
    files = guest_files(ctx, results)
    if files is None:
        return
    xml_path = os.path.join(files, "domain.xml")
    with open(xml_path, "w") as f:
        f.write(domain_xml(ctx.vireo, files))
    r = lv.virsh("define", xml_path)
    if not results.check(r.returncode == 0, "domain: virsh define (emulator = vireo)", r.describe()):
        return
    console = None
    try:
        r = lv.virsh("start", NAME, timeout=120)
        if not results.check(r.returncode == 0, "domain: virsh start", r.describe() + "\n" +
                             lv.domain_log(NAME)[-3000:] + "\n" + lv.log_tail(30, "error")):
            return
        listed = lv.virsh("list", "--name", timeout=30).stdout_text.split()
        results.check(NAME in listed and domstate(lv) == "running", "domain: virsh list shows it running",
                      f"list: {listed}, state: {domstate(lv)}")
        pids = lv.emulator_pids(ctx.vireo, guest=NAME)
        results.check(len(pids) == 1, "domain: one vireo process runs the domain", f"pids: {pids}")
        log = lv.domain_log(NAME)
        results.check(re.search(r"char device redirected to /dev/pts/\d+ \(label charserial0\)", log) is not None,
                      "domain: the domain log has vireo's 'char device redirected to' line", log[-3000:])

        tty_path = lv.virsh("ttyconsole", NAME, timeout=30).stdout_text.strip()
        if not results.check(tty_path.startswith("/dev/pts/"), "domain: virsh ttyconsole gives the console pty",
                             tty_path):
            return
        console = PtyConsole(tty_path)
        booted = console.wait_for_shell(r"vireo guest shell", BOOT_TIMEOUT_S)
        if not results.check(booted is not None, "domain: the guest boots to its shell on the console pty",
                             console.text[-3000:] + "\n" + lv.domain_log(NAME)[-2000:]):
            return
        time.sleep(1)
        answer = console.command("echo $((6*7))", r"^42$")
        results.check(answer is not None, "domain: the guest answers echo $((6*7)) with 42 on the console",
                      console.text[-1000:])
        disk = console.command("echo DISK=$(head -c 25 /dev/vda)=", r"^DISK=(.*)=$")
        results.check(disk is not None and disk.group(1) == DISK_MARKER,
                      "domain: the guest reads the qcow2 virtio disk (/dev/vda)", console.text[-1000:])

        # What libvirt reads from query-blockstats and friends for the disk
        # the guest just read.
        r = lv.virsh("domblkstat", NAME, "vda", timeout=30)
        stats = dict(re.findall(r"^vda (\w+) (\d+)$", r.stdout_text, re.M))
        results.check(r.returncode == 0 and int(stats.get("rd_req", 0)) > 0 and int(stats.get("rd_bytes", 0)) >= 25,
                      "domain: virsh domblkstat vda counts the guest's reads", r.describe())
        r = lv.virsh("domstats", "--state", "--vcpu", "--block", NAME, timeout=30)
        results.check(r.returncode == 0 and "state.state=1" in r.stdout_text and "block.0.name=vda" in r.stdout_text
                      and "vcpu.current=1" in r.stdout_text,
                      "domain: virsh domstats gives the state, the vCPU count and the disk", r.describe())

        before = uptime(console)
        wall_before = time.monotonic()
        r = lv.virsh("suspend", NAME, timeout=30)
        results.check(r.returncode == 0 and domstate(lv) == "paused", "domain: virsh suspend -> paused",
                      r.describe() + f"\nstate: {domstate(lv)}")
        time.sleep(3)
        r = lv.virsh("resume", NAME, timeout=30)
        results.check(r.returncode == 0 and domstate(lv) == "running", "domain: virsh resume -> running",
                      r.describe() + f"\nstate: {domstate(lv)}")
        after = uptime(console)
        wall = time.monotonic() - wall_before
        results.check(before is not None and after is not None and after - before < wall - 2.0,
                      "domain: the guest's clock did not count the 3 s suspension",
                      f"guest uptime {before} -> {after}, host {wall:.2f} s")

        r = lv.virsh("qemu-monitor-command", "--hmp", NAME, "info status", timeout=30)
        results.check(r.returncode == 0 and r.stdout_text.strip() == "VM status: running",
                      "domain: virsh qemu-monitor-command --hmp 'info status'", r.describe())

        # dumpxml round-trips: defining what it printed changes nothing.
        first = lv.virsh("dumpxml", "--inactive", NAME, timeout=30)
        dumped = os.path.join(files, "dumped.xml")
        with open(dumped, "w") as f:
            f.write(first.stdout_text)
        # define looks the emulator up again (libvirt may probe it again).
        redefined = lv.virsh("define", dumped, timeout=180)
        second = lv.virsh("dumpxml", "--inactive", NAME, timeout=30)
        root = ET.fromstring(first.stdout_text) if first.returncode == 0 else None
        results.check(first.returncode == 0 and redefined.returncode == 0 and
                      first.stdout_text == second.stdout_text and root is not None and
                      root.findtext("devices/emulator") == ctx.vireo,
                      "domain: virsh dumpxml round-trips (define of its output changes nothing)",
                      first.describe()[:1500] + "\n" + redefined.describe() + "\n" + second.stdout_text[:1500])
        live = lv.virsh("dumpxml", NAME, timeout=30).stdout_text
        results.check(f"<source path='{tty_path}'/>" in live,
                      "domain: the live XML names the console pty", live[:3000])
        console.close()
        console = None

        r = lv.virsh("destroy", NAME, timeout=60)
        deadline = time.monotonic() + 10
        while lv.emulator_pids(ctx.vireo, guest=NAME) and time.monotonic() < deadline:
            time.sleep(0.2)
        results.check(r.returncode == 0 and domstate(lv) == "shut off" and not lv.emulator_pids(ctx.vireo, guest=NAME),
                      "domain: virsh destroy stops it and leaves no vireo process",
                      r.describe() + f"\nstate: {domstate(lv)}, pids: {lv.emulator_pids(ctx.vireo, guest=NAME)}")
    finally:
        if console is not None:
            console.close()
        if domstate(lv) not in ("shut off",) and not domstate(lv).startswith("(domstate failed"):
            lv.virsh("destroy", NAME, timeout=60)
        r = lv.virsh("undefine", NAME, timeout=30)
        everything = lv.virsh("list", "--all", "--name", timeout=30).stdout_text.split()
        results.check(r.returncode == 0 and NAME not in everything, "domain: virsh undefine removes it",
                      r.describe() + f"\nlist --all: {everything}")


VI_NAME = "vireo-virtinst"


def check_virt_install(lv, results, ctx):
    """virt-install --import with direct kernel boot creates and starts a
    vireo domain; the guest answers on its console."""
    if ctx.guest_kit is None or shutil.which("virt-install") is None:
        results.skip("virt-install", "no guest kit or no virt-install (virtinst)")
        return
    files = scratch_dir("vireo-virtinst-files-")
    os.chmod(files, 0o755)
    for name in ("vmlinuz", "initrd.gz"):
        shutil.copy(os.path.join(ctx.guest_kit, name), files)
        os.chmod(os.path.join(files, name), 0o644)
    argv = ["virt-install", "--connect", "{uri}", "--name", VI_NAME, "--virt-type", "qemu",
            "--arch", "x86_64", "--machine", "pc", "--memory", "256", "--vcpus", "1",
            "--osinfo", "detect=off,name=generic",
            "--boot", f"emulator={ctx.vireo},kernel={files}/vmlinuz,initrd={files}/initrd.gz,"
                      "kernel_args=console=ttyS0 vireo.test=shell",
            "--import", "--disk", "none", "--network", "none", "--graphics", "none", "--sound", "none",
            "--controller", "usb,model=none", "--memballoon", "none", "--serial", "pty",
            # virt-install's default clock: rtc tickpolicy=catchup
            # (-rtc driftfix=slew), pit delay and no HPET (-no-hpet).
            "--noautoconsole"]
    console = None
    try:
        r = lv.run_client(argv, timeout=240)
        if not results.check(r.returncode == 0 and domstate_of(lv, VI_NAME) == "running",
                             "virt-install --import (direct kernel boot, emulator vireo) starts the domain",
                             r.describe() + "\n" + lv.domain_log(VI_NAME)[-3000:]):
            return
        tty_path = lv.virsh("ttyconsole", VI_NAME, timeout=30).stdout_text.strip()
        if not results.check(tty_path.startswith("/dev/pts/"), "virt-install: the domain has a console pty",
                             tty_path):
            return
        console = PtyConsole(tty_path)
        booted = console.wait_for_shell(r"vireo guest shell", BOOT_TIMEOUT_S)
        answer = console.command("echo $((6*7))", r"^42$") if booted else None
        results.check(answer is not None, "virt-install: the guest answers echo $((6*7)) with 42",
                      console.text[-3000:])
    finally:
        if console is not None:
            console.close()
        lv.virsh("destroy", VI_NAME, timeout=60)
        lv.virsh("undefine", VI_NAME, timeout=30)


def domstate_of(lv, name):
    r = lv.virsh("domstate", name, timeout=30)
    return r.stdout_text.strip() if r.returncode == 0 else ""


CHECKS = [check_domain_life, check_virt_install]
