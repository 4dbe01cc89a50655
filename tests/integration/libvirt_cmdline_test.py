"""vireo started the way libvirt 9.0 starts QEMU 7.2, without libvirt: the
command line's shape is the one captured in
data/libvirt-qemu72-domain-capture.txt (an inherited listening socket for
the monitor, a pty serial port, JSON -object/-blockdev/-device/-audiodev,
-S, -no-shutdown), then the QMP sequence libvirt sends at domain start and
during the domain's life.

Checks:
  errors  bad input as libvirt could write it fails with one line naming
          the culprit (no boot)
  domain  the libvirt-shaped boot: query-chardev gives the pty stderr
          announced; query-cpus-fast's thread-id is the vCPU thread;
          qom-list/qom-get of the vCPU agree with the guest's
          /proc/cpuinfo; /machine/peripheral lists the -device ids;
          query-block and query-named-block-nodes use -blockdev's node
          names; query-uuid; the guest answers `echo $((6*7))` on the pty
          with 42 and reads the qcow2 disk; stop/cont stop its clock; a
          guest power-off gives SHUTDOWN (guest-shutdown) and, under
          -no-shutdown, the shutdown state until SIGTERM, which ends vireo
          with SHUTDOWN (host-signal)
  keyval  the same with key=value -object/-device/-audiodev and -no-acpi:
          the guest still boots and answers on the pty

  libvirt_cmdline_test.py VIREO REPO_ROOT KIT_DIR [CHECK...]
"""

import json
import os
import re
import signal
import socket
import subprocess
import sys
import time

from harness import Results, run, scratch_dir
from monitor_clients import PtyConsole, QmpClient

BOOT_TIMEOUT_S = 300
UUID = "767b554c-f52e-40f3-b8e8-0ca478a027b5"
DISK_MARKER = "VIREO-LIBVIRT-DISK-MARKER"
# qom-get property -> the flag Linux shows in /proc/cpuinfo for it.
CPU_FLAGS = {"fpu": "fpu", "pae": "pae", "cx8": "cx8", "cmov": "cmov", "sse": "sse", "sse2": "sse2",
             "pni": "pni", "ssse3": "ssse3", "sse4.1": "sse4_1", "sse4.2": "sse4_2", "popcnt": "popcnt",
             "cx16": "cx16", "lm": "lm", "nx": "nx", "lahf-lm": "lahf_lm", "avx": "avx", "avx2": "avx2",
             "aes": "aes", "movbe": "movbe", "abm": "abm", "avx512f": "avx512f", "svm": "svm",
             "vmx": "vmx"}


def listening_socket(path):
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    sock.bind(path)
    sock.listen(1)
    return sock


def make_disk(directory, results):
    raw = os.path.join(directory, "disk.raw")
    with open(raw, "wb") as f:
        f.write(DISK_MARKER.encode().ljust(512, b"\0"))
        f.truncate(16 << 20)
    disk = os.path.join(directory, "disk.qcow2")
    converted = run(["qemu-img", "convert", "-f", "raw", "-O", "qcow2", raw, disk], timeout=60)
    if converted.returncode != 0:
        results.skip("the qcow2 disk", "qemu-img (qemu-utils) is not there: " + converted.describe())
        return None
    return disk


def libvirt_argv(vireo, kit, directory, monitor_fd, disk, json_form=True, acpi=True):
    """The command line libvirt 9.0 writes (data/libvirt-qemu72-domain-capture.txt)."""
    key_file = os.path.join(directory, "master-key.aes")
    with open(key_file, "wb") as f:
        f.write(os.urandom(32))
    argv = [vireo, "-name", "guest=lvtest,debug-threads=on", "-S"]
    if json_form:
        argv += ["-object", json.dumps({"qom-type": "secret", "id": "masterKey0", "format": "raw", "file": key_file})]
    else:
        argv += ["-object", f"secret,id=masterKey0,format=raw,file={key_file}"]
    argv += ["-machine", "pc-i440fx-7.2,usb=off,dump-guest-core=off,memory-backend=pc.ram",
             "-accel", "tcg", "-cpu", "qemu64", "-m", "256"]
    if json_form:
        argv += ["-object", '{"qom-type":"memory-backend-ram","id":"pc.ram","size":268435456}']
    else:
        argv += ["-object", "memory-backend-ram,id=pc.ram,size=268435456"]
    argv += ["-overcommit", "mem-lock=off", "-smp", "1,sockets=1,cores=1,threads=1", "-uuid", UUID,
             "-display", "none", "-no-user-config", "-nodefaults",
             "-chardev", f"socket,id=charmonitor,fd={monitor_fd},server=on,wait=off",
             "-mon", "chardev=charmonitor,id=monitor,mode=control",
             "-rtc", "base=utc", "-no-shutdown"]
    if not acpi:
        argv += ["-no-acpi"]
    argv += ["-boot", "strict=on",
             "-kernel", os.path.join(kit, "vmlinuz"), "-initrd", os.path.join(kit, "initrd.gz"),
             "-append", "console=ttyS0 vireo.test=shell"]
    if disk is not None:
        argv += ["-blockdev", json.dumps({"driver": "file", "filename": disk, "node-name": "libvirt-1-storage",
                                          "auto-read-only": True, "discard": "unmap"}),
                 "-blockdev", json.dumps({"node-name": "libvirt-1-format", "read-only": False, "driver": "qcow2",
                                          "file": "libvirt-1-storage", "backing": None}),
                 "-device", json.dumps({"driver": "virtio-blk-pci", "bus": "pci.0", "addr": "0x2",
                                        "drive": "libvirt-1-format", "id": "virtio-disk0", "bootindex": 1})]
    argv += ["-chardev", "pty,id=charserial0"]
    if json_form:
        argv += ["-device", '{"driver":"isa-serial","chardev":"charserial0","id":"serial0","index":0}',
                 "-audiodev", '{"id":"audio1","driver":"none"}']
    else:
        argv += ["-device", "isa-serial,chardev=charserial0,id=serial0,index=0",
                 "-audiodev", "none,id=audio1"]
    argv += ["-msg", "timestamp=on"]
    return argv


class Domain:
    """vireo started as libvirt does: the monitor socket created and
    listening before the exec, its fd inherited."""

    def __init__(self, argv_builder, directory):
        self.directory = directory
        self.monitor_path = os.path.join(directory, "monitor.sock")
        self.listener = listening_socket(self.monitor_path)
        self.argv = argv_builder(self.listener.fileno())
        self.stderr_path = os.path.join(directory, "stderr.log")
        self.stderr_file = open(self.stderr_path, "wb")
        self.process = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL, stdout=self.stderr_file,
                                        stderr=self.stderr_file, pass_fds=[self.listener.fileno()], cwd="/")
        self.qmp = None

    def stderr(self):
        with open(self.stderr_path, "rb") as f:
            return f.read().decode("utf-8", "replace")

    def connect(self):
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.settimeout(20)
        client.connect(self.monitor_path)
        # libvirt's framing: an id on every command, CRLF after it.
        self.qmp = QmpClient(sock=client, id_prefix="libvirt-", line_end=b"\r\n")
        return self.qmp

    def pty_path(self, timeout_s=10):
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            match = re.search(r"^char device redirected to (/dev/pts/\d+) \(label charserial0\)$", self.stderr(), re.M)
            if match:
                return match.group(1)
            if self.process.poll() is not None:
                return None
            time.sleep(0.05)
        return None

    def stop(self):
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()
        self.listener.close()
        self.stderr_file.close()


def check_errors(results, vireo, kit):
    directory = scratch_dir("vireo-lvcmd-")
    sock = listening_socket(os.path.join(directory, "m.sock"))
    connected = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    kernel = ["-kernel", os.path.join(kit, "vmlinuz"), "-display", "none", "-nodefaults"]
    cases = [
        (["-device", '{"driver":"isa-serial","chardev":"c0","id":"serial0","speed":9600}',
          "-chardev", "null,id=c0"], "Property 'isa-serial.speed' not found"),
        (["-device", '{"driver":"usb-tablet","id":"input0"}'], "'usb-tablet' is not a valid device model name"),
        (["-device", '{"driver":"isa-serial"'], "JSON parse error"),
        (["-object", '{"qom-type":"memory-backend-file","id":"pc.ram","size":1048576}'],
         "invalid object type: memory-backend-file"),
        (["-object", "secret,id=s0,data=abc,format=base64"], "Failed to decode base64 data"),
        (["-machine", "pc-i440fx-2.0"], "unsupported machine type 'pc-i440fx-2.0'"),
        (["-machine", "pc,usb=on"], "usb=on"),
        (["-machine", "pc,memory-backend=pc.ram", "-m", "128",
          "-object", '{"qom-type":"memory-backend-ram","id":"pc.ram","size":268435456}'],
         "Machine memory size does not match the size of the memory backend"),
        (["-machine", "pc,memory-backend=nope"], "Memory backend 'nope' not found"),
        (["-chardev", "socket,id=charmonitor,fd=987,server=on,wait=off"], "File descriptor '987' is not open"),
        (["-chardev", f"socket,id=charmonitor,fd={connected.fileno()},server=on,wait=off"], "not a listening socket"),
        (["-uuid", "767b554c-f52e-40f3-b8e8"], "Fail to parse UUID string"),
        (["-blockdev", '{"driver":"qcow2","node-name":"f","file":"nothing"}', "-device",
          '{"driver":"virtio-blk-pci","drive":"f"}'], "Cannot find device='' nor node-name='nothing'"),
        (["-blockdev", '{"driver":"nbd","node-name":"n"}'], "Parameter 'driver' does not accept value 'nbd'"),
        (["-device", '{"driver":"isa-serial","chardev":"nope","id":"serial0"}'],
         "Property 'isa-serial.chardev' can't find value 'nope'"),
        (["-chardev", "pty,id=c0", "-device", "isa-serial,chardev=c0,index=4"],
         "Max. supported number of ISA serial ports is 4."),
        (["-audiodev", '{"id":"audio1","driver":"pa"}'], "audiodev driver 'pa' is not supported yet"),
        (["-overcommit", "mem-lock=on"], "mem-lock=on is not supported yet"),
        (["-rtc", "base=utc,driftfix=catchup"], "Invalid parameter 'driftfix'"),
        (["-global", "mc146818rtc.lost_tick_policy=delay"], "doesn't take value 'delay'"),
    ]
    for extra, expected in cases:
        argv = [vireo] + kernel + extra
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                           timeout=30, pass_fds=[sock.fileno(), connected.fileno()])
        lines = [l for l in p.stderr.decode("utf-8", "replace").split("\n") if l]
        results.check(p.returncode == 1 and len(lines) == 1 and expected in lines[0],
                      f"errors: {' '.join(extra)[:90]} -> {expected}",
                      f"exit {p.returncode}, stderr {lines}")
    sock.close()
    connected.close()

    # A refused start with the monitor on an inherited listening socket, the
    # test's own copy closed as libvirt closes its: vireo keeps the socket
    # until a client connects, so libvirt reads end-of-file (and then quotes
    # the domain log) rather than getting "Connection refused".
    refused = Domain(lambda fd: [vireo] + kernel + [
        "-chardev", f"socket,id=charmonitor,fd={fd},server=on,wait=off",
        "-mon", "chardev=charmonitor,id=monitor,mode=control", "-device", "i6300esb"], directory)
    refused.listener.close()
    try:
        time.sleep(1)
        client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        client.settimeout(10)
        try:
            client.connect(refused.monitor_path)
            answer = client.recv(4096)
        except OSError as e:
            answer = f"{e}"
        client.close()
        status = refused.process.wait(timeout=10)
        results.check(answer == b"" and status == 1 and "'i6300esb' is not a valid device model name" in refused.stderr(),
                      "errors: after a refused start the monitor socket takes a client and closes (end-of-file)",
                      f"monitor: {answer!r}, exit {status}, stderr {refused.stderr()!r}")
    finally:
        refused.stop()


def uptime(console):
    match = console.command("echo UP=$(cut -d' ' -f1 /proc/uptime)=", r"^UP=([0-9.]+)=")
    return float(match.group(1)) if match else None


def check_domain(results, vireo, kit, directory):
    disk = make_disk(directory, results)
    domain = Domain(lambda fd: libvirt_argv(vireo, kit, directory, fd, disk), directory)
    console = None
    try:
        pty_path = domain.pty_path()
        if not results.check(pty_path is not None, "domain: stderr says 'char device redirected to /dev/pts/N "
                             "(label charserial0)'", domain.stderr()):
            return
        qmp = domain.connect()
        results.check(qmp.greeting.get("QMP", {}).get("version", {}).get("qemu", {}).get("major") == 7,
                      "domain: QMP greeting on the inherited socket", str(qmp.greeting))
        results.check(qmp.execute("qmp_capabilities").get("return") == {}, "domain: qmp_capabilities")
        caps = qmp.execute("query-migrate-capabilities")
        results.check(caps.get("return") == [{"state": False, "capability": "events"}],
                      "domain: query-migrate-capabilities lists events, off (vireo has no migration yet)", str(caps))
        setcaps = qmp.execute("migrate-set-capabilities",
                              {"capabilities": [{"capability": "events", "state": True}]})
        caps = qmp.execute("query-migrate-capabilities")
        results.check(setcaps.get("return") == {} and caps.get("return") == [{"state": True, "capability": "events"}],
                      "domain: migrate-set-capabilities events=on, as libvirt sends it", str(setcaps) + str(caps))
        xbzrle = qmp.execute("migrate-set-capabilities",
                             {"capabilities": [{"capability": "xbzrle", "state": True}]})
        results.check(xbzrle.get("error", {}).get("class") == "GenericError",
                      "domain: migrate-set-capabilities of a capability vireo lacks is an error", str(xbzrle))
        chardevs = {c["label"]: c for c in qmp.execute("query-chardev").get("return", [])}
        results.check(chardevs.get("charserial0", {}).get("filename") == "pty:" + pty_path,
                      "domain: query-chardev gives charserial0 as pty:" + pty_path, str(chardevs))
        results.check(chardevs.get("charmonitor", {}).get("filename") == f"unix:{domain.monitor_path},server=on",
                      "domain: query-chardev names the inherited monitor socket's path", str(chardevs))

        cpus = qmp.execute("query-cpus-fast").get("return", [])
        results.check(len(cpus) == 1 and cpus[0].get("qom-path") == "/machine/unattached/device[0]",
                      "domain: query-cpus-fast gives the vCPU's qom-path", str(cpus))
        cpu_path = "/machine/unattached/device[0]"
        properties = {p["name"]: p["type"] for p in qmp.execute("qom-list", {"path": cpu_path}).get("return", [])}
        results.check(properties.get("realized") == "bool" and properties.get("lm") == "bool" and
                      properties.get("type") == "string",
                      "domain: qom-list of the vCPU lists its properties", str(properties)[:500])
        values = {}
        for name, kind in properties.items():
            if kind == "bool":
                values[name] = qmp.execute("qom-get", {"path": cpu_path, "property": name}).get("return")
        results.check(all(isinstance(v, bool) for v in values.values()) and values.get("realized") is True,
                      f"domain: qom-get of each of the {len(values)} boolean vCPU properties",
                      str(values)[:500])
        missing = qmp.execute("qom-get", {"path": cpu_path, "property": "no-such-thing"})
        results.check(missing.get("error", {}).get("desc") == "Property 'qemu64-x86_64-cpu.no-such-thing' not found",
                      "domain: qom-get of an unknown property", str(missing))
        peripheral = {p["name"]: p["type"] for p in
                      qmp.execute("qom-list", {"path": "/machine/peripheral"}).get("return", [])}
        results.check(peripheral.get("serial0") == "child<isa-serial>" and
                      (disk is None or peripheral.get("virtio-disk0") == "child<virtio-blk-pci>"),
                      "domain: qom-list /machine/peripheral lists the -device ids", str(peripheral))
        absent = qmp.execute("qom-list", {"path": "/machine/peripheral/nothing"})
        results.check(absent.get("error", {}).get("class") == "DeviceNotFound",
                      "domain: qom-list of a path that does not exist is DeviceNotFound", str(absent))
        if disk is not None:
            nodes = qmp.execute("query-named-block-nodes", {"flat": True}).get("return", [])
            results.check(any(n.get("node-name") == "libvirt-1-format" and n.get("drv") == "qcow2" and
                              n.get("file") == disk for n in nodes),
                          "domain: query-named-block-nodes has -blockdev's format node", str(nodes)[:500])
            block = qmp.execute("query-block").get("return", [])
            results.check(len(block) == 1 and block[0].get("device") == "" and
                          block[0].get("qdev") == "/machine/peripheral/virtio-disk0/virtio-backend" and
                          block[0].get("inserted", {}).get("node-name") == "libvirt-1-format",
                          "domain: query-block names the disk by node name and qdev", str(block)[:500])
        results.check(qmp.execute("query-uuid").get("return") == {"UUID": UUID}, "domain: query-uuid")
        info_uuid = qmp.execute("human-monitor-command", {"command-line": "info uuid"}).get("return")
        results.check(info_uuid == UUID + "\r\n", "domain: HMP info uuid", repr(info_uuid))

        # The console is opened before the guest starts: a pty with no
        # reader drops the guest's output, as QEMU's does.
        console = PtyConsole(pty_path)
        results.check(qmp.execute("cont").get("return") == {}, "domain: cont")
        results.check(qmp.wait_event("RESUME") is not None, "domain: RESUME event")
        booted = console.wait_for_shell(r"vireo guest shell", BOOT_TIMEOUT_S)
        if not results.check(booted is not None, "domain: the guest boots to its shell on the pty",
                             console.text[-3000:] + domain.stderr()[-2000:]):
            return
        time.sleep(1)
        answer = console.command("echo $((6*7))", r"^42$")
        results.check(answer is not None, "domain: the guest answers echo $((6*7)) with 42 on the pty",
                      console.text[-1000:])

        # The vCPU thread: a thread of vireo's, named as debug-threads asks.
        cpus = qmp.execute("query-cpus-fast").get("return", [{}])
        tid = cpus[0].get("thread-id")
        comm_path = f"/proc/{domain.process.pid}/task/{tid}/comm"
        comm = open(comm_path).read().strip() if os.path.exists(comm_path) else None
        results.check(tid != domain.process.pid and comm == "CPU 0/TCG",
                      "domain: query-cpus-fast's thread-id is the running vCPU's thread ('CPU 0/TCG')",
                      f"thread-id {tid}, pid {domain.process.pid}, comm {comm!r}")

        # The vCPU's feature properties are what the guest sees.
        flags = console.command("echo FLAGS=$(grep -m1 ^flags /proc/cpuinfo | cut -d: -f2)=",
                              r"^FLAGS=(.*)=$")
        if results.check(flags is not None, "domain: the guest's /proc/cpuinfo flags", console.text[-1000:]):
            guest_flags = set(flags.group(1).split())
            wrong = {p: values.get(p) for p, f in CPU_FLAGS.items() if values.get(p) != (f in guest_flags)}
            results.check(not wrong, "domain: qom-get of the vCPU's feature flags agrees with the guest's "
                          "/proc/cpuinfo", f"disagree: {wrong}; guest flags: {sorted(guest_flags)}")

        if disk is not None:
            read = console.command("echo DISK=$(head -c 25 /dev/vda)=", r"^DISK=(.*)=$")
            results.check(read is not None and read.group(1) == DISK_MARKER,
                          "domain: the guest reads the qcow2 -blockdev disk", console.text[-1000:])

        # stop/cont: the guest's clock stands still while paused.
        before = uptime(console)
        wall_before = time.monotonic()
        results.check(qmp.execute("stop").get("return") == {} and qmp.wait_event("STOP") is not None,
                      "domain: stop and the STOP event")
        status = qmp.execute("query-status").get("return", {})
        results.check(status.get("status") == "paused", "domain: query-status says paused", str(status))
        time.sleep(3)
        results.check(qmp.execute("cont").get("return") == {} and qmp.wait_event("RESUME") is not None,
                      "domain: cont and the RESUME event")
        after = uptime(console)
        wall = time.monotonic() - wall_before
        results.check(before is not None and after is not None and after - before < wall - 2.0,
                      "domain: the guest's clock did not count the 3 s pause",
                      f"guest {before} -> {after}, host {wall:.2f} s")

        # Guest power-off under -no-shutdown: SHUTDOWN, then the shutdown
        # state until the host ends it.
        console.type("exit\n")
        shutdown = qmp.wait_event("SHUTDOWN", 60)
        results.check(shutdown is not None and shutdown.get("data") == {"guest": True, "reason": "guest-shutdown"},
                      "domain: guest power-off gives SHUTDOWN {guest: true, reason: guest-shutdown}", str(shutdown))
        time.sleep(0.5)
        status = qmp.execute("query-status").get("return", {})
        results.check(status.get("status") == "shutdown" and domain.process.poll() is None,
                      "domain: -no-shutdown leaves the process in the shutdown state", str(status))
        domain.process.send_signal(signal.SIGTERM)
        final = qmp.wait_event("SHUTDOWN", 10)
        results.check(final is not None and final.get("data") == {"guest": False, "reason": "host-signal"},
                      "domain: SIGTERM gives SHUTDOWN {guest: false, reason: host-signal}", str(final))
        try:
            code = domain.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            code = None
        results.check(code == 0, "domain: SIGTERM ends vireo with status 0", f"status {code}")
    finally:
        if console is not None:
            console.close()
        domain.stop()


def check_keyval(results, vireo, kit, directory):
    domain = Domain(lambda fd: libvirt_argv(vireo, kit, directory, fd, None, json_form=False, acpi=False),
                    directory)
    console = None
    try:
        pty_path = domain.pty_path()
        if not results.check(pty_path is not None, "keyval: the pty is announced", domain.stderr()):
            return
        qmp = domain.connect()
        qmp.execute("qmp_capabilities")
        console = PtyConsole(pty_path)
        qmp.execute("cont")
        booted = console.wait_for_shell(r"vireo guest shell", BOOT_TIMEOUT_S)
        if not results.check(booted is not None, "keyval: -no-acpi and key=value options: the guest boots",
                             console.text[-3000:] + domain.stderr()[-2000:]):
            return
        time.sleep(1)
        answer = console.command("echo $((6*7)); ls /sys/firmware/acpi 2>&1 | head -1", r"^42$")
        results.check(answer is not None, "keyval: the guest answers on the pty", console.text[-1000:])
        acpi = console.command("echo ACPI=$(ls -d /sys/firmware/acpi/tables 2>/dev/null)=", r"^ACPI=(.*)=$")
        results.check(acpi is not None and acpi.group(1) == "",
                      "keyval: with -no-acpi the guest finds no ACPI tables", console.text[-1000:])
        # -msg timestamp=on: vireo's own messages carry QEMU's timestamp.
        domain.process.send_signal(signal.SIGTERM)
        domain.process.wait(timeout=10)
        stamped = re.search(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z vireo: terminating on signal 15$",
                            domain.stderr(), re.M)
        results.check(stamped is not None, "keyval: -msg timestamp=on prefixes messages with the time",
                      domain.stderr()[-1000:])
    finally:
        if console is not None:
            console.close()
        domain.stop()


def main():
    # Absolute: the emulator runs with cwd /, as libvirt starts it.
    vireo, repo, kit = (os.path.abspath(a) for a in sys.argv[1:4])
    wanted = sys.argv[4:] or ["errors", "domain", "keyval"]
    results = Results()
    if not os.path.exists(os.path.join(kit, "vmlinuz")):
        built = subprocess.run([os.path.join(repo, "scripts", "guest-kit"), kit], stdin=subprocess.DEVNULL)
        if not results.check(built.returncode == 0, f"scripts/guest-kit {kit}"):
            results.finish()
    if "errors" in wanted:
        check_errors(results, vireo, kit)
    if "domain" in wanted:
        check_domain(results, vireo, kit, scratch_dir("vireo-lvdom-"))
    if "keyval" in wanted:
        check_keyval(results, vireo, kit, scratch_dir("vireo-lvkv-"))
    results.finish()


if __name__ == "__main__":
    main()
