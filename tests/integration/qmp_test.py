"""The monitor through the real binary: QMP over a unix socket with a small
standard-library client, HMP over a pseudo-terminal, and the same QMP
session against QEMU, whose reply shapes are the reference.

Checks:
  lifecycle  vireo -S with the guest kit: query-status says prelaunch;
             cont boots the guest; stop/cont pause and resume it and the
             guest's clock (/proc/uptime) does not count the pause; x and
             xp read kernel memory the guest decompressed; system_reset
             reboots it; quit exits 0 after delivering SHUTDOWN; bad
             input on a second client leaves the VM and the first client
             working
  shapes     the same commands on vireo and QEMU, both with one
             if=virtio raw drive, give replies with the same keys and
             value types (query-pci, query-block, query-blockstats too)
  hmp        `info status`, `help`, line editing and `quit` at the (vireo) prompt on a pty
  mux        -nographic: Ctrl-A c switches stdio between COM1 and the monitor
  tcp        -qmp tcp:...: two clients at once, both receive events
  chardev    -chardev socket + -mon: HMP and QMP side by side
  daemon     -daemonize and -pidfile
  probe      libvirt's capability probe (-machine none,accel=kvm:tcg ...
             -daemonize) on vireo and QEMU: qom-list-types, query-machines,
             device-list-properties, query-command-line-options and the
             schema compared with QEMU's

  qmp_test.py VIREO REPO_ROOT KIT_DIR [CHECK...]
"""

import json
import os
import pty
import re
import select
import shutil
import socket
import subprocess
import sys
import time

from harness import QEMU, Results, scratch_dir
from monitor_clients import PipeConsole, QmpClient

KIT_TIMEOUT_S = 900
BOOT_TIMEOUT_S = 300


def uptime(console, results, what):
    """Asks the guest's shell for /proc/uptime."""
    start = len(console.text)
    console.type("echo UP=$(cut -d' ' -f1 /proc/uptime)=\n")
    match = console.wait_for(r"^UP=([0-9.]+)=", 30, start)
    results.check(match is not None, f"lifecycle: the guest answers on its console ({what})",
                  console.text[-2000:])
    return float(match.group(1)) if match else None


def hex_bytes(hmp_text):
    return [int(v, 16) for v in re.findall(r"0x([0-9a-f]+)", hmp_text.split(":", 1)[-1])]


def vcpu_threads(qmp, process):
    """query-cpus-fast's thread ids, and each one's name as /proc has it."""
    cpus = qmp.execute("query-cpus-fast").get("return", [])
    names = {}
    for cpu in cpus:
        try:
            with open(f"/proc/{process.pid}/task/{cpu['thread-id']}/comm") as f:
                names[cpu["thread-id"]] = f.read().strip()
        except OSError:
            names[cpu["thread-id"]] = None
    return [cpu["thread-id"] for cpu in cpus], names


def check_lifecycle(results, vireo, kit):
    directory = scratch_dir("vireo-qmp-")
    path = os.path.join(directory, "qmp.sock")
    argv = [vireo, "-accel", "tcg", "-m", "256", "-smp", "2", "-S", "-display", "none", "-serial", "stdio",
            "-name", "lifecycle,debug-threads=on",
            "-kernel", os.path.join(kit, "vmlinuz"), "-initrd", os.path.join(kit, "initrd.gz"),
            # nokaslr: the kernel at its link address, for x below.
            "-append", "console=ttyS0 vireo.test=shell nokaslr",
            "-qmp", f"unix:{path},server=on,wait=off"]
    process = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    console = PipeConsole(process)
    try:
        qmp = QmpClient(path)
        results.check("QMP" in qmp.greeting, "lifecycle: the QMP greeting", str(qmp.greeting))
        early = qmp.execute("query-status", id=1)
        results.check(early.get("error", {}).get("class") == "CommandNotFound" and early.get("id") == 1,
                      "lifecycle: a command before qmp_capabilities is CommandNotFound", str(early))
        results.check(qmp.execute("qmp_capabilities") == {"return": {}}, "lifecycle: qmp_capabilities")
        status = qmp.execute("query-status")
        results.check(status.get("return") == {"status": "prelaunch", "singlestep": False, "running": False},
                      "lifecycle: -S starts in prelaunch", str(status))
        before = qmp.hmp("xp /4xb 0x1000000")
        results.check(hex_bytes(before) == [0, 0, 0, 0],
                      "lifecycle: the kernel's text is not decompressed before cont", before)
        entry_registers = qmp.hmp("info registers")
        # Under -S the vCPU threads exist already (libvirt pins them by the
        # ids it reads here), and they keep their ids for the machine's life.
        prelaunch_tids, names = vcpu_threads(qmp, process)
        results.check(len(prelaunch_tids) == 2 and process.pid not in prelaunch_tids
                      and [names[t] for t in prelaunch_tids] == ["CPU 0/TCG", "CPU 1/TCG"],
                      "lifecycle: under -S query-cpus-fast gives the vCPU threads' ids", f"{prelaunch_tids} {names}")

        results.check(qmp.execute("cont") == {"return": {}}, "lifecycle: cont")
        results.check(qmp.wait_event("RESUME") is not None, "lifecycle: RESUME event")
        booted = console.wait_for(r"vireo guest shell", BOOT_TIMEOUT_S)
        if not results.check(booted is not None, "lifecycle: cont boots the guest to its shell",
                             console.text[-3000:]):
            return
        time.sleep(1)

        # The guest's clock does not count a pause.
        up_before = uptime(console, results, "before stop")
        wall_before = time.monotonic()
        results.check(qmp.execute("stop") == {"return": {}}, "lifecycle: stop")
        results.check(qmp.wait_event("STOP") is not None, "lifecycle: STOP event")
        paused = qmp.execute("query-status").get("return", {})
        results.check(paused.get("status") == "paused" and paused.get("running") is False,
                      "lifecycle: query-status says paused", str(paused))

        # While paused: memory the guest wrote, through page tables and not.
        physical = qmp.hmp("xp /4xb 0x1000000")
        virtual = qmp.hmp("x /4xb 0xffffffff81000000")
        results.check(hex_bytes(physical) != [0, 0, 0, 0] and len(hex_bytes(physical)) == 4,
                      "lifecycle: xp /4xb reads the kernel text the guest decompressed", physical)
        results.check(hex_bytes(virtual) == hex_bytes(physical),
                      "lifecycle: x through the guest's page tables reads the same bytes", virtual + physical)
        # The vCPU may have been stopped in the kernel or in a busybox process, so
        # the check is for the paused state of a long-mode guest with paging on,
        # and that the state does not move while paused.
        registers = qmp.hmp("info registers")
        long_mode = (re.search(r"CS =\w+ \w+ \w+ \w+ DPL=[03] CS64", registers) is not None
                     and re.search(r"CR0=8\w{7}", registers) is not None
                     and re.search(r"RIP=(ffffffff8|0000)", registers) is not None)
        results.check(long_mode, "lifecycle: info registers shows the paused long-mode guest", registers)
        results.check(qmp.hmp("info registers") == registers,
                      "lifecycle: the registers do not move while paused")

        # Bad input on a second client: it gets errors, nobody else suffers.
        other = QmpClient(path)
        other.execute("qmp_capabilities")
        other.send_raw(b"{bad json\n")
        bad = other.reply()
        results.check(bad.get("error", {}).get("class") == "GenericError" and
                      bad["error"]["desc"].startswith("JSON parse error"),
                      "bad input: malformed JSON is a GenericError", str(bad))
        wrong = other.execute("memsave", {"val": "x", "size": 1, "filename": "/dev/null"})
        results.check(wrong.get("error", {}).get("desc") == "Invalid parameter type for 'val', expected: integer",
                      "bad input: a wrong argument type", str(wrong))
        unknown = other.execute("foo")
        results.check(unknown.get("error") == {"class": "CommandNotFound",
                                               "desc": "The command foo has not been found"},
                      "bad input: an unknown command", str(unknown))
        other.send_raw(b'{"execute": "query-name", "id": "' + b"a" * (2 << 20) + b'"}\n')
        huge = other.reply()
        results.check(huge.get("error", {}).get("class") == "GenericError", "bad input: a huge message is refused",
                      str(huge)[:200])
        # A client that asks and leaves before reading the reply.
        vanishing = QmpClient(path)
        vanishing.send_raw(b'{"execute":"qmp_capabilities"}{"execute":"query-cpus-fast"}\n')
        vanishing.sock.close()
        other.sock.close()
        results.check(qmp.execute("query-status").get("return", {}).get("status") == "paused",
                      "bad input: the first client still works afterwards")

        time.sleep(2)
        wall_paused = time.monotonic() - wall_before
        results.check(qmp.execute("cont") == {"return": {}}, "lifecycle: cont after stop")
        results.check(vcpu_threads(qmp, process)[0] == prelaunch_tids,
                      "lifecycle: the vCPU threads keep their ids over cont, stop and cont")
        up_after = uptime(console, results, "after cont")
        # Between the two readings the host spent wall_total, of which at
        # least wall_paused (over 2 s) with the guest stopped.
        wall_total = time.monotonic() - wall_before
        if up_before is not None and up_after is not None:
            guest_elapsed = up_after - up_before
            results.check(guest_elapsed < wall_total - (wall_paused - 0.5),
                          f"lifecycle: the guest's clock skipped the pause (guest {guest_elapsed:.2f} s, "
                          f"host {wall_total:.2f} s of which {wall_paused:.2f} s paused)")

        # system_reset: the RESET event, and the guest boots again.
        mark = len(console.text)
        results.check(qmp.execute("system_reset") == {"return": {}}, "lifecycle: system_reset")
        reset = qmp.wait_event("RESET")
        results.check(reset is not None and reset.get("data") == {"guest": False, "reason": "host-qmp-system-reset"},
                      "lifecycle: RESET event with the host reason", str(reset))
        results.check(console.wait_for(r"Linux version \d", BOOT_TIMEOUT_S, mark) is not None,
                      "lifecycle: the guest boots again after system_reset", console.text[-2000:])
        results.check(vcpu_threads(qmp, process)[0] == prelaunch_tids,
                      "lifecycle: the vCPU threads keep their ids over system_reset")

        results.check(qmp.execute("quit") == {"return": {}}, "lifecycle: quit")
        shutdown = qmp.wait_event("SHUTDOWN")
        results.check(shutdown is not None and shutdown.get("data") == {"guest": False, "reason": "host-qmp-quit"},
                      "lifecycle: SHUTDOWN (host-qmp-quit) is delivered before the exit", str(shutdown))
        try:
            status = process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            status = None
        results.check(status == 0, "lifecycle: vireo exits 0 after quit", f"status {status}")
        del entry_registers
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def shape(value):
    """A reply's structure: keys and value types, lists by their first element."""
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def same_shape(mine, reference):
    """Equal shapes, where an empty list matches a list of anything (vireo
    offers no QMP capabilities where QEMU offers oob)."""
    if isinstance(mine, dict) and isinstance(reference, dict):
        return mine.keys() == reference.keys() and all(same_shape(mine[k], reference[k]) for k in mine)
    if isinstance(mine, list) and isinstance(reference, list):
        return not mine or not reference or same_shape(mine[0], reference[0])
    return mine == reference


def session(argv, path):
    """Runs a fixed QMP session; returns {name: reply}."""
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                               stderr=subprocess.DEVNULL)
    replies = {}
    try:
        qmp = QmpClient(path)
        replies["greeting"] = qmp.greeting
        replies["before-negotiation"] = qmp.execute("query-status")
        replies["qmp_capabilities"] = qmp.execute("qmp_capabilities", id="x")
        for command in ["query-status", "query-version", "query-name", "query-kvm", "query-cpus-fast",
                        "query-chardev", "query-pci", "query-block", "query-blockstats",
                        "stop", "cont", "system_reset", "query-commands"]:
            replies[command] = qmp.execute(command)
        machines = qmp.execute("query-machines")["return"]
        pc = [m for m in machines if m.get("name") == "pc" or m.get("alias") == "pc"]
        replies["query-machines[pc]"] = {k: v for k, v in pc[0].items() if k != "alias"} if pc else None
        definitions = qmp.execute("query-cpu-definitions")["return"]
        qemu64 = [d for d in definitions if d.get("name") == "qemu64"]
        # alias-of is optional in QEMU's schema: vireo has no versioned models.
        replies["query-cpu-definitions[qemu64]"] = (
            {k: v for k, v in qemu64[0].items() if k != "alias-of"} if qemu64 else None)
        replies["hmp info status"] = qmp.execute("human-monitor-command", {"command-line": "info status"})
        replies["unknown"] = qmp.execute("no-such-command", id=5)
        replies["wrong type"] = qmp.execute("memsave", {"val": "x", "size": 1, "filename": "/dev/null"})
        replies["unexpected"] = qmp.execute("stop", {"bogus": 1})
        replies["not object"] = (qmp.send_raw(b"[]\n"), qmp.reply())[1]
        replies["quit"] = qmp.execute("quit")
        replies["SHUTDOWN"] = qmp.wait_event("SHUTDOWN")
        for e in replies.values():
            if isinstance(e, dict):
                e.pop("timestamp", None)
    finally:
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
    return replies


def check_shapes(results, vireo, kit):
    del kit
    if shutil.which(QEMU) is None:
        results.skip("shapes", f"{QEMU} is not installed")
        return
    directory = scratch_dir("vireo-qmp-shapes-")
    image = os.path.join(directory, "disk.img")
    with open(image, "wb") as f:
        f.truncate(8 << 20)
    common = ["-S", "-display", "none", "-accel", "tcg", "-m", "64", "-name", "shapes",
              "-drive", f"file={image},format=raw,if=virtio"]
    ours = session([vireo, *common, "-qmp", f"unix:{directory}/v.sock,server=on,wait=off"], f"{directory}/v.sock")
    theirs = session([QEMU, "-nodefaults", *common, "-qmp", f"unix:{directory}/q.sock,server=on,wait=off"],
                     f"{directory}/q.sock")
    for name, reference in theirs.items():
        mine = ours.get(name)
        if name == "query-commands":
            # vireo implements fewer commands: compare the entries' shape,
            # and that every vireo command name exists in QEMU.
            results.check(same_shape(shape(mine), shape(reference)), f"shapes: {name} entries have QEMU's shape",
                          f"vireo: {shape(mine)}\nQEMU:  {shape(reference)}")
            qemu_names = {c["name"] for c in reference["return"]}
            extra = [c["name"] for c in mine["return"] if c["name"] not in qemu_names]
            results.check(not extra, "shapes: every vireo QMP command is a QEMU command", str(extra))
            continue
        results.check(same_shape(shape(mine), shape(reference)), f"shapes: {name} has QEMU's shape",
                      f"vireo: {json.dumps(mine)}\nQEMU:  {json.dumps(reference)}")
    for name in ("before-negotiation", "unknown", "wrong type", "unexpected", "not object", "hmp info status"):
        results.check(ours.get(name) == theirs.get(name), f"shapes: {name} is word for word QEMU's",
                      f"vireo: {ours.get(name)}\nQEMU:  {theirs.get(name)}")


def probe_session(binary, directory, name):
    """libvirt's capability probe (-machine none ... -daemonize) of `binary`:
    (exit status of the daemonizing parent, {name: reply})."""
    sock = os.path.join(directory, f"{name}.sock")
    pidfile = os.path.join(directory, f"{name}.pid")
    argv = [binary, "-S", "-no-user-config", "-nodefaults", "-nographic", "-machine", "none,accel=kvm:tcg",
            "-qmp", f"unix:{sock},server=on,wait=off", "-pidfile", pidfile, "-daemonize"]
    try:
        parent = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                stderr=subprocess.PIPE, timeout=30)
    except subprocess.TimeoutExpired:
        return None, {}
    replies = {}
    pid = None
    try:
        with open(pidfile) as f:
            pid = int(f.read())
        qmp = QmpClient(sock, timeout_s=2)
        qmp.execute("qmp_capabilities")
        for command, arguments in [
                ("query-target", None), ("query-kvm", None), ("query-status", None),
                ("qom-list-types", None), ("qom-list-types", {"abstract": True}),
                ("query-machines", None), ("query-command-line-options", None),
                ("query-qmp-schema", None), ("query-cpu-definitions", None),
                ("device-list-properties", {"typename": "isa-debug-exit"}),
                ("device-list-properties", {"typename": "virtio-blk-pci"}),
                ("device-list-properties", {"typename": "no-such-device"}),
                ("device-list-properties", {"typename": "pc-i440fx-7.2-machine"}),
                ("qom-list-properties", {"typename": "none-machine"}),
                ("query-command-line-options", {"option": "no-such-option"})]:
            key = command + (json.dumps(arguments, sort_keys=True) if arguments else "")
            replies[key] = qmp.execute(command, arguments)
    except (OSError, ValueError, EOFError) as e:
        replies["failure"] = str(e)
    finally:
        if pid:
            try:
                os.kill(pid, 15)  # libvirt ends its probe with SIGTERM
            except ProcessLookupError:
                pass
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline and os.path.exists(f"/proc/{pid}"):
                time.sleep(0.05)
            replies["gone after SIGTERM"] = not os.path.exists(f"/proc/{pid}")
            if not replies["gone after SIGTERM"]:
                os.kill(pid, 9)
    return parent, replies


def check_probe(results, vireo, kit):
    """libvirt's capability probe on vireo and on QEMU: the invocation
    daemonizes and answers, and the introspection replies have QEMU's
    shapes, types and parents."""
    del kit
    if shutil.which(QEMU) is None:
        results.skip("probe", f"{QEMU} is not installed")
        return
    directory = scratch_dir("vireo-qmp-probe-")
    parent, ours = probe_session(vireo, directory, "vireo")
    _, theirs = probe_session(shutil.which(QEMU), directory, "qemu")
    ok = results.check(parent is not None and parent.returncode == 0 and parent.stdout == b"" and "failure" not in ours,
                       "probe: -machine none ... -daemonize: the parent exits 0, silent, the QMP socket answers",
                       f"{parent and parent.returncode} {parent and parent.stderr!r} {ours.get('failure')}")
    if not ok or "failure" in theirs:
        return
    results.check(ours["gone after SIGTERM"], "probe: SIGTERM ends the probe process")
    for name in ("query-target", "query-kvm", "query-status", "query-cpu-definitions"):
        results.check(same_shape(shape(ours[name]), shape(theirs[name])), f"probe: {name} has QEMU's shape",
                      f"vireo: {json.dumps(ours[name])}\nQEMU:  {json.dumps(theirs[name])}")
    results.check(ours["query-target"] == theirs["query-target"], "probe: query-target is QEMU's")
    results.check(ours["query-status"]["return"]["status"] == "prelaunch", "probe: -S: prelaunch")

    # Every type vireo lists is one of QEMU's, with the same parent and
    # abstractness.
    qemu_types = {t["name"]: t for t in theirs['qom-list-types{"abstract": true}']["return"]}
    wrong = [t for t in ours['qom-list-types{"abstract": true}']["return"]
             if qemu_types.get(t["name"]) != t]
    results.check(not wrong, "probe: qom-list-types: QEMU's types, parents and abstract flags",
                  "\n".join(f"vireo {t} QEMU {qemu_types.get(t['name'])}" for t in wrong))
    concrete = {t["name"] for t in ours["qom-list-types"]["return"]}
    results.check({"tcg-accel", "isa-serial", "virtio-blk-pci", "pc-i440fx-7.2-machine"} <= concrete,
                  "probe: qom-list-types lists tcg-accel, isa-serial, virtio-blk-pci, the pc machine")

    # The machines: same members as QEMU's entry of the same name (QEMU's pc
    # can hotplug CPUs, vireo's cannot: values may differ, shapes may not).
    for machine in ("pc-i440fx-7.2", "none"):
        mine = [m for m in ours["query-machines"]["return"] if m["name"] == machine]
        reference = [m for m in theirs["query-machines"]["return"] if m["name"] == machine]
        results.check(mine and reference and same_shape(shape(mine[0]), shape(reference[0])),
                      f"probe: query-machines {machine} has QEMU's members",
                      f"vireo: {mine}\nQEMU:  {reference}")

    # Device properties: each one vireo reports, QEMU's device has, with
    # the same type and default.
    for device in ("isa-debug-exit", "virtio-blk-pci"):
        key = f'device-list-properties{{"typename": "{device}"}}'
        reference = {p["name"]: p for p in theirs[key]["return"]}
        wrong = [p for p in ours[key]["return"]
                 if p["name"] not in reference or p["type"] != reference[p["name"]]["type"]
                 or p.get("default-value") != reference[p["name"]].get("default-value")]
        results.check(not wrong and ours[key]["return"], f"probe: device-list-properties {device} as QEMU's",
                      f"vireo: {ours[key]}\nQEMU:  {[reference.get(p['name']) for p in wrong]}")
    for key in ('device-list-properties{"typename": "no-such-device"}',
                'device-list-properties{"typename": "pc-i440fx-7.2-machine"}',
                'query-command-line-options{"option": "no-such-option"}'):
        results.check(ours[key] == theirs[key], f"probe: {key} is word for word QEMU's error",
                      f"vireo: {ours[key]}\nQEMU:  {theirs[key]}")
    key = 'qom-list-properties{"typename": "none-machine"}'
    results.check(same_shape(shape(ours[key]), shape(theirs[key])), "probe: qom-list-properties has QEMU's shape",
                  f"vireo: {ours[key]}")

    # Options: each one vireo reports is QEMU's, and so is each key (with
    # QEMU's type), but for those vireo accepts that QEMU does not list:
    # -accel's implied key, -drive's old spelling readonly=, -drive cache=
    # (QEMU takes it among legacy keys it does not report) and -drive
    # serial= (vireo's; QEMU 7.2 refuses it).
    reference = {o["option"]: {p["name"]: p for p in o["parameters"]}
                 for o in theirs["query-command-line-options"]["return"]}
    wrong = []
    for option in ours["query-command-line-options"]["return"]:
        if option["option"] not in reference:
            wrong.append(option["option"])
            continue
        for p in option["parameters"]:
            if (option["option"], p["name"]) in (("accel", "accel"), ("drive", "readonly"), ("drive", "cache"),
                                                 ("drive", "serial")):
                continue
            known = reference[option["option"]].get(p["name"])
            if known is None or known["type"] != p["type"]:
                wrong.append(f"{option['option']}.{p['name']} ({p['type']}): QEMU {known}")
    results.check(not wrong, "probe: query-command-line-options: QEMU's options, keys and types", "\n".join(wrong))
    results.check(same_shape(shape(ours["query-command-line-options"]), shape(theirs["query-command-line-options"])),
                  "probe: query-command-line-options has QEMU's shape")

    # The schema: each kind of entry shaped as QEMU's.
    def by_kind(schema):
        kinds = {}
        for e in schema["return"]:
            kinds.setdefault((e["meta-type"], tuple(sorted(k for k in e if k != "features"))), e)
        return kinds
    mine, reference = by_kind(ours["query-qmp-schema"]), by_kind(theirs["query-qmp-schema"])
    results.check(set(mine) <= set(reference), "probe: query-qmp-schema entries have QEMU's shapes",
                  f"vireo only: {sorted(set(mine) - set(reference))}")


class TerminalSession:
    """vireo on a pseudo-terminal, as a person at a terminal runs it."""

    def __init__(self, argv):
        self.controller, terminal = pty.openpty()
        self.process = subprocess.Popen(argv, stdin=terminal, stdout=terminal, stderr=terminal,
                                        close_fds=True)
        os.close(terminal)
        self.output = b""

    def write(self, data):
        os.write(self.controller, data)

    def read_until(self, marker, timeout_s=10):
        """(whether `marker` arrived, the text read since the last call)."""
        deadline = time.monotonic() + timeout_s
        while marker not in self.output and time.monotonic() < deadline:
            ready, _, _ = select.select([self.controller], [], [], 0.5)
            if ready:
                try:
                    self.output += os.read(self.controller, 4096)
                except OSError:
                    break
        found = marker in self.output
        text = self.output.decode("utf-8", "replace")
        self.output = b""
        return found, text

    def exit_status(self, timeout_s=10):
        try:
            return self.process.wait(timeout=timeout_s)
        except subprocess.TimeoutExpired:
            return None

    def close(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        os.close(self.controller)


def check_hmp(results, vireo, kit):
    del kit
    session = TerminalSession([vireo, "-S", "-display", "none", "-accel", "tcg", "-m", "64", "-monitor", "stdio"])
    try:
        found, text = session.read_until(b"(vireo) ")
        results.check(found, "hmp: the (vireo) prompt on the terminal", text)
        session.write(b"info status\r")
        found, text = session.read_until(b"(vireo) ")
        results.check("VM status: paused (prelaunch)" in text, "hmp: info status says paused (prelaunch)", text)
        session.write(b"help\r")
        found, text = session.read_until(b"(vireo) ")
        results.check("info [subcommand] --" in text and "quit  --" not in text and "quit --" in text,
                      "hmp: help lists the commands", text)
        # Line editing: a typo fixed with Backspace, then history (Up) reruns it.
        session.write(b"info statuz\x7fs\r")
        found, text = session.read_until(b"(vireo) ")
        results.check("VM status: paused" in text, "hmp: Backspace edits the line", text)
        session.write(b"\x1b[A\r")
        found, text = session.read_until(b"(vireo) ")
        results.check("VM status: paused" in text, "hmp: Up recalls the previous line", text)
        session.write(b"quit\r")
        status = session.exit_status()
        results.check(status == 0, "hmp: quit exits 0", f"status {status}")
    finally:
        session.close()


def check_mux(results, vireo, kit):
    """-nographic shares stdio between COM1 and the monitor (QEMU's
    mon:stdio): Ctrl-A c switches, and the monitor answers there."""
    del kit
    session = TerminalSession([vireo, "-S", "-nographic", "-accel", "tcg", "-m", "64"])
    try:
        time.sleep(0.5)
        session.write(b"\x01c")
        found, text = session.read_until(b"(vireo) ")
        results.check(found, "mux: Ctrl-A c shows the monitor prompt", text)
        session.write(b"info status\r")
        found, text = session.read_until(b"(vireo) ")
        results.check("VM status: paused (prelaunch)" in text, "mux: the monitor answers on stdio", text)
        session.write(b"\x01c\x01x")
        status = session.exit_status()
        results.check(status == 0, "mux: Ctrl-A c back to the console, Ctrl-A x exits 0", f"status {status}")
    finally:
        session.close()


def check_daemon(results, vireo, kit):
    """-daemonize returns once the VM is set up; -pidfile names the daemon,
    which QMP controls and which removes its pid file when it quits."""
    del kit
    directory = scratch_dir("vireo-daemon-")
    path, pidfile = f"{directory}/qmp.sock", f"{directory}/vireo.pid"
    argv = [vireo, "-S", "-display", "none", "-accel", "tcg", "-m", "64", "-daemonize", "-pidfile", pidfile,
            "-qmp", f"unix:{path},server=on,wait=off"]
    parent = subprocess.run(argv, stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    results.check(parent.returncode == 0, "daemon: the foreground process exits 0", parent.stderr.decode())
    try:
        with open(pidfile) as f:
            pid = int(f.read().strip())
    except (OSError, ValueError) as e:
        results.check(False, "daemon: the pid file names the daemon", str(e))
        return
    try:
        os.kill(pid, 0)
        alive = True
    except OSError:
        alive = False
    results.check(alive, "daemon: the pid file names a running process")
    qmp = QmpClient(path)
    qmp.execute("qmp_capabilities")
    results.check(qmp.execute("query-status")["return"]["status"] == "prelaunch", "daemon: QMP reaches the daemon")
    qmp.execute("quit")
    deadline = time.monotonic() + 10
    while os.path.exists(pidfile) and time.monotonic() < deadline:
        time.sleep(0.05)
    results.check(not os.path.exists(pidfile), "daemon: quit removes the pid file")
    bad = subprocess.run([vireo, "-daemonize", "-nographic"], stdin=subprocess.DEVNULL, capture_output=True, timeout=30)
    results.check(bad.returncode == 1 and b"-nographic cannot be used with -daemonize" in bad.stderr,
                  "daemon: -daemonize with -nographic is refused", bad.stderr.decode())


def check_tcp(results, vireo, kit):
    """-qmp tcp:HOST:PORT,server=on,wait=off, and two clients at once."""
    del kit
    probe = socket.socket()
    probe.bind(("127.0.0.1", 0))
    port = probe.getsockname()[1]
    probe.close()
    argv = [vireo, "-S", "-display", "none", "-accel", "tcg", "-m", "64",
            "-qmp", f"tcp:127.0.0.1:{port},server=on,wait=off"]
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        clients = []
        for _ in range(2):
            deadline = time.monotonic() + 10
            while True:
                try:
                    s = socket.create_connection(("127.0.0.1", port), timeout=10)
                    break
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
            f = s.makefile("rwb")
            greeting = json.loads(f.readline())
            clients.append((s, f))
            results.check("QMP" in greeting, "tcp: greeting on a tcp socket")
        for s, f in clients:
            f.write(b'{"execute":"qmp_capabilities"}\n')
            f.flush()
            results.check(json.loads(f.readline()) == {"return": {}}, "tcp: each client negotiates")
        first = clients[0][1]
        first.write(b'{"execute":"cont"}\n')
        first.flush()
        # Both clients see RESUME; the first also gets its reply.
        for s, f in clients:
            message = json.loads(f.readline())
            results.check(message.get("event") == "RESUME", "tcp: every client receives the event", str(message))
        first.write(b'{"execute":"quit"}\n')
        first.flush()
        results.check(process.wait(timeout=10) == 0, "tcp: quit exits 0")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


def check_chardev(results, vireo, kit):
    """HMP on a -chardev socket through -mon, with QMP on another."""
    del kit
    directory = scratch_dir("vireo-chardev-")
    hmp_path, qmp_path = f"{directory}/hmp.sock", f"{directory}/qmp.sock"
    argv = [vireo, "-S", "-display", "none", "-accel", "tcg", "-m", "64",
            "-chardev", f"socket,id=human,path={hmp_path},server=on,wait=off", "-mon", "chardev=human,mode=readline",
            "-chardev", f"socket,id=machine,path={qmp_path},server=on,wait=off", "-mon", "chardev=machine,mode=control"]
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        qmp = QmpClient(qmp_path)
        qmp.execute("qmp_capabilities")
        human = socket.socket(socket.AF_UNIX)
        human.connect(hmp_path)
        human.settimeout(10)
        text = b""
        while not text.endswith(b"(vireo) "):
            text += human.recv(4096)
        human.sendall(b"info chardev\r\n")
        text = b""
        while not text.endswith(b"(vireo) "):
            text += human.recv(4096)
        listing = text.decode()
        results.check(f"human: filename=unix:{hmp_path},server=on" in listing and
                      f"machine: filename=unix:{qmp_path},server=on" in listing,
                      "chardev: HMP on a -chardev socket lists both monitors' chardevs", listing)
        human.sendall(b"cont\r\n")
        results.check(qmp.wait_event("RESUME") is not None, "chardev: cont typed in HMP reaches QMP as RESUME")
        human.sendall(b"quit\r\n")
        results.check(process.wait(timeout=10) == 0, "chardev: quit in HMP exits 0")
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()


CHECKS = {"shapes": check_shapes, "probe": check_probe, "tcp": check_tcp, "chardev": check_chardev, "daemon": check_daemon, "hmp": check_hmp, "mux": check_mux, "lifecycle": check_lifecycle}


def main():
    vireo, repo, kit = sys.argv[1], sys.argv[2], sys.argv[3]
    wanted = sys.argv[4:] or list(CHECKS)
    results = Results()
    if "lifecycle" in wanted:
        built = subprocess.run([os.path.join(repo, "scripts", "guest-kit"), kit],
                               stdin=subprocess.DEVNULL, timeout=KIT_TIMEOUT_S)
        if not results.check(built.returncode == 0, f"scripts/guest-kit {kit}"):
            results.finish()
    for name in wanted:
        CHECKS[name](results, vireo, kit)
    results.finish()


if __name__ == "__main__":
    main()
