#!/bin/bash
# kit_qemu_test.sh — check the test guest from scripts/guest-kit against the
# reference emulator, Debian's QEMU (TCG, no KVM), so that when a vireo run
# of the same guest fails we know the fault is vireo's and not the kit's.
#
# Builds the kit into ${VIREO_KIT:-build/guest-kit} (a no-op when it is up
# to date), then boots it with vireo.test=boot, cpu (twice: the checksum
# must not change), cpus (-smp 2) and blk (a virtio disk). Ends with the line
# "N passed, N failed"; exits 1 on any failure, 77 (meson's "skipped") when
# qemu-system-x86_64 is not installed.
set -euo pipefail

QEMU=${QEMU:-qemu-system-x86_64}
TIMEOUT=${VIREO_KIT_TIMEOUT:-240}   # seconds per boot; TCG boots take ~5 s here

if ! command -v "$QEMU" >/dev/null 2>&1; then
    echo "SKIP: $QEMU not found (Debian package qemu-system-x86)"
    exit 77
fi

cd "$(dirname "$(readlink -f "${BASH_SOURCE[0]}")")/../.."   # the repo root
KIT=${VIREO_KIT:-build/guest-kit}
LOGS=$(mktemp -d "${TMPDIR:-/tmp}/kit_qemu_test.XXXXXX")
trap 'rm -rf "$LOGS"' EXIT

passed=0
failed=0
pass() { echo "PASS: $*"; passed=$((passed + 1)); }
fail() { echo "FAIL: $*"; failed=$((failed + 1)); }
finish() {
    echo "$passed passed, $failed failed"
    if (( failed == 0 )); then exit 0; else exit 1; fi
}

if scripts/guest-kit "$KIT"; then
    pass "guest-kit built $KIT"
else
    fail "scripts/guest-kit $KIT"
    finish
fi

# boot NAME TEST [QEMU ARGS...]: run the guest with vireo.test=TEST; the
# console goes to $LOGS/NAME.log (CRs removed), QEMU's status to $rc.
boot() {
    local name=$1 test=$2
    shift 2
    local start=$SECONDS
    rc=0
    timeout "$TIMEOUT" "$QEMU" -accel tcg -m 512 -nographic -no-reboot \
        -kernel "$KIT/vmlinuz" -initrd "$KIT/initrd.gz" \
        -append "console=ttyS0 vireo.test=$test" "$@" \
        </dev/null >"$LOGS/$name.raw" 2>&1 || rc=$?
    tr -d '\r' <"$LOGS/$name.raw" >"$LOGS/$name.log"
    echo "  $name: qemu exit $rc after $((SECONDS - start)) s; $(grep -a -o 'VIREO-RESULT.*' "$LOGS/$name.log" || echo 'no result line')"
}

# check NAME DESCRIPTION PATTERN...: QEMU exited 0 (the guest powered off,
# no timeout) and the console shows every pattern (extended regexps).
check() {
    local name=$1 what=$2 p problem=
    shift 2
    if (( rc == 124 )); then
        problem="qemu was killed after $TIMEOUT s"
    elif (( rc != 0 )); then
        problem="qemu exited $rc"
    else
        for p in "$@"; do
            grep -a -Eq "$p" "$LOGS/$name.log" || { problem="no line matching '$p'"; break; }
        done
    fi
    if [[ -z $problem ]]; then
        pass "$what"
        return 0
    fi
    fail "$what: $problem"
    echo "---- last lines of the $name console ----"
    tail -n 25 "$LOGS/$name.log"
    echo "----"
    return 1
}

boot boot boot
check boot "vireo.test=boot" '^VIREO-BOOT uptime=[0-9]+\.[0-9]+$' 'VIREO-RESULT boot ok$' || :

# The cpu workload is deterministic: two runs must print the same checksum.
sums=()
for i in 1 2; do
    boot "cpu$i" cpu
    if check "cpu$i" "vireo.test=cpu run $i" 'VIREO-RESULT cpu checksum=[0-9a-f]{32} seconds=[0-9]+\.[0-9]{2}$'; then
        sums+=("$(grep -a -Eo 'checksum=[0-9a-f]{32}' "$LOGS/cpu$i.log")")
    fi
done
if (( ${#sums[@]} == 2 )); then
    if [[ ${sums[0]} == "${sums[1]}" ]]; then
        pass "cpu checksum is stable (${sums[0]})"
    else
        fail "cpu checksums differ: ${sums[0]} vs ${sums[1]}"
    fi
fi

boot cpus cpus -smp 2
check cpus "vireo.test=cpus with -smp 2" 'VIREO-RESULT cpus online=2$' || :

# blk: the guest must hash what the host wrote and write its sector where
# told. The disk is 32 MiB of 1 KiB numbered lines; the hash is of the first 16.
disk=$LOGS/disk.img
awk 'BEGIN { for (i = 0; i < 32768; i++) printf "vireo test disk block %08d %-992s\n", i, "" }' >"$disk"
want=$(head -c 16M "$disk" | md5sum | cut -d' ' -f1)
boot blk blk -drive "file=$disk,if=virtio,format=raw"
if check blk "vireo.test=blk" "VIREO-RESULT blk md5=$want wrote=2048\$"; then
    sector=$(dd if="$disk" bs=512 skip=2048 count=1 2>/dev/null | tr -d '\0')
    if [[ $sector == VIREO-WROTE-SECTOR ]]; then
        pass "blk: the guest's sector is on the host's disk image at 1 MiB"
    else
        fail "blk: sector 2048 of the image holds '${sector:0:40}', not VIREO-WROTE-SECTOR"
    fi
fi

finish
