#!/usr/bin/env python3
"""User-mode networking through virtio-net-pci on vireo's software CPU,
through the real command line, against servers the test runs on the host:

  vireo -accel tcg -m 256 -nographic -no-reboot
        -netdev user,id=n0,hostfwd=tcp:127.0.0.1:HOSTPORT-:7000
        -device virtio-net-pci,netdev=n0,id=net0
        -kernel vmlinuz -initrd initrd.gz
        -append "console=ttyS0 vireo.test=net vireo.url=http://10.0.2.2:PORT/payload.bin vireo.listen=7000"

Checks:
  - the guest's eth0 is driven by virtio_net, with QEMU's default MAC
    52:54:00:12:34:56, and gets 10.0.2.15/24 via 10.0.2.2 from slirp's DHCP;
  - guest to host: busybox wget fetches 512 KiB of random bytes from a
    python HTTP server on the host's 127.0.0.1 (10.0.2.2 to the guest) and
    the guest's md5 equals the host's;
  - host to guest: through the hostfwd rule the host sends 256 KiB of
    random bytes to a guest listener (busybox nc -e md5sum) and reads back
    the md5, equal to the host's;
  - `info network` over QMP (human-monitor-command) while the guest runs
    shows the NIC and its user back end as QEMU prints them;
  - query-pci lists a 1af4:1041 network controller;
  - -nic user,model=virtio-net-pci,restrict=on: the same guest gets its
    address but cannot reach the host's HTTP server;
  - the same guest and checks on QEMU (-device virtio-net-pci,
    disable-legacy=on) give the same results and the same info network.

  virtio_net_test.py VIREO REPO_ROOT KIT_DIR
"""

import hashlib
import os
import re
import select
import socket
import subprocess
import sys
import time

from harness import QEMU, Results, end_process, qemu_path, scratch_dir, start_http_server
from linux_tcg_test import BOOT_TIMEOUT_S, KIT_TIMEOUT_S
from monitor_clients import QmpClient

GUEST_PORT = 7000
HTTP_BYTES = 512 << 10
ECHO_BYTES = 256 << 10


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def md5_over_forward(port, payload, deadline):
    """Sends payload to the forwarded port, half-closes, reads the md5 the
    guest answers. The guest's listener may not be up yet (slirp then
    closes the connection at once): retry until the deadline."""
    last = "no attempt"
    while time.monotonic() < deadline:
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=60) as s:
                s.sendall(payload)
                s.shutdown(socket.SHUT_WR)
                reply = b""
                while True:
                    chunk = s.recv(4096)
                    if not chunk:
                        break
                    reply += chunk
            m = re.match(rb"([0-9a-f]{32})", reply)
            if m:
                return m.group(1).decode(), None
            last = f"reply {reply[:80]!r}"
        except OSError as e:
            last = str(e)
        time.sleep(1)
    return None, last


def run_guest(argv, qmp_path, host_port, echo_payload):
    """Boots the guest; when it listens, runs the host-to-guest exchange and
    asks the monitor for info network and query-pci. Returns a dict."""
    out = {"console": "", "status": None, "echo_md5": None, "echo_error": None,
           "info_network": None, "pci": None}
    process = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                               stderr=subprocess.STDOUT)
    console = b""
    deadline = time.monotonic() + BOOT_TIMEOUT_S
    exchanged = False
    try:
        while time.monotonic() < deadline:
            ready, _, _ = select.select([process.stdout], [], [], 1.0)
            if not ready:
                continue
            chunk = os.read(process.stdout.fileno(), 65536)
            if not chunk:
                break
            console += chunk
            text = console.decode("utf-8", "replace")
            if not exchanged and re.search(r"^VIREO-INFO net listening", text, re.M):
                exchanged = True
                if qmp_path:
                    try:
                        qmp = QmpClient(qmp_path)
                        qmp.execute("qmp_capabilities")
                        out["info_network"] = qmp.hmp("info network")
                        out["pci"] = qmp.execute("query-pci").get("return")
                        qmp.close()
                    except (OSError, EOFError, ValueError) as e:
                        out["info_network"] = f"monitor error: {e}"
                if host_port:
                    out["echo_md5"], out["echo_error"] = md5_over_forward(
                        host_port, echo_payload, time.monotonic() + 120)
        process.wait(timeout=max(1.0, deadline - time.monotonic()))
    except subprocess.TimeoutExpired:
        pass
    finally:
        end_process(process)
        # What is left in the pipe after the guest powered off.
        rest = process.stdout.read()
        if rest:
            console += rest
        out["status"] = process.returncode
    out["console"] = console.decode("utf-8", "replace").replace("\r", "")
    return out


def guest_argv(emulator, kit, netdev, device, url, listen, qmp_path, net_args=None):
    append = f"console=ttyS0 vireo.test=net vireo.url={url}"
    if listen:
        append += f" vireo.listen={GUEST_PORT}"
    argv = [emulator, "-accel", "tcg", "-m", "256", "-nographic", "-no-reboot"]
    argv += net_args if net_args else ["-netdev", netdev, "-device", device]
    if qmp_path:
        argv += ["-qmp", f"unix:{qmp_path},server=on,wait=off"]
    return argv + ["-kernel", os.path.join(kit, "vmlinuz"), "-initrd", os.path.join(kit, "initrd.gz"),
                   "-append", append]


def check_run(results, name, run, http_md5, echo_md5, seconds):
    console = run["console"]
    tail = "\n".join(console.split("\n")[-30:])
    results.check(re.search(r"^VIREO-INFO net eth0 mac=52:54:00:12:34:56 driver=virtio_net$", console, re.M),
                  f"{name}: eth0 is virtio_net with MAC 52:54:00:12:34:56", tail)
    results.check(re.search(r"^VIREO-INFO net eth0 ip=10\.0\.2\.15/24 router=10\.0\.2\.2$", console, re.M),
                  f"{name}: DHCP gives 10.0.2.15/24 via 10.0.2.2", tail)
    m = re.search(r"^VIREO-RESULT net ok md5=([0-9a-f]{32})$", console, re.M)
    results.check(m is not None and m.group(1) == http_md5,
                  f"{name}: guest->host: wget's md5 equals the host file's {http_md5} ({seconds:.1f} s)", tail)
    results.check(run["echo_md5"] == echo_md5,
                  f"{name}: host->guest over hostfwd: the guest's md5 {run['echo_md5']} equals the host's {echo_md5}",
                  f"{run['echo_error']}\n{tail}")
    results.check(run["status"] == 0, f"{name}: exits 0 when the guest powers off", f"status {run['status']}\n{tail}")


def main():
    vireo, repo, kit = sys.argv[1], sys.argv[2], sys.argv[3]
    results = Results()
    built = subprocess.run([os.path.join(repo, "scripts", "guest-kit"), kit],
                           stdin=subprocess.DEVNULL, timeout=KIT_TIMEOUT_S)
    if not results.check(built.returncode == 0, f"scripts/guest-kit {kit}"):
        results.finish()

    work = scratch_dir("vireo-virtio-net-test-")
    www = os.path.join(work, "www")
    os.mkdir(www)
    payload = os.urandom(HTTP_BYTES)
    with open(os.path.join(www, "payload.bin"), "wb") as f:
        f.write(payload)
    http_md5 = hashlib.md5(payload).hexdigest()
    echo_payload = os.urandom(ECHO_BYTES)
    echo_md5 = hashlib.md5(echo_payload).hexdigest()
    server = start_http_server(www)
    url = f"http://10.0.2.2:{server.server_address[1]}/payload.bin"

    # vireo: both directions, and the monitor's view while the guest runs.
    host_port = free_port()
    qmp_path = os.path.join(work, "qmp.sock")
    netdev = f"user,id=n0,hostfwd=tcp:127.0.0.1:{host_port}-:{GUEST_PORT}"
    start = time.monotonic()
    mine = run_guest(guest_argv(vireo, kit, netdev, "virtio-net-pci,netdev=n0,id=net0", url, True, qmp_path),
                     qmp_path, host_port, echo_payload)
    check_run(results, "vireo", mine, http_md5, echo_md5, time.monotonic() - start)
    expected_info = ("net0: index=0,type=nic,model=virtio-net-pci,macaddr=52:54:00:12:34:56\n"
                     " \\ n0: index=0,type=user,net=10.0.2.0,restrict=off\n")
    results.check(mine["info_network"] == expected_info, "vireo: info network shows net0 and its user back end n0",
                  repr(mine["info_network"]))
    nic = [d for bus in (mine["pci"] or []) for d in bus.get("devices", [])
           if d.get("id", {}).get("vendor") == 0x1af4 and d.get("id", {}).get("device") == 0x1041]
    results.check(len(nic) == 1 and nic[0].get("class_info", {}).get("class") == 0x0200 and nic[0].get("qdev_id") == "net0",
                  "vireo: query-pci lists net0 as a 1af4:1041 Ethernet controller", repr(mine["pci"])[:2000])

    # restrict=on: the guest is cut off from the host (its DHCP still works).
    # Written as -nic, the one-option form.
    start = time.monotonic()
    restricted = run_guest(guest_argv(vireo, kit, None, None, url, False, None,
                                      ["-nic", "user,model=virtio-net-pci,restrict=on"]), None, None, None)
    console = restricted["console"]
    results.check(re.search(r"^VIREO-INFO net eth0 ip=10\.0\.2\.15/24", console, re.M)
                  and re.search(r"^VIREO-RESULT net fail http ", console, re.M),
                  f"vireo -nic user,restrict=on: DHCP works, the host's HTTP server is unreachable "
                  f"({time.monotonic() - start:.1f} s)", "\n".join(console.split("\n")[-20:]))

    qemu = qemu_path()
    if qemu is None:
        results.skip("the same guest on QEMU", f"{QEMU} is not installed")
    else:
        host_port = free_port()
        qmp_path = os.path.join(work, "qemu-qmp.sock")
        netdev = f"user,id=n0,hostfwd=tcp:127.0.0.1:{host_port}-:{GUEST_PORT}"
        # No VGA and no default NIC, so the guest sees the same one device.
        argv = guest_argv(qemu, kit, netdev, "virtio-net-pci,netdev=n0,id=net0,disable-legacy=on", url, True, qmp_path)
        argv[1:1] = ["-vga", "none"]
        start = time.monotonic()
        theirs = run_guest(argv, qmp_path, host_port, echo_payload)
        check_run(results, "QEMU", theirs, http_md5, echo_md5, time.monotonic() - start)
        results.check(theirs["info_network"] == mine["info_network"], "info network is the same on QEMU",
                      f"QEMU:  {theirs['info_network']!r}\nvireo: {mine['info_network']!r}")
    server.shutdown()
    results.finish()


if __name__ == "__main__":
    main()
