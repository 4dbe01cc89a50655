#!/usr/bin/env python3
"""The software interrupt controllers and timers through the real binary:
real-mode -bios ROMs (tests/hw/roms) run under vireo -accel tcg and under
qemu-system-x86_64 -accel tcg, the reference.

  pc_timers   APIC virtual wire, PIC, PIT and RTC interrupts (pc_timers.asm):
              the fixed lines must be identical on both, the counts (timed
              by the RTC) within a tolerance of what the hardware gives
  cmos        the 128 CMOS bytes (cmos_dump.asm): identical on both but for
              the clock and the flags; the clock within seconds of the host's
              UTC time
  rtc_slew    RTC periodic interrupts counted by a guest that keeps
              interrupts off half the time (rtc_slew.asm, PIC and APIC
              mode): they merge by default, and -rtc driftfix=slew makes up
              for every merged one

  pc_timers_test.py VIREO REPO_ROOT

The QEMU half is skipped when QEMU is not installed; without nasm the test
is skipped (exit 77).
"""

import datetime
import os
import re
import shutil
import sys
import time

from harness import Results, SKIP, assemble, qemu_path, run, scratch_dir

COMMON = ["-nodefaults", "-display", "none", "-serial", "stdio",
          "-device", "isa-debug-exit,iobase=0xf4,iosize=4"]
EXIT_STATUS = 1  # debug_exit 0

# pc_timers.asm: lines that must read exactly so on both emulators.
FIXED_LINES = {
    "apic base": "fee00900",        # enabled, BSP, at 0xfee00000
    "apic version": "00050014",
    "apic lint0": "00008700",       # ExtINT, level, unmasked
    "pic imr": "fa fe",
    "pit ch0 status": "34",         # word access, mode 2, binary, count loaded
    "done": None,
}
# Counts with what the hardware gives and how far a loaded host may pull
# them: interrupts that come while the previous one is unserviced merge.
COUNTS = {
    "pit irqs in 2 s": (200, 180, 202),               # 100 Hz for two RTC seconds
    "rtc periodic irqs in 2 s": (128, 124, 128),      # 64 Hz, phase-locked to the updates
    # 100 Hz ticks in 50 ms; the guest polls port 0x61 meanwhile, which on
    # a busy host delays the timer thread of either emulator the most.
    "pit irqs while ch2 counts 50 ms": (5, 2, 7),
}

# CMOS bytes that depend on the moment: the clock registers, UIP (bit 7 of
# register A) and register C's flags (vireo sets PF without PIE, as the
# MC146818 datasheet says; QEMU only while PIE is on).
CLOCK_INDEXES = set(range(0x00, 0x0a)) | {0x0c}


def parse_lines(text):
    """'name: value' lines (and a bare 'done') in order."""
    out = []
    for line in text.replace("\r", "").split("\n"):
        if not line:
            continue
        name, _, value = line.partition(": ")
        out.append((name, value if _ else None))
    return out


def check_pc_timers(results, who, r):
    what = f"{who}: pc_timers ROM"
    detail = r.describe()
    if not results.check(not r.timed_out and r.returncode == EXIT_STATUS, f"{what} runs to its exit", detail):
        return None
    lines = parse_lines(r.stdout_text)
    names = [n for n, _ in lines]
    expected_names = ["apic base", "apic version", "apic lint0", "pic imr", "pit ch0 status",
                      "pit irqs in 2 s", "rtc periodic irqs in 2 s", "pit irqs while ch2 counts 50 ms", "done"]
    if not results.check(names == expected_names, f"{what} prints every line in order", detail):
        return None
    values = dict(lines)
    for name, value in FIXED_LINES.items():
        results.check(values[name] == value, f"{what}: {name}: {value}", f"got {values[name]!r}\n{detail}")
    for name, (ideal, low, high) in COUNTS.items():
        got = int(values[name]) if values[name] and values[name].isdigit() else -1
        results.check(low <= got <= high, f"{what}: {name}: {got} (hardware: {ideal}, accepted {low}-{high})",
                      detail)
    return values


# rtc_slew.asm's count of 64 Hz interrupts over two RTC seconds: merged
# ones are lost by default (QEMU's lost_tick_policy=discard) and made up for
# with driftfix=slew. Owed ticks from before the first update may be counted
# after it, so slew may give a few more than 128.
SLEW_COUNTS = {False: (70, 100), True: (124, 132)}


def check_rtc_slew(results, who, mode, slew, r):
    what = f"{who}: rtc_slew ROM ({mode} mode{', driftfix=slew' if slew else ''})"
    lines = dict(parse_lines(r.stdout_text))
    value = lines.get("rtc periodic irqs in 2 s") or ""
    if not results.check(not r.timed_out and r.returncode == EXIT_STATUS and value.isdigit() and "done" in lines,
                         f"{what} runs to its exit", r.describe()):
        return
    low, high = SLEW_COUNTS[slew]
    results.check(low <= int(value) <= high,
                  f"{what}: {value} periodic interrupts in 2 s (hardware: 128; accepted {low}-{high})", r.describe())


def cmos_bytes(text):
    values = [int(b, 16) for b in re.findall(r"\b[0-9a-f]{2}\b", text)]
    return values if len(values) == 128 else None


def bcd(v):
    return (v >> 4) * 10 + (v & 0xf)


def check_cmos(results, who, r, started_utc):
    what = f"{who}: CMOS dump"
    ok = results.check(not r.timed_out and r.returncode == EXIT_STATUS and cmos_bytes(r.stdout_text) is not None,
                       f"{what} runs to its exit with 128 bytes", r.describe())
    if not ok:
        return None
    cmos = cmos_bytes(r.stdout_text)
    # BCD, 24-hour (register B 0x02) as both start; the time of day within
    # a few seconds of the host's UTC clock when the run started.
    results.check(cmos[0x0b] == 0x02 and cmos[0x0d] == 0x80, f"{what}: registers B and D as after power-on",
                  f"B={cmos[0x0b]:02x} D={cmos[0x0d]:02x}")
    rtc = (bcd(cmos[4]) * 3600 + bcd(cmos[2]) * 60 + bcd(cmos[0]))
    host = started_utc.hour * 3600 + started_utc.minute * 60 + started_utc.second
    skew = (rtc - host) % 86400
    skew = min(skew, 86400 - skew)
    results.check(skew <= 10, f"{what}: the RTC shows the host's UTC time ({skew} s apart)",
                  f"rtc {cmos[4]:02x}:{cmos[2]:02x}:{cmos[0]:02x}, host {started_utc:%H:%M:%S}")
    date = (bcd(cmos[0x32]) * 100 + bcd(cmos[9]), bcd(cmos[8]), bcd(cmos[7]))
    host_dates = {(d.year, d.month, d.day) for d in (started_utc, started_utc + datetime.timedelta(seconds=15))}
    results.check(date in host_dates, f"{what}: the RTC shows the host's UTC date", f"rtc {date}, host {host_dates}")
    return cmos


def main():
    vireo, root = sys.argv[1], sys.argv[2]
    results = Results()
    if shutil.which("nasm") is None:
        print("SKIP: nasm is not installed (Debian package nasm)")
        sys.exit(SKIP)
    work = scratch_dir("vireo-pc-timers-")
    roms = os.path.join(root, "tests", "hw", "roms")
    include = os.path.join(root, "tests", "roms")
    timers_rom = os.path.join(work, "pc_timers.rom")
    cmos_rom = os.path.join(work, "cmos_dump.rom")
    assemble(os.path.join(roms, "pc_timers.asm"), timers_rom, include_dir=include)
    assemble(os.path.join(roms, "cmos_dump.asm"), cmos_rom, include_dir=include)
    slew_roms = {"PIC": os.path.join(work, "rtc_slew_pic.rom"), "APIC": os.path.join(work, "rtc_slew_apic.rom")}
    assemble(os.path.join(roms, "rtc_slew.asm"), slew_roms["PIC"], include_dir=include)
    assemble(os.path.join(roms, "rtc_slew.asm"), slew_roms["APIC"], ["APIC_MODE"], include_dir=include)

    qemu = qemu_path()
    emulators = {"vireo -accel tcg": [vireo, "-accel", "tcg"]}
    if qemu is None:
        results.skip("the QEMU half", "qemu-system-x86_64 is not installed (Debian package qemu-system-x86)")
    else:
        emulators["qemu -accel tcg"] = [qemu, "-accel", "tcg"]

    timer_values = {}
    for who, argv in emulators.items():
        r = run(argv + ["-bios", timers_rom] + COMMON, timeout=60)
        timer_values[who] = check_pc_timers(results, who, r)

    dumps = {}
    for who, argv in emulators.items():
        started = datetime.datetime.now(datetime.timezone.utc)
        r = run(argv + ["-m", "128M", "-smp", "2", "-bios", cmos_rom] + COMMON, timeout=60)
        dumps[who] = check_cmos(results, who, r, started)

    for who, argv in emulators.items():
        for mode, rom in slew_roms.items():
            for slew in (False, True):
                if who.startswith("qemu") and mode == "PIC" and slew:
                    # QEMU 7.2 decides a tick was lost by asking the local
                    # APIC whether it took the vector; an ExtINT from the
                    # 8259 never answers yes, so every tick counts as lost
                    # and the guest is flooded (about 2200 in 2 s).
                    continue
                extra = ["-rtc", "driftfix=slew"] if slew else []
                r = run(argv + ["-bios", rom] + COMMON + extra, timeout=60)
                check_rtc_slew(results, who, mode, slew, r)

    if len(emulators) == 2:
        v, q = (timer_values[w] for w in emulators)
        if v and q:
            same = all(v[name] == q[name] for name in FIXED_LINES)
            results.check(same, "vireo and QEMU print the same fixed lines",
                          "\n".join(f"{n}: vireo {v[n]!r}, qemu {q[n]!r}" for n in FIXED_LINES))
        v, q = (dumps[w] for w in emulators)
        if v and q:
            differ = [i for i in range(128)
                      if i not in CLOCK_INDEXES and (v[i] if i != 0x0a else v[i] & 0x7f) != (q[i] if i != 0x0a else q[i] & 0x7f)]
            results.check(not differ, "vireo and QEMU have the same CMOS bytes but the clock",
                          "\n".join(f"[{i:02x}] vireo {v[i]:02x} qemu {q[i]:02x}" for i in differ))
    results.finish()


if __name__ == "__main__":
    main()
