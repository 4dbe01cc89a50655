"""Clients the integration tests drive vireo (and QEMU) with: a QMP client
and a guest console on a pty. One copy, shared by the monitor, libvirt and
block tests."""
import json
import os
import re
import select
import socket
import termios
import time
import tty


class QmpClient:
    """A QMP client: one JSON message per line; events are kept aside.

    Connects to a unix socket path (retrying until the emulator listens), or
    takes an already connected socket (one the test accepted). With
    `id_prefix`, every command carries an id as libvirt's do ("libvirt-1")."""

    def __init__(self, path=None, timeout_s=10, sock=None, id_prefix=None, line_end=b"\n"):
        if sock is None:
            deadline = time.monotonic() + timeout_s
            while True:
                try:
                    sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
                    sock.connect(path)
                    break
                except OSError:
                    sock.close()
                    if time.monotonic() > deadline:
                        raise
                    time.sleep(0.05)
        self.sock = sock
        self.sock.settimeout(30)
        self.buffer = b""
        self.events = []
        self.id_prefix = id_prefix
        self.line_end = line_end
        self.next_id = 1
        self.greeting = self.read()

    def read(self):
        while b"\n" not in self.buffer:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise EOFError("the monitor closed the connection")
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def send_raw(self, data):
        self.sock.sendall(data)

    def reply(self):
        """The next reply, setting events aside."""
        while True:
            message = self.read()
            if "event" in message:
                self.events.append(message)
            else:
                return message

    def execute(self, command, arguments=None, **extra):
        request = {"execute": command, **extra}
        if self.id_prefix is not None and "id" not in request:
            request["id"] = f"{self.id_prefix}{self.next_id}"
            self.next_id += 1
        if arguments is not None:
            request["arguments"] = arguments
        self.send_raw(json.dumps(request).encode() + self.line_end)
        return self.reply()

    def hmp(self, command_line):
        """human-monitor-command's text, with QEMU's CRLFs made plain newlines."""
        reply = self.execute("human-monitor-command", {"command-line": command_line})
        return reply.get("return", "").replace("\r\n", "\n")

    def wait_event(self, name, timeout_s=10):
        deadline = time.monotonic() + timeout_s
        while True:
            for e in self.events:
                if e["event"] == name:
                    self.events.remove(e)
                    return e
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            self.sock.settimeout(remaining)
            try:
                self.events.append(self.read())
            except (socket.timeout, EOFError):
                return None
            finally:
                self.sock.settimeout(30)

    def close(self):
        self.sock.close()


class StreamConsole:
    """A guest's serial console read from one descriptor and typed into
    another; `text` is everything read so far, carriage returns dropped."""

    def __init__(self, read_fd, write_fd):
        self.read_fd = read_fd
        self.write_fd = write_fd
        self.text = ""

    def wait_for(self, pattern, timeout_s, start=0):
        """The first match of `pattern` in text[start:], reading until it
        comes; None after `timeout_s` or when the console closes."""
        deadline = time.monotonic() + timeout_s
        while True:
            match = re.search(pattern, self.text[start:], re.M)
            if match:
                return match
            remaining = deadline - time.monotonic()
            if remaining <= 0:
                return None
            ready, _, _ = select.select([self.read_fd], [], [], min(remaining, 1.0))
            if ready:
                try:
                    chunk = os.read(self.read_fd, 65536)
                except OSError:
                    return None
                if not chunk:
                    return None
                self.text += chunk.decode("utf-8", "replace").replace("\r", "")

    def type(self, text):
        os.write(self.write_fd, text.encode())

    def wait_for_shell(self, banner, timeout_s):
        """Whether the guest's shell is there: its banner, or an answer to a
        typed command. A pty drops the guest's output while no one holds its
        slave (as QEMU's does), so a console opened late misses the banner."""
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            if self.wait_for(banner, 5):
                return True
            start = len(self.text)
            self.type("echo SHELL-$((20+22))\n")
            if self.wait_for(r"^SHELL-42$", 5, start):
                return True
        return False

    def command(self, text, pattern, timeout_s=30):
        """Types a line and waits for `pattern` in what follows it."""
        start = len(self.text)
        self.type(text + "\n")
        return self.wait_for(pattern, timeout_s, start)


class PipeConsole(StreamConsole):
    """The console of a child started with -serial stdio and pipes."""

    def __init__(self, process):
        super().__init__(process.stdout.fileno(), process.stdin.fileno())


class PtyConsole(StreamConsole):
    """A guest console on a pty's slave, opened as `virsh console` opens it."""

    def __init__(self, path):
        self.fd = os.open(path, os.O_RDWR | os.O_NOCTTY)
        tty.setraw(self.fd, termios.TCSANOW)
        super().__init__(self.fd, self.fd)

    def close(self):
        os.close(self.fd)
