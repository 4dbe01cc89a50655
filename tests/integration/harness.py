"""Shared pieces of vireo's integration tests: running the real binary (and
QEMU, the reference) as a user would, and reporting like every other test
here.

Each test script counts checks with Results and ends with the plain line
"N passed, N failed" (", N skipped" when some were), then exits 0, 1, or 77
(meson's "skipped") when nothing could be checked at all. Standard library
only: these run on a bare Debian with python3.
"""

import http.server
import os
import shutil
import subprocess
import sys
import tempfile
import threading

QEMU = "qemu-system-x86_64"
SKIP = 77


class Results:
    def __init__(self):
        self.passed = 0
        self.failed = 0
        self.skipped = 0

    def check(self, ok, what, detail=""):
        """Counts one check; prints PASS/FAIL with `detail` on failure."""
        if ok:
            self.passed += 1
            print(f"PASS: {what}")
        else:
            self.failed += 1
            print(f"FAIL: {what}")
            if detail:
                for line in detail.rstrip("\n").split("\n"):
                    print(f"    {line}")
        return ok

    def skip(self, what, reason):
        self.skipped += 1
        print(f"SKIP: {what}: {reason}")

    def finish(self):
        line = f"{self.passed} passed, {self.failed} failed"
        if self.skipped:
            line += f", {self.skipped} skipped"
        print(line)
        if self.failed:
            sys.exit(1)
        sys.exit(0 if self.passed else SKIP)


class Run:
    """What one process did: exit status (or None on timeout) and output."""

    def __init__(self, argv, returncode, stdout, stderr, timed_out):
        self.argv = argv
        self.returncode = returncode
        self.stdout = stdout
        self.stderr = stderr
        self.timed_out = timed_out

    @property
    def stdout_text(self):
        return self.stdout.decode("utf-8", "replace")

    @property
    def stderr_lines(self):
        return [l for l in self.stderr.decode("utf-8", "replace").split("\n") if l]

    def describe(self):
        status = "killed after the timeout" if self.timed_out else f"exit {self.returncode}"
        return (f"command: {' '.join(self.argv)}\n{status}\n"
                f"stdout: {self.stdout_text!r}\nstderr: {self.stderr.decode('utf-8', 'replace')!r}")


def run(argv, timeout=30):
    """Runs argv with no standard input, as CI does, capturing its output."""
    try:
        p = subprocess.run(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, timeout=timeout)
        return Run(argv, p.returncode, p.stdout, p.stderr, False)
    except subprocess.TimeoutExpired as e:
        return Run(argv, None, e.stdout or b"", e.stderr or b"", True)


def kvm_unavailable_reason():
    """None if /dev/kvm can be opened read-write, else why not."""
    try:
        fd = os.open("/dev/kvm", os.O_RDWR | os.O_CLOEXEC)
    except OSError as e:
        return f"/dev/kvm cannot be opened ({os.strerror(e.errno)})"
    os.close(fd)
    return None


def qemu_path():
    return shutil.which(QEMU)


def assemble(source, output, defines=(), include_dir=None):
    """Assembles a ROM source with nasm into a flat binary; %include looks
    in `include_dir` (default: the source's own directory)."""
    argv = ["nasm", "-f", "bin", "-I", (include_dir or os.path.dirname(source)) + "/", "-o", output]
    argv += [f"-D{d}" for d in defines]
    argv.append(source)
    p = subprocess.run(argv, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    if p.returncode != 0:
        raise RuntimeError(f"nasm failed on {source}:\n{p.stdout.decode()}")


_keep = []  # TemporaryDirectory objects, cleaned up at exit


def scratch_dir(prefix):
    """A temporary directory removed when the interpreter exits."""
    d = tempfile.TemporaryDirectory(prefix=prefix)
    _keep.append(d)
    return d.name



class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def start_http_server(directory):
    """Serves `directory` on 127.0.0.1 (a free port: server.server_address)
    from a daemon thread; a guest on user networking reaches it as 10.0.2.2.
    server.shutdown() stops it."""
    handler = lambda *a, **k: _QuietHandler(*a, directory=directory, **k)
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def end_process(process, grace_s=10):
    """Ends a child still running, as a user would: SIGTERM, then SIGKILL
    if it has not gone after `grace_s` seconds. Returns nothing; the child
    is reaped either way."""
    if process.poll() is not None:
        return
    process.terminate()
    try:
        process.wait(timeout=grace_s)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
