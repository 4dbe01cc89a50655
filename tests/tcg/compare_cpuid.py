#!/usr/bin/env python3
"""Compares vireo's CPUID with QEMU's for -cpu qemu64.

Assembles tests/tcg/roms/cpuid_dump.asm, which prints one line per CPUID
leaf and subleaf ("LLLLLLLL.SS EAX EBX ECX EDX"), runs it with -accel tcg
-cpu qemu64 and -smp 1, 2, 4 on vireo and on qemu-system-x86_64, and
requires:
  - the feature words (leaf 1 ECX/EDX, leaf 7.0 EBX/ECX/EDX, 0x80000001
    ECX/EDX) of vireo to be a subset of QEMU's: vireo advertises only what
    its interpreter implements (accel/tcg/features.h);
  - the SVM leaf 0x8000000A to read zero when vireo does not offer SVM;
  - every other register to be equal.
It lists the feature bits QEMU advertises and vireo does not, by name.

Python 3 standard library only. Exits 0 when every configuration passes,
1 otherwise, 77 (meson's "skipped") without QEMU or nasm.
"""

import argparse
import os
import shutil
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROM_SOURCE = os.path.join(HERE, 'roms', 'cpuid_dump.asm')
FLAGS = ['-accel', 'tcg', '-cpu', 'qemu64', '-device', 'isa-debug-exit,iobase=0xf4,iosize=4',
         '-display', 'none', '-serial', 'stdio']

# Intel SDM vol. 2A CPUID tables; AMD APM vol. 3 appendix E.
LEAF1_EDX = ['fpu', 'vme', 'de', 'pse', 'tsc', 'msr', 'pae', 'mce', 'cx8', 'apic', '', 'sep', 'mtrr',
             'pge', 'mca', 'cmov', 'pat', 'pse36', 'psn', 'clflush', '', 'ds', 'acpi', 'mmx', 'fxsr',
             'sse', 'sse2', 'ss', 'htt', 'tm', 'ia64', 'pbe']
LEAF1_ECX = ['sse3', 'pclmulqdq', 'dtes64', 'monitor', 'ds-cpl', 'vmx', 'smx', 'est', 'tm2', 'ssse3',
             'cid', 'sdbg', 'fma', 'cx16', 'xtpr', 'pdcm', '', 'pcid', 'dca', 'sse4.1', 'sse4.2',
             'x2apic', 'movbe', 'popcnt', 'tsc-deadline', 'aes', 'xsave', 'osxsave', 'avx', 'f16c',
             'rdrand', 'hypervisor']
EXT1_EDX = ['fpu', 'vme', 'de', 'pse', 'tsc', 'msr', 'pae', 'mce', 'cx8', 'apic', '', 'syscall', 'mtrr',
            'pge', 'mca', 'cmov', 'pat', 'pse36', '', 'mp', 'nx', '', 'mmxext', 'mmx', 'fxsr',
            'fxsr-opt', 'pdpe1gb', 'rdtscp', '', 'lm', '3dnowext', '3dnow']
EXT1_ECX = ['lahf-lm', 'cmp-legacy', 'svm', 'extapic', 'cr8legacy', 'abm', 'sse4a', 'misalignsse',
            '3dnowprefetch', 'osvw', 'ibs', 'xop', 'skinit', 'wdt', '', 'lwp', 'fma4', 'tce', '',
            'nodeid-msr', '', 'tbm', 'topoext', 'perfctr-core', 'perfctr-nb', '', '', '', '', '',
            '', '']

# (leaf, subleaf) -> {register index: bit names or None}; 0 EAX .. 3 EDX.
FEATURE_WORDS = {
    (1, 0): {2: LEAF1_ECX, 3: LEAF1_EDX},
    (7, 0): {1: None, 2: None, 3: None},
    (0x80000001, 0): {2: EXT1_ECX, 3: EXT1_EDX},
}
REGISTERS = ['eax', 'ebx', 'ecx', 'edx']
SVM_BIT = 1 << 2


def parse(output):
    leaves = {}
    for line in output.splitlines():
        fields = line.split()
        if len(fields) != 5 or '.' not in fields[0]:
            continue
        leaf, subleaf = fields[0].split('.')
        leaves[(int(leaf, 16), int(subleaf, 16))] = [int(v, 16) for v in fields[1:]]
    return leaves


def bit_names(value, names):
    out = []
    for bit in range(32):
        if value & (1 << bit):
            name = names[bit] if names and names[bit] else 'bit%d' % bit
            out.append(name)
    return out


def compare(qemu, vireo):
    """(problems, features QEMU has and vireo lacks)."""
    problems = []
    missing = []
    if set(qemu) != set(vireo):
        problems.append('different leaf lists: qemu %d lines, vireo %d' % (len(qemu), len(vireo)))
    vireo_svm = vireo.get((0x80000001, 0), [0, 0, 0, 0])[2] & SVM_BIT
    for key in sorted(qemu):
        if key not in vireo:
            continue
        q, v = qemu[key], vireo[key]
        label = '%08x.%02x' % key
        if key == (0x8000000a, 0) and not vireo_svm:
            if v != [0, 0, 0, 0]:
                problems.append('%s: SVM is not offered but the SVM leaf is %s' % (label, v))
            continue
        features = FEATURE_WORDS.get(key, {})
        for r in range(4):
            if r in features:
                extra = v[r] & ~q[r]
                if extra:
                    problems.append('%s %s: vireo sets bits QEMU does not: %s'
                                    % (label, REGISTERS[r], ' '.join(bit_names(extra, features[r]))))
                lacking = q[r] & ~v[r]
                if lacking:
                    missing.append('%s %s: %s' % (label, REGISTERS[r],
                                                  ' '.join(bit_names(lacking, features[r]))))
            elif q[r] != v[r]:
                problems.append('%s %s: qemu %08x vireo %08x' % (label, REGISTERS[r], q[r], v[r]))
    return problems, missing


def run(binary, rom, smp, timeout):
    command = [binary, '-bios', rom, '-smp', str(smp)] + FLAGS
    result = subprocess.run(command, stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout,
                            check=False)
    return result.stdout.decode('utf-8', 'replace')


def main():
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument('--vireo', default=os.path.join(HERE, '..', '..', 'build', 'vireo'),
                        help='the vireo binary (default: build/vireo)')
    parser.add_argument('--qemu', default='qemu-system-x86_64', help='the reference emulator')
    parser.add_argument('--timeout', type=float, default=30, help='seconds per run')
    args = parser.parse_args()

    if shutil.which('nasm') is None or shutil.which(args.qemu) is None:
        print('SKIP: needs nasm and %s' % args.qemu)
        return 77
    if not os.access(args.vireo, os.X_OK):
        print('vireo binary not found at %s (use --vireo)' % args.vireo)
        return 1

    failed = 0
    with tempfile.TemporaryDirectory(prefix='vireo-cpuid-') as tmp:
        rom = os.path.join(tmp, 'cpuid_dump.bin')
        subprocess.run(['nasm', '-f', 'bin', '-o', rom, ROM_SOURCE], check=True)
        for smp in (1, 2, 4):
            qemu = parse(run(args.qemu, rom, smp, args.timeout))
            vireo = parse(run(args.vireo, rom, smp, args.timeout))
            if not qemu:
                problems, missing = ['QEMU printed no CPUID lines'], []
            else:
                problems, missing = compare(qemu, vireo)
            print('%s qemu64 -smp %d' % ('FAIL' if problems else 'PASS', smp))
            for p in problems:
                print('  ' + p)
            for m in missing:
                print('  not advertised by vireo: ' + m)
            failed += bool(problems)
    print('%d passed, %d failed' % (3 - failed, failed))
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
