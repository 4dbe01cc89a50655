"""The monitor's machine-describing commands through the real binary, side
by side with QEMU (the reference) on the same command line.

Checks:
  qtree      `info qtree` for a machine with a virtio-blk-pci drive (id,
             addr): the device, its virtio-bus and virtio-blk-device with
             the drive appear; every bus and device vireo lists is where
             QEMU lists it, with the same values for the properties both
             print (a virtio-net-pci NIC with its virtio-net-device too);
             without the drive the device is gone
  registers  tests/roms/long_mode_regs.asm brings the CPU to 64-bit mode
             with known registers and halts; `info registers` under vireo
             and QEMU (both -accel tcg) match line by line, apart from the
             differences named in REGISTER_DIFFERENCES; at RESET with
             -smp 2, `info registers -a` shows both vCPUs as QEMU does
  disasm     x/i over the ROM's 64-bit code and xp/i over SeaBIOS's
             real-mode entry at RESET print QEMU's lines word for word
             (AT&T operands, Capstone's wording)
  backing    a qcow2 overlay on a qcow2 base: query-block's
             inserted.backing_file, backing_file_depth and the image with
             its nested backing-image have QEMU's shape and values, and
             `info block` names the backing file as QEMU does

  monitor_info_test.py VIREO ROM_SOURCE_DIR [CHECK...]
"""

import json
import os
import re
import subprocess
import sys
import time

from harness import QEMU, Results, assemble, qemu_path, scratch_dir
from monitor_clients import QmpClient


class Machine:
    """vireo or QEMU started paused with a QMP socket; quit on exit."""

    def __init__(self, argv, directory, name):
        self.path = os.path.join(directory, name + ".sock")
        self.process = subprocess.Popen(argv + ["-qmp", f"unix:{self.path},server=on,wait=off"],
                                        stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                        stderr=subprocess.PIPE)
        self.qmp = None

    def __enter__(self):
        try:
            self.qmp = QmpClient(self.path, timeout_s=15)
            self.qmp.execute("qmp_capabilities")
        except OSError:
            self.process.kill()
            raise RuntimeError("no QMP socket: " + self.process.communicate()[1].decode(errors="replace"))
        return self.qmp

    def __exit__(self, *exc):
        try:
            self.qmp.execute("quit")
        except (OSError, EOFError):
            pass
        try:
            self.process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


# ---------------------------------------------------------------- qtree

def parse_qtree(text):
    """{path: {"props": {name: value}, "lines": [other lines]}} where a path
    is "bus/device#n/bus/..." and n numbers devices of one type on a bus in
    the order listed."""
    nodes = {}
    stack = []  # (indent, path)
    counts = {}
    for line in text.splitlines():
        if not line.strip():
            continue
        indent = len(line) - len(line.lstrip(" "))
        body = line.strip()
        while stack and stack[-1][0] >= indent:
            stack.pop()
        parent = stack[-1][1] if stack else ""
        if body.startswith("bus: "):
            path = parent + "/" + body[5:]
            nodes[path] = {"props": {}, "lines": []}
            stack.append((indent, path))
        elif body.startswith("dev: "):
            kind = body[5:].split(",")[0]
            key = (parent, kind)
            counts[key] = counts.get(key, 0) + 1
            path = f"{parent}/{kind}#{counts[key]}"
            nodes[path] = {"props": {}, "lines": [], "header": body}
            stack.append((indent, path))
        elif stack:
            node = nodes[stack[-1][1]]
            match = re.match(r"^([\w.-]+) = (.*)$", body)
            if match:
                node["props"][match.group(1)] = match.group(2)
            else:
                node["lines"].append(body)
    return nodes


# Devices vireo has that QEMU's pc has elsewhere or not at all.
VIREO_ONLY_DEVICES = {
    # QEMU's ACPI PM block is PIIX4_PM, a PCI function at 01.3; vireo's sits
    # at the same ports without a PCI function, so it is listed on isa.0.
    "vireo-acpi-pm",
}
# Properties both print whose values legitimately differ.
QTREE_DIFFERENCES = {
    # vireo's IOAPIC is the 82093AA (version 0x11, no EOI register); QEMU's
    # default is version 0x20.
    ("ioapic", "version"),
    # The HPET's timers may route to IOAPIC pins 20-23 in vireo (kept free
    # of ISA devices); QEMU's pc offers pin 2 only.
    ("hpet", "hpet-intcap"),
}


def qtree_of(argv, directory, name):
    with Machine(argv, directory, name) as qmp:
        return qmp.hmp("info qtree")


def check_qtree(results, vireo, rom_dir, qemu):
    directory = scratch_dir("vireo-qtree-")
    rom = os.path.join(directory, "long_mode_regs.rom")
    assemble(os.path.join(rom_dir, "long_mode_regs.asm"), rom)
    image = os.path.join(directory, "disk.img")
    with open(image, "wb") as f:
        f.truncate(8 << 20)
    # Both without a default device set, with the same ROM: nothing assigns
    # BARs before the first instruction, in either.
    common = ["-S", "-display", "none", "-nodefaults", "-accel", "tcg", "-m", "64", "-bios", rom,
              "-serial", "null", "-serial", "null", "-device", "isa-debug-exit,iobase=0xf4,iosize=4"]
    drive = ["-drive", f"file={image},format=raw,if=none,id=d0",
             "-device", "virtio-blk-pci,drive=d0,id=vd0,addr=5,serial=abc"]
    # A NIC on user networking: virtio-net-pci with its virtio-net-device.
    nic = ["-netdev", "user,id=n0", "-device", "virtio-net-pci,netdev=n0,id=net0,addr=6,mac=52:54:00:ab:cd:ef"]
    mine_text = qtree_of([vireo, *common, *drive, *nic], directory, "v")
    mine = parse_qtree(mine_text)
    blk = "/main-system-bus/i440FX-pcihost#1/pci.0/virtio-blk-pci#1"
    ok = blk in mine and mine[blk]["header"] == 'dev: virtio-blk-pci, id "vd0"'
    results.check(ok, "qtree: virtio-blk-pci with id vd0 on pci.0", mine_text)
    if ok:
        results.check(mine[blk]["props"].get("addr") == "05.0", "qtree: virtio-blk-pci addr = 05.0",
                      str(mine[blk]))
        backend = blk + "/virtio-bus/virtio-blk-device#1"
        results.check(backend in mine and mine[backend]["props"].get("drive") == '"d0"'
                      and mine[backend]["props"].get("serial") == '"abc"',
                      "qtree: its virtio-bus holds virtio-blk-device with drive d0", mine_text)
    net = "/main-system-bus/i440FX-pcihost#1/pci.0/virtio-net-pci#1"
    results.check(net in mine and mine[net]["header"] == 'dev: virtio-net-pci, id "net0"'
                  and mine.get(net + "/virtio-bus/virtio-net-device#1", {}).get("props", {}).get("mac")
                  == '"52:54:00:ab:cd:ef"',
                  "qtree: virtio-net-pci net0 with a virtio-net-device of its MAC", mine_text)
    isa = "/main-system-bus/i440FX-pcihost#1/pci.0/PIIX3#1/isa.0"
    results.check(f"{isa}/isa-serial#2" in mine and mine[f"{isa}/isa-serial#2"]["props"].get("iobase") == "1016 (0x3f8)",
                  "qtree: isa.0 lists both serial ports, newest first", mine_text)
    results.check(f"{isa}/isa-debug-exit#1" in mine and mine[f"{isa}/isa-debug-exit#1"]["props"].get("iobase") == "244 (0xf4)",
                  "qtree: the -device isa-debug-exit is on isa.0", mine_text)

    without = parse_qtree(qtree_of([vireo, *common], directory, "v2"))
    results.check(blk not in without and not any("virtio" in p for p in without),
                  "qtree: without the drive there is no virtio device", "\n".join(without))

    # -no-hpet: the machine is built without it (and without the ACPI HPET
    # table that would point the guest at it), as QEMU's is.
    hpet = "/main-system-bus/hpet#1"
    results.check(hpet in mine, "qtree: the pc machine has an HPET", "\n".join(mine))
    # (-rtc driftfix=slew rides along: the RTC's lost_tick_policy shows it.)
    slew = ["-rtc", "driftfix=slew"]
    no_hpet = parse_qtree(qtree_of([vireo, *common, "-no-hpet", *slew], directory, "v3"))
    results.check(hpet not in no_hpet and not any("hpet" in p for p in no_hpet),
                  "qtree: -no-hpet leaves the HPET out", "\n".join(no_hpet))

    if qemu is None:
        results.skip("qtree: compared with QEMU", f"{QEMU} is not installed")
        return
    theirs_no_hpet = parse_qtree(qtree_of([qemu, *common, "-no-hpet", *slew], directory, "q2"))
    rtc = "/main-system-bus/i440FX-pcihost#1/pci.0/PIIX3#1/isa.0/mc146818rtc#1"
    policies = [tree.get(rtc, {}).get("props", {}).get("lost_tick_policy") for tree in (no_hpet, theirs_no_hpet)]
    results.check(policies == ['"slew"', '"slew"'], "qtree: -rtc driftfix=slew: the RTC's lost_tick_policy is slew",
                  f"vireo, QEMU: {policies}")
    results.check(sorted(p for p in no_hpet if p.split("/")[-1].split("#")[0] not in VIREO_ONLY_DEVICES)
                  == sorted(p for p in theirs_no_hpet if p in no_hpet or "hpet" in p),
                  "qtree: with -no-hpet QEMU has no HPET either, and every device vireo lists",
                  "vireo:\n" + "\n".join(sorted(no_hpet)) + "\nQEMU:\n" + "\n".join(sorted(theirs_no_hpet)))
    # vireo's virtio-blk-pci is a virtio 1.x device only (PCI id 1af4:1042,
    # no legacy I/O BAR): QEMU's with disable-legacy=on is the same device.
    their_drive = drive[:-1] + [drive[-1] + ",disable-legacy=on"]
    their_nic = nic[:-1] + [nic[-1] + ",disable-legacy=on"]
    theirs_text = qtree_of([qemu, *common, *their_drive, *their_nic], directory, "q")
    theirs = parse_qtree(theirs_text)
    for path, node in mine.items():
        kind = path.rsplit("/", 1)[1].split("#")[0]
        if kind in VIREO_ONLY_DEVICES:
            continue
        if not results.check(path in theirs, f"qtree: {path} is where QEMU has it", theirs_text):
            continue
        reference = theirs[path]
        if "header" in node:
            results.check(node["header"] == reference["header"], f"qtree: {path} header",
                          f"vireo: {node['header']}\nQEMU:  {reference['header']}")
        for name, value in node["props"].items():
            if (kind, name) in QTREE_DIFFERENCES:
                continue
            results.check(reference["props"].get(name) == value, f"qtree: {path} {name} = {value}",
                          f"QEMU: {reference['props'].get(name)}")
        for line in node["lines"]:
            results.check(line in reference["lines"], f"qtree: {path}: {line}", "QEMU:\n" + "\n".join(reference["lines"]))


# ---------------------------------------------------------------- registers

# Lines of `info registers` at the ROM's halt that may differ, and why.
REGISTER_DIFFERENCES = {
    # After LTR, QEMU's TR cache keeps the descriptor as it was read (type 9,
    # available) while it marks the GDT entry busy; vireo's cache holds the
    # busy type (11), as the CPU's does (SDM vol. 3 §7.2.4: LTR marks the
    # TSS busy; VMX's guest TR type reads 11). Selector, base and limit are
    # still compared.
    "TR ": lambda mine, qemu: mine.split()[:3] == qemu.split()[:3],
}


def registers_of(argv, directory, name, run_s, command="info registers"):
    with Machine(argv, directory, name) as qmp:
        if run_s:
            qmp.execute("cont")
            time.sleep(run_s)
            qmp.execute("stop")
        return qmp.hmp(command)


def compare_register_dumps(results, what, mine, theirs, differences):
    mine_lines, their_lines = mine.splitlines(), theirs.splitlines()
    results.check(len(mine_lines) == len(their_lines), f"{what}: as many lines as QEMU's",
                  f"vireo:\n{mine}\nQEMU:\n{theirs}")
    for number, (m, q) in enumerate(zip(mine_lines, their_lines), 1):
        label = f"line {number} " + ((q.split("=")[0] + "=") if "=" in q else repr(q))
        special = next((check for prefix, check in differences.items() if q.startswith(prefix)), None)
        if special is not None:
            results.check(special(m, q), f"{what}: {label} (named difference)", f"vireo: {m}\nQEMU:  {q}")
        else:
            results.check(m == q, f"{what}: {label}", f"vireo: {m}\nQEMU:  {q}")


def check_registers(results, vireo, rom_dir, qemu):
    directory = scratch_dir("vireo-registers-")
    rom = os.path.join(directory, "long_mode_regs.rom")
    assemble(os.path.join(rom_dir, "long_mode_regs.asm"), rom)
    common = ["-S", "-display", "none", "-nodefaults", "-accel", "tcg", "-m", "64", "-bios", rom]
    mine = registers_of([vireo, *common], directory, "v", 1.0)
    results.check(re.search(r"^RIP=\S+ RFL=00000cd7 \[DOSZAPC\] CPL=0 II=0 A20=1 SMM=0 HLT=1$", mine, re.M) is not None,
                  "registers: vireo halted in 64-bit mode with the ROM's flags", mine)
    if qemu is None:
        results.skip("registers: compared with QEMU", f"{QEMU} is not installed")
        return
    theirs = registers_of([qemu, *common], directory, "q", 1.0)
    compare_register_dumps(results, "registers (long mode)", mine, theirs, REGISTER_DIFFERENCES)

    # At RESET, both vCPUs: the bootstrap processor at the reset vector, the
    # other waiting for its startup IPI (HLT=1). EDX holds each CPU model's
    # signature; both run the default qemu64 model.
    smp = [*common, "-smp", "2"]
    mine = registers_of([vireo, *smp], directory, "v2", 0, "info registers -a")
    theirs = registers_of([qemu, *smp], directory, "q2", 0, "info registers -a")
    compare_register_dumps(results, "registers -a (reset)", mine, theirs, {})


# ---------------------------------------------------------------- disasm

def disassembly_of(argv, directory, name, run_s, commands):
    with Machine(argv, directory, name) as qmp:
        if run_s:
            qmp.execute("cont")
            time.sleep(run_s)
            qmp.execute("stop")
        return [qmp.hmp(c) for c in commands]


def compare_disassembly(results, what, mine, theirs):
    mine_lines, their_lines = mine.splitlines(), theirs.splitlines()
    results.check(len(mine_lines) == len(their_lines), f"{what}: as many lines as QEMU's",
                  f"vireo:\n{mine}\nQEMU:\n{theirs}")
    differing = [(m, q) for m, q in zip(mine_lines, their_lines) if m != q]
    results.check(not differing, f"{what}: {len(their_lines)} lines word for word QEMU's",
                  "\n".join(f"vireo: {m}\nQEMU:  {q}" for m, q in differing[:20]))


def check_disasm(results, vireo, rom_dir, qemu):
    if qemu is None:
        results.skip("disasm", f"{QEMU} is not installed")
        return
    directory = scratch_dir("vireo-disasm-")
    rom = os.path.join(directory, "long_mode_regs.rom")
    assemble(os.path.join(rom_dir, "long_mode_regs.asm"), rom)
    # The ROM's 64-bit code, from its first instruction (mov ax, 0x10;
    # mov ds, ax) to the halt loop, read through the paging the ROM built.
    with open(rom, "rb") as f:
        image = f.read()
    start = 0xf0000 + image.index(bytes([0x66, 0xb8, 0x10, 0x00, 0x8e, 0xd8]))
    common = ["-S", "-display", "none", "-nodefaults", "-accel", "tcg", "-m", "64", "-bios", rom]
    command = [f"x/60i {start:#x}"]
    mine = disassembly_of([vireo, *common], directory, "v", 1.0, command)[0]
    theirs = disassembly_of([qemu, *common], directory, "q", 1.0, command)[0]
    compare_disassembly(results, "disasm: 64-bit ROM code", mine, theirs)
    # SeaBIOS's real-mode entry at RESET (16-bit code), physical addresses.
    bios = "/usr/share/seabios/bios-256k.bin"
    if not os.path.exists(bios):
        results.skip("disasm: SeaBIOS entry", f"{bios} is not installed")
        return
    common = ["-S", "-display", "none", "-nodefaults", "-accel", "tcg", "-m", "64", "-bios", bios]
    commands = ["xp/1i 0xffff0", "xp/300i 0xfe05b"]
    mine = disassembly_of([vireo, *common], directory, "v2", 0, commands)
    theirs = disassembly_of([qemu, *common], directory, "q2", 0, commands)
    compare_disassembly(results, "disasm: SeaBIOS reset vector", mine[0], theirs[0])
    compare_disassembly(results, "disasm: SeaBIOS real-mode entry", mine[1], theirs[1])


# ---------------------------------------------------------------- backing

def shape(value):
    if isinstance(value, dict):
        return {k: shape(v) for k, v in value.items()}
    if isinstance(value, list):
        return [shape(value[0])] if value else []
    return type(value).__name__


def block_of(argv, directory, name):
    with Machine(argv, directory, name) as qmp:
        return qmp.execute("query-block")["return"], qmp.hmp("info block")


def check_backing(results, vireo, rom_dir, qemu):
    del rom_dir
    if qemu is None or subprocess.run(["which", "qemu-img"], stdout=subprocess.DEVNULL).returncode != 0:
        results.skip("backing", "qemu-system-x86_64 or qemu-img is not installed")
        return
    directory = scratch_dir("vireo-backing-")
    base = os.path.join(directory, "base.qcow2")
    middle = os.path.join(directory, "middle.qcow2")
    top = os.path.join(directory, "top.qcow2")
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", base, "16M"], check=True)
    # A relative name in the middle image, an absolute one in the top.
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", "base.qcow2", "-F", "qcow2", middle],
                   check=True, cwd=directory)
    subprocess.run(["qemu-img", "create", "-q", "-f", "qcow2", "-b", middle, "-F", "qcow2", top], check=True)
    common = ["-S", "-display", "none", "-nodefaults", "-accel", "tcg", "-m", "64",
              "-drive", f"file={top},if=virtio"]
    mine, mine_hmp = block_of([vireo, *common], directory, "v")
    theirs, their_hmp = block_of([qemu, *common], directory, "q")
    ok = len(mine) == 1 and len(theirs) == 1
    if not results.check(ok, "backing: one drive in both", f"vireo: {mine}\nQEMU: {theirs}"):
        return
    m, q = mine[0]["inserted"], theirs[0]["inserted"]
    results.check(shape(m) == shape(q), "backing: query-block inserted has QEMU's shape",
                  f"vireo: {json.dumps(shape(m))}\nQEMU:  {json.dumps(shape(q))}")
    for key in ("backing_file", "backing_file_depth", "file", "drv"):
        results.check(m.get(key) == q.get(key), f"backing: inserted.{key} = {m.get(key)}", f"QEMU: {q.get(key)}")
    level = 0
    mi, qi = m.get("image"), q.get("image")
    while qi is not None:
        if not results.check(mi is not None, f"backing: image level {level} present"):
            break
        for key in ("filename", "format", "virtual-size", "cluster-size", "backing-filename",
                    "full-backing-filename", "backing-filename-format", "format-specific", "dirty-flag"):
            results.check(mi.get(key) == qi.get(key), f"backing: image level {level} {key}",
                          f"vireo: {mi.get(key)}\nQEMU:  {qi.get(key)}")
        mi, qi = mi.get("backing-image"), qi.get("backing-image")
        level += 1
    results.check(mi is None, "backing: no deeper chain than QEMU's")
    # The node names are generated; the rest of `info block` is compared.
    strip = lambda text: re.sub(r"\(#block\d+\)", "(#block)", text)
    results.check(strip(mine_hmp) == strip(their_hmp), "backing: info block names the backing file as QEMU",
                  f"vireo:\n{mine_hmp}\nQEMU:\n{their_hmp}")


CHECKS = {"qtree": check_qtree, "registers": check_registers, "disasm": check_disasm, "backing": check_backing}


def main():
    vireo, rom_dir = sys.argv[1], sys.argv[2]
    wanted = sys.argv[3:] or list(CHECKS)
    results = Results()
    qemu = qemu_path()
    for name in wanted:
        CHECKS[name](results, vireo, rom_dir, qemu)
    results.finish()


if __name__ == "__main__":
    main()
