#!/usr/bin/env python3
"""Runs the system-architecture ROM tests on vireo and on QEMU and compares.

Each tests/tcg/roms/*.asm file with one or more lines
    ; rom-test: [extra emulator flags]
is assembled with nasm into a 64 KiB -bios image and run once per such line
on both emulators with
    -accel tcg -bios ROM -device isa-debug-exit,iobase=0xf4,iosize=4
    -display none -serial stdio [extra flags]
A run passes when vireo's serial output and exit status equal QEMU's and
the recorded expectation in tests/tcg/roms/expected/<name>.<n>.txt (QEMU's
output, reviewed when it was recorded: --record rewrites them). Without
qemu-system-x86_64 the QEMU comparison is skipped with a message and only the
expectation is checked.

Python 3 standard library only. Prints one line per run and
"N passed, N failed"; exits 1 if any run failed, 77 (skipped, for meson)
without nasm.
"""

import argparse
import concurrent.futures
import difflib
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROM_DIR = os.path.join(HERE, 'roms')
EXPECTED_DIR = os.path.join(ROM_DIR, 'expected')
MARKER = re.compile(r'^;\s*rom-test:(.*)$')
BASE_FLAGS = ['-accel', 'tcg', '-device', 'isa-debug-exit,iobase=0xf4,iosize=4',
              '-display', 'none', '-serial', 'stdio']


def find_tests(names):
    """(name, source path, [flag lists]) for every marked ROM source."""
    tests = []
    for entry in sorted(os.listdir(ROM_DIR)):
        if not entry.endswith('.asm'):
            continue
        name = entry[:-4]
        if names and name not in names:
            continue
        path = os.path.join(ROM_DIR, entry)
        runs = []
        with open(path, encoding='utf-8') as f:
            for line in f:
                m = MARKER.match(line.strip())
                if m:
                    runs.append(shlex.split(m.group(1)))
        if runs:
            tests.append((name, path, runs))
    return tests


def assemble(source, output):
    result = subprocess.run(
        ['nasm', '-f', 'bin', '-w-number-overflow', '-I', ROM_DIR + os.sep, '-o', output, source],
        capture_output=True, text=True, check=False)
    if result.returncode != 0:
        return result.stderr.strip() or 'nasm failed'
    return None


class Outcome:
    def __init__(self, output, status, error=None):
        self.output = output
        self.status = status
        self.error = error

    def text(self):
        """The form expectations are stored in."""
        return 'exit %s\n%s' % (self.status, self.output)


def run_emulator(binary, rom, flags, timeout):
    command = [binary, '-bios', rom] + BASE_FLAGS + flags
    try:
        result = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True,
                                timeout=timeout, check=False)
    except subprocess.TimeoutExpired as e:
        partial = (e.stdout or b'').decode('utf-8', 'replace')
        return Outcome(partial, 'timeout', 'timed out after %ss' % timeout)
    except OSError as e:
        return Outcome('', 'error', str(e))
    return Outcome(result.stdout.decode('utf-8', 'replace'), result.returncode)


def check_run(args, qemu, name, rom, index, flags):
    """Returns (passed, report lines)."""
    label = '%s.%d' % (name, index)
    expected_path = os.path.join(EXPECTED_DIR, label + '.txt')
    lines = []
    vireo = run_emulator(args.vireo, rom, flags, args.timeout)
    reference = run_emulator(qemu, rom, flags, args.timeout) if qemu else None
    if args.record:
        if reference is None or reference.error:
            return False, ['FAIL %s: --record needs a working QEMU' % label]
        os.makedirs(EXPECTED_DIR, exist_ok=True)
        with open(expected_path, 'w', encoding='utf-8') as f:
            f.write(reference.text())
        lines.append('recorded %s' % expected_path)
    ok = vireo.error is None
    if vireo.error:
        lines.append('  vireo: %s' % vireo.error)
    if reference is not None:
        if reference.error:
            ok = False
            lines.append('  qemu: %s' % reference.error)
        elif reference.text() != vireo.text():
            ok = False
            lines.append('  vireo and QEMU differ:')
            show = []
            show_diff_lines(show, 'qemu', reference.text(), 'vireo', vireo.text())
            lines += show
    if os.path.exists(expected_path):
        with open(expected_path, encoding='utf-8') as f:
            expected = f.read()
        if expected != vireo.text():
            ok = False
            lines.append('  vireo differs from %s:' % os.path.relpath(expected_path))
            show = []
            show_diff_lines(show, 'expected', expected, 'vireo', vireo.text())
            lines += show
    else:
        lines.append('  (no recorded expectation %s)' % os.path.relpath(expected_path))
    flag_text = (' ' + ' '.join(flags)) if flags else ''
    head = '%s %s%s' % ('PASS' if ok else 'FAIL', label, flag_text)
    return ok, [head] + lines


def show_diff_lines(out, label_a, a, label_b, b):
    for line in difflib.unified_diff(a.splitlines(), b.splitlines(), label_a, label_b, lineterm=''):
        out.append('    ' + line)


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--vireo', default=os.path.join(HERE, '..', '..', 'build', 'vireo'),
                        help='the vireo binary (default: build/vireo)')
    parser.add_argument('--qemu', default='qemu-system-x86_64', help='the reference emulator')
    parser.add_argument('--timeout', type=float, default=30, help='seconds per run')
    parser.add_argument('--jobs', type=int, default=2, help='runs in parallel')
    parser.add_argument('--record', action='store_true',
                        help="write QEMU's results as the expectations (review the diff!)")
    parser.add_argument('names', nargs='*', help='only these ROMs (file names without .asm)')
    args = parser.parse_args()

    if shutil.which('nasm') is None:
        print('skipped: nasm not found (Debian package nasm)')
        return 77
    if not os.access(args.vireo, os.X_OK):
        print('vireo binary not found at %s (use --vireo)' % args.vireo)
        return 1
    qemu = shutil.which(args.qemu)
    if qemu is None:
        print('%s not found: skipping the QEMU comparison, checking recorded expectations only'
              % args.qemu)

    tests = find_tests(set(args.names))
    passed = failed = 0
    with tempfile.TemporaryDirectory(prefix='vireo-roms-') as tmp:
        jobs = []
        for name, source, runs in tests:
            rom = os.path.join(tmp, name + '.bin')
            error = assemble(source, rom)
            if error:
                print('FAIL %s: does not assemble\n    %s' % (name, error.replace('\n', '\n    ')))
                failed += len(runs)
                continue
            for index, flags in enumerate(runs):
                jobs.append((name, rom, index, flags))
        with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, args.jobs)) as pool:
            futures = [pool.submit(check_run, args, qemu, *job) for job in jobs]
            for future in futures:
                ok, report = future.result()
                print('\n'.join(report))
                if ok:
                    passed += 1
                else:
                    failed += 1
    print('%d passed, %d failed' % (passed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
