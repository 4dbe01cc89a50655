"""A private libvirt for vireo's libvirt tests: virtlogd and libvirtd started
by the test itself, as root and without systemd, and stopped by their pids
afterwards.

The daemons run in a mount namespace of their own (unshare -m) in which
/run/libvirt, /var/lib/libvirt, /var/cache/libvirt, /var/log/libvirt and
/etc/libvirt/qemu are bind mounts of directories under the test's scratch
directory. So they never meet a libvirtd already running on the machine
(or another test's), start with an empty capability cache (libvirt keys
its cache on the emulator's path and ctime, and a rebuilt build/vireo must
be probed again), and leave no domain definitions behind. Clients reach
the daemon through its socket: qemu:///system?socket=<scratch>/run/libvirt-sock.

Everything has a timeout: a daemon or emulator that hangs fails the test,
never the suite. Standard library only.
"""

import glob
import os
import re
import shutil
import signal
import subprocess
import time

from harness import Run, run, scratch_dir

# What the namespace hides: the daemons' state and the domain definitions.
# The rest of /etc/libvirt (libvirtd.conf, qemu.conf) is the system's.
PRIVATE_DIRS = {
    "run": "/run/libvirt",
    "lib": "/var/lib/libvirt",
    "cache": "/var/cache/libvirt",
    "log": "/var/log/libvirt",
    "etc-qemu": "/etc/libvirt/qemu",
}

# libvirt's debug log of the QEMU driver: every QMP message and the command
# line of every emulator it starts, for the failure report.
LOG_FILTERS = "1:qemu 1:security 3:util 3:rpc"


def unavailable_reason():
    """None if a private libvirt can be started here, else a one-line reason."""
    if os.geteuid() != 0:
        return "libvirtd and virtlogd must run as root (qemu:///system); run the test as root"
    for program in ("libvirtd", "virtlogd", "virsh"):
        if shutil.which(program) is None:
            return (f"{program} is not installed (scripts/setup installs libvirt-daemon-system "
                    "libvirt-clients virtinst)")
    if shutil.which("unshare") is None:
        return "unshare (util-linux) is not installed"
    if not os.path.isdir("/etc/libvirt/qemu"):
        return "/etc/libvirt/qemu is missing: libvirt-daemon-system is not installed whole"
    return None


def _read_pid(path):
    try:
        with open(path) as f:
            return int(f.read().strip())
    except (OSError, ValueError):
        return None


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    # A zombie is dead for our purposes.
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def _mount_namespace(pid):
    try:
        return os.readlink(f"/proc/{pid}/ns/mnt")
    except OSError:
        return None


def _terminate(pid, timeout):
    """SIGTERM, then SIGKILL after `timeout` seconds; True once it is gone."""
    try:
        os.kill(pid, signal.SIGTERM)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    try:
        os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        return True
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline:
        if not _alive(pid):
            return True
        time.sleep(0.1)
    return False


class Libvirt:
    """virtlogd + libvirtd in a private mount namespace.

    Use as a context manager:

        with Libvirt() as lv:
            r = lv.virsh("domcapabilities", "--emulatorbin", vireo)

    start() raises RuntimeError with the daemons' log tail if they do not
    come up; stop() (also on leaving the `with`) destroys the domains still
    running, stops both daemons and kills, by pid, any process left in the
    namespace (an emulator libvirt could not stop).
    """

    def __init__(self, workdir=None, start_timeout=30):
        self.workdir = workdir or scratch_dir("vireo-libvirt-")
        self.start_timeout = start_timeout
        self.paths = {key: os.path.join(self.workdir, key) for key in PRIVATE_DIRS}
        self.libvirtd_pidfile = os.path.join(self.workdir, "libvirtd.pid")
        self.virtlogd_pidfile = os.path.join(self.workdir, "virtlogd.pid")
        self.log_path = os.path.join(self.workdir, "libvirtd.log")
        self.socket = os.path.join(self.paths["run"], "libvirt-sock")
        self.uri = f"qemu:///system?socket={self.socket}"
        self.libvirtd_pid = None
        self.virtlogd_pid = None
        self.namespace = None

    # -- life -------------------------------------------------------------

    def start(self):
        for path in self.paths.values():
            os.makedirs(path, exist_ok=True)
            # The emulator runs as libvirt-qemu and must cross these (mount
            # roots keep their own mode, whatever /tmp's parents say).
            os.chmod(path, 0o755)
        mounts = "".join(f"mount --bind {self.paths[key]} {target} && "
                         for key, target in PRIVATE_DIRS.items())
        script = (
            "set -e; mount --make-rprivate / && " + mounts +
            f"virtlogd -d -p {self.virtlogd_pidfile} && "
            f"exec env LIBVIRT_LOG_FILTERS='{LOG_FILTERS}' "
            f"LIBVIRT_LOG_OUTPUTS='1:file:{self.log_path}' "
            f"libvirtd -d -p {self.libvirtd_pidfile}"
        )
        # Their output goes to a file, not a pipe: a daemon that kept the
        # pipe open would keep us waiting for its end.
        startup_log = os.path.join(self.workdir, "startup.log")
        with open(startup_log, "wb") as out:
            try:
                status = subprocess.run(["unshare", "--mount", "sh", "-c", script],
                                        stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                                        timeout=self.start_timeout).returncode
            except subprocess.TimeoutExpired:
                status = None
        self.virtlogd_pid = _read_pid(self.virtlogd_pidfile)
        self.libvirtd_pid = _read_pid(self.libvirtd_pidfile)
        if status != 0:
            self.stop()
            with open(startup_log, errors="replace") as f:
                raise RuntimeError(f"the daemons did not start (status {status}): {f.read()}")
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            self.libvirtd_pid = self.libvirtd_pid or _read_pid(self.libvirtd_pidfile)
            if self.libvirtd_pid and os.path.exists(self.socket):
                probe = self.virsh("version", timeout=10)
                if probe.returncode == 0:
                    self.namespace = _mount_namespace(self.libvirtd_pid)
                    return self
            if self.libvirtd_pid and not _alive(self.libvirtd_pid):
                break
            time.sleep(0.2)
        detail = self.log_tail()
        self.stop()
        raise RuntimeError(f"libvirtd did not answer on {self.socket} within "
                           f"{self.start_timeout} s\n{detail}")

    def stop(self):
        """Destroys running domains, stops the daemons; idempotent."""
        if self.libvirtd_pid and _alive(self.libvirtd_pid):
            names = self.virsh("list", "--name", timeout=15)
            if names.returncode == 0:
                for name in names.stdout_text.split():
                    self.virsh("destroy", name, timeout=30)
        namespace = self.namespace or (self.libvirtd_pid and _mount_namespace(self.libvirtd_pid))
        for pid in (self.libvirtd_pid, self.virtlogd_pid):
            if pid:
                _terminate(pid, 15)
        # Whatever the daemons started and left (an emulator that ignored
        # SIGTERM, a stuck capability probe) shares their namespace.
        if namespace:
            for pid in self.namespace_pids(namespace):
                _terminate(pid, 5)
        self.libvirtd_pid = self.virtlogd_pid = None

    def emulator_pids(self, emulator, guest=None):
        """Live processes running `emulator`. With `guest`, those libvirt
        started for that domain (-name guest=GUEST,...), wherever they are:
        libvirt gives each domain's emulator a mount namespace of its own.
        Without, those in the daemons' namespace (capability probes)."""
        if guest is None:
            candidates = self.namespace_pids()
        else:
            candidates = [int(e) for e in os.listdir("/proc") if e.isdigit() and int(e) != os.getpid()]
        pids = []
        for pid in candidates:
            try:
                with open(f"/proc/{pid}/cmdline", "rb") as f:
                    argv = [a.decode(errors="replace") for a in f.read().split(b"\0")]
            except OSError:
                continue
            if argv[0] != emulator or not _alive(pid):
                continue
            if guest is None or any(a == f"guest={guest}" or a.startswith(f"guest={guest},") for a in argv):
                pids.append(pid)
        return pids

    def namespace_pids(self, namespace=None):
        """Processes in the daemons' mount namespace (the daemons included)."""
        namespace = namespace or self.namespace
        pids = []
        if not namespace:
            return pids
        for entry in os.listdir("/proc"):
            if entry.isdigit() and int(entry) != os.getpid():
                if _mount_namespace(entry) == namespace and _alive(int(entry)):
                    pids.append(int(entry))
        return pids

    def __enter__(self):
        return self.start()

    def __exit__(self, *exc):
        self.stop()
        return False

    # -- clients ----------------------------------------------------------

    def virsh(self, *args, timeout=60):
        """`virsh -c URI args...` with a timeout; a harness.Run."""
        return run(["virsh", "-c", self.uri] + list(args), timeout=timeout)

    def virsh_input(self, args, stdin_text, timeout=60):
        """virsh with `stdin_text` on its standard input."""
        argv = ["virsh", "-c", self.uri] + list(args)
        try:
            p = subprocess.run(argv, input=stdin_text.encode(), stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE, timeout=timeout)
            return Run(argv, p.returncode, p.stdout, p.stderr, False)
        except subprocess.TimeoutExpired as e:
            return Run(argv, None, e.stdout or b"", e.stderr or b"", True)

    def run_client(self, argv, timeout=120):
        """Another libvirt client (virt-install ...) pointed at this daemon:
        `{uri}` in argv is replaced by the URI."""
        return run([a.replace("{uri}", self.uri) for a in argv], timeout=timeout)

    # -- what libvirt recorded --------------------------------------------

    def clear_capability_cache(self):
        """Forgets every probed emulator (libvirt probes again on next use)."""
        for path in glob.glob(os.path.join(self.paths["cache"], "qemu", "capabilities", "*.xml")):
            os.unlink(path)

    def capability_cache(self, emulator):
        """The text of libvirt's cached capabilities of `emulator`, or None."""
        for path in glob.glob(os.path.join(self.paths["cache"], "qemu", "capabilities", "*.xml")):
            with open(path, errors="replace") as f:
                text = f.read()
            if f"<emulator>{emulator}</emulator>" in text:
                return text
        return None

    def domain_log(self, name):
        """The domain's log (the emulator's command line and its stderr)."""
        try:
            with open(os.path.join(self.paths["log"], "qemu", f"{name}.log"), errors="replace") as f:
                return f.read()
        except OSError:
            return ""

    def log_tail(self, lines=60, pattern=None):
        """The last lines of libvirtd's debug log, filtered by `pattern`."""
        try:
            with open(self.log_path, errors="replace") as f:
                text = f.read().split("\n")
        except OSError:
            return "(no libvirtd log)"
        if pattern:
            text = [l for l in text if pattern in l]
        # A probe's replies are lines of hundreds of kilobytes.
        return "\n".join(l if len(l) <= 400 else l[:400] + " ..." for l in text[-lines:])

    def qmp_log(self, emulator=None):
        """Every QMP message libvirt sent or received, in order, as
        ('>' | '<', text) pairs; with `emulator`, only those of its
        capability probes (libvirt also probes QEMU for virsh capabilities)."""
        out = []
        owner = {}  # monitor address -> the emulator probed through it
        probing = None
        try:
            with open(self.log_path, errors="replace") as f:
                for line in f:
                    if "qemuProcessQMPConnectMonitor" in line and "emulator=" in line:
                        probing = line.split("emulator=", 1)[1].split(",", 1)[0].strip()
                        continue
                    mon = re.search(r"mon=(0x[0-9a-f]+)", line)
                    if "QEMU_MONITOR_NEW" in line and mon:
                        owner[mon.group(1)] = probing
                        probing = None
                        continue
                    if emulator is not None and (not mon or owner.get(mon.group(1)) != emulator):
                        continue
                    if "QEMU_MONITOR_SEND_MSG" in line and " msg=" in line:
                        out.append((">", line.split(" msg=", 1)[1].strip()))
                    elif "QEMU_MONITOR_RECV_REPLY" in line and " reply=" in line:
                        out.append(("<", line.split(" reply=", 1)[1].strip()))
                    elif "QEMU_MONITOR_RECV_EVENT" in line and " event=" in line:
                        out.append(("<", line.split(" event=", 1)[1].strip()))
        except OSError:
            pass
        return out
