#!/usr/bin/env python3
"""libvirt drives vireo: Debian's libvirt 9.0 probes build/vireo as the
<emulator> of a type='qemu' domain, through a private libvirtd and virtlogd
this test starts and stops itself (libvirt_harness.py).

Usage: libvirt_test.py VIREO [SOURCE_ROOT GUEST_KIT_DIR]

The capability probe: `virsh domcapabilities --emulatorbin VIREO` must
succeed and describe the pc machine and the qemu (tcg) domain type; what
libvirt derived (its capability cache) must come from vireo's own answers;
`virsh capabilities` works on the same daemon.

Domain checks (define, start, the guest's console, suspend/resume, destroy)
are functions in DOMAIN_CHECKS below, or a second script using the harness;
each gets the started Libvirt, the Results and a Context.

Skipped with a one-line reason when not root or libvirt is not installed.
"""

import os
import re
import sys
import xml.etree.ElementTree as ET

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from harness import SKIP, Results  # noqa: E402
from libvirt_harness import Libvirt, unavailable_reason  # noqa: E402
import libvirt_domain_checks  # noqa: E402


class Context:
    """What the checks share: the emulator, the guest kit, scratch files."""

    def __init__(self, vireo, source_root, guest_kit):
        self.vireo = vireo
        self.source_root = source_root
        self.guest_kit = guest_kit
        self.domcaps = None  # the parsed domcapabilities XML, once probed


def parse_xml(text):
    try:
        return ET.fromstring(text)
    except ET.ParseError:
        return None


def check_domcapabilities(lv, results, ctx):
    """The probe: libvirt runs vireo with -machine none, asks it over QMP and
    describes what a type='qemu' domain on it can be."""
    r = lv.virsh("domcapabilities", "--emulatorbin", ctx.vireo, "--arch", "x86_64",
                 "--virttype", "qemu", timeout=120)
    ok = results.check(r.returncode == 0, "virsh domcapabilities --emulatorbin vireo succeeds",
                       r.describe() + "\n" + lv.log_tail(40, "error"))
    if not ok:
        return
    root = parse_xml(r.stdout_text)
    if not results.check(root is not None and root.tag == "domainCapabilities",
                         "domcapabilities is a <domainCapabilities> document", r.stdout_text[:2000]):
        return
    ctx.domcaps = root
    results.check(root.findtext("path") == ctx.vireo, "domcapabilities names vireo as the emulator",
                  f"path: {root.findtext('path')!r}")
    results.check(root.findtext("domain") == "qemu", "the domain type is qemu (tcg)",
                  f"domain: {root.findtext('domain')!r}")
    # libvirt reports the default machine by its canonical name.
    results.check(root.findtext("machine") == "pc-i440fx-7.2",
                  "the default machine is pc-i440fx-7.2 (vireo's pc)",
                  f"machine: {root.findtext('machine')!r}")
    vcpu = root.find("vcpu")
    results.check(vcpu is not None and vcpu.get("max") == "255", "the pc machine takes up to 255 vCPUs",
                  f"vcpu: {None if vcpu is None else vcpu.attrib}")


def check_capability_cache(lv, results, ctx):
    """What libvirt derived and cached from vireo's answers."""
    caps = lv.capability_cache(ctx.vireo)
    if not results.check(caps is not None, "libvirt cached capabilities for vireo",
                         "no <emulator> entry in the private capability cache"):
        return
    results.check("<version>7002000</version>" in caps,
                  "libvirt read QEMU 7.2.0 (the interface vireo implements) from query-version",
                  re.search(r"<version>.*</version>", caps).group(0) if "<version>" in caps else caps[:500])
    package = re.search(r"<package>(.*)</package>", caps)
    results.check(package is not None and package.group(1).startswith("vireo"),
                  "the package names vireo", package.group(0) if package else "no <package>")
    flags = set(re.findall(r"<flag name='([^']+)'/>", caps))
    results.check("tcg" in flags, "libvirt found the tcg accelerator (qom-list-types tcg-accel)",
                  f"flags: {sorted(flags)}")
    machines = re.findall(r"<machine type='tcg' name='([^']+)'(?: alias='([^']+)')?", caps)
    results.check(("pc-i440fx-7.2", "pc") in machines,
                  "the tcg machine list has pc-i440fx-7.2 with the alias pc", f"machines: {machines}")
    results.check(all(name != "none" for name, _ in machines), "the none machine is not offered for domains",
                  f"machines: {machines}")
    # Syntax libvirt will use on vireo's command line: vireo's schema does
    # not advertise device_add/object-add/netdev_add, so -device, -object
    # and -netdev stay key=value (docs/libvirt.md).
    for flag in ("device.json+hotplug", "object.qapified", "netdev.json", "seccomp-sandbox"):
        results.check(flag not in flags, f"libvirt does not assume '{flag}' (vireo does not advertise it)",
                      f"flags: {sorted(flags)}")


def check_probe_left_nothing(lv, results, ctx):
    """The probe process ends: libvirt kills it once it has asked (SIGTERM,
    or SIGKILL after a grace period), so no vireo stays behind."""
    leftover = lv.emulator_pids(ctx.vireo)
    results.check(not leftover, "no vireo process is left after the probe", f"pids: {leftover}")


def check_probe_qmp(lv, results, ctx):
    """libvirt's side of the conversation: every probe command got a reply
    and none was an error libvirt would not expect."""
    log = lv.qmp_log(ctx.vireo)
    sent = [m for d, m in log if d == ">"]
    replies = [m for d, m in log if d == "<"]
    results.check(any('"query-qmp-schema"' in m for m in sent) and any('"qom-list-types"' in m for m in sent),
                  "libvirt probed vireo's schema and types over QMP",
                  "\n".join(sent[:60]) or lv.log_tail(40))
    # QEMU answers these with errors too (DeviceNotFound for a device it
    # does not have), so only error classes libvirt does not tolerate on
    # a probe count: anything but DeviceNotFound and CommandNotFound.
    bad = [m for m in replies if '"error"' in m and "DeviceNotFound" not in m and "CommandNotFound" not in m]
    results.check(not bad, "no probe command failed with an unexpected error", "\n".join(bad[:10]))


def check_capabilities(lv, results, ctx):
    """virsh capabilities on the same daemon (the host and its default
    emulator, which is QEMU's: vireo is only used where a domain names it)."""
    r = lv.virsh("capabilities", timeout=120)
    root = parse_xml(r.stdout_text) if r.returncode == 0 else None
    results.check(root is not None and root.tag == "capabilities" and root.find("host") is not None,
                  "virsh capabilities works", r.describe()[:2000])


def check_refusal_is_clear(lv, results, ctx):
    """A domain with a device vireo does not have (an i6300esb watchdog):
    vireo refuses its command line with one line naming the culprit,
    libvirt reports that line, and nothing is left running or hanging."""
    name = "vireo-refused"
    xml = f"""<domain type='qemu'>
  <name>{name}</name>
  <memory unit='MiB'>64</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices>
    <emulator>{ctx.vireo}</emulator>
    <controller type='usb' model='none'/>
    <memballoon model='none'/>
    <watchdog model='i6300esb' action='reset'/>
  </devices>
</domain>
"""
    defined = lv.virsh_input(["define", "/dev/stdin"], xml, timeout=120)
    if not results.check(defined.returncode == 0, "refusal: a domain naming vireo is defined", defined.describe()):
        return
    started = lv.virsh("start", name, timeout=120)
    error = started.stderr.decode(errors="replace")
    results.check(started.returncode == 1 and "vireo: " in error,
                  "refusal: virsh start fails with vireo's own message", started.describe())
    log_lines = [l for l in lv.domain_log(name).split("\n") if l.startswith("vireo: ")]
    results.check(len(log_lines) == 1, "refusal: vireo wrote one error line to the domain log",
                  lv.domain_log(name)[-2000:])
    state = lv.virsh("domstate", name, timeout=60)
    results.check(state.returncode == 0 and "shut off" in state.stdout_text,
                  "refusal: the domain is shut off", state.describe())
    results.check(not lv.emulator_pids(ctx.vireo, guest=name), "refusal: no vireo process is left")
    lv.virsh("undefine", name, timeout=60)


PROBE_CHECKS = [check_domcapabilities, check_capability_cache, check_probe_left_nothing,
                check_probe_qmp, check_capabilities, check_refusal_is_clear]

# Domain checks (define/start/console/suspend/resume/destroy) go here, each
# `check(lv, results, ctx)`; they run after the probe checks, on the same
# daemon.
DOMAIN_CHECKS = libvirt_domain_checks.CHECKS


def main():
    if len(sys.argv) not in (2, 4):
        sys.exit(__doc__)
    vireo = os.path.abspath(sys.argv[1])
    source_root = os.path.abspath(sys.argv[2]) if len(sys.argv) == 4 else None
    guest_kit = os.path.abspath(sys.argv[3]) if len(sys.argv) == 4 else None
    reason = unavailable_reason()
    if reason:
        print(f"SKIP: {reason}")
        sys.exit(SKIP)
    results = Results()
    ctx = Context(vireo, source_root, guest_kit)
    try:
        with Libvirt() as lv:
            for check in PROBE_CHECKS + DOMAIN_CHECKS:
                check(lv, results, ctx)
            if results.failed:
                print("libvirtd's log (QEMU driver), last lines:")
                print(lv.log_tail(20))
    except RuntimeError as e:
        results.check(False, "a private libvirtd and virtlogd start", str(e))
    results.finish()


if __name__ == "__main__":
    main()
