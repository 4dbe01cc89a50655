#!/usr/bin/env python3
"""vireo-img and Debian's qemu-img on each other's qcow2 images.

Both ways, through the real binaries:
  - images vireo-img makes (plain, compressed, backing chains, version 2,
    odd cluster sizes and refcount widths) pass `qemu-img check`, and
    `qemu-img convert -O raw` and `vireo-img convert -O raw` give the same
    bytes, equal to the data put in;
  - images qemu-img makes and writes with qemu-io (patterns, zero writes,
    discards, compression, backing chains, internal snapshots) are read by
    vireo-img exactly as qemu-img reads them, and vireo-img check agrees;
  - `info --output=json` has qemu-img's keys; check's exit statuses and
    the messages for a missing file and a wrong format match qemu-img's.

  img_interop_test.py VIREO_IMG
"""

import json
import os
import random
import shutil
import struct
import sys

from harness import Results, run, scratch_dir


def main():
    vireo_img = sys.argv[1]
    results = Results()
    missing = [tool for tool in ("qemu-img", "qemu-io") if shutil.which(tool) is None]
    if missing:
        results.skip("qemu-img interop", f"{', '.join(missing)} not installed (Debian package qemu-utils)")
        results.finish()
    work = scratch_dir("vireo-img-interop-")

    def path(name):
        return os.path.join(work, name)

    def ok(argv, what, timeout=120):
        r = run(argv, timeout=timeout)
        if r.returncode != 0:
            results.check(False, what, r.describe())
            return None
        return r

    def read(name):
        with open(path(name), "rb") as f:
            return f.read()

    # Source data: random bytes, a zero hole, text, and a tail that is not a
    # multiple of any cluster size.
    rng = random.Random(5)
    data = (bytes(rng.getrandbits(8) for _ in range(1 << 20)) + bytes(2 << 20)
            + b"vireo qcow2 " * 100000 + bytes(rng.getrandbits(8) for _ in range(777)))
    data += bytes((-len(data)) % 512)  # qemu-io and raw sizes: whole sectors
    with open(path("source.raw"), "wb") as f:
        f.write(data)

    def raw_bytes_agree(name, expected, what):
        """Both tools convert `name` to raw; both must equal `expected`."""
        if ok(["qemu-img", "convert", "-O", "raw", path(name), path("q.raw")], f"{what}: qemu-img convert") is None:
            return
        if ok([vireo_img, "convert", "-O", "raw", path(name), path("v.raw")], f"{what}: vireo-img convert") is None:
            return
        q, v = read("q.raw"), read("v.raw")
        results.check(q == v, f"{what}: qemu-img and vireo-img convert to the same raw bytes",
                      f"{len(q)} vs {len(v)} bytes")
        if expected is not None:
            results.check(q == expected, f"{what}: the bytes are the data written")

    def qemu_check_clean(name, what):
        r = run(["qemu-img", "check", path(name)])
        results.check(r.returncode == 0 and "No errors were found" in r.stdout_text,
                      f"{what}: qemu-img check finds no errors", r.describe())

    def vireo_check_clean(name, what):
        r = run([vireo_img, "check", path(name)])
        results.check(r.returncode == 0 and "No errors were found" in r.stdout_text,
                      f"{what}: vireo-img check finds no errors", r.describe())

    # --- Images vireo-img makes -------------------------------------------
    variants = [
        ("plain", []),
        ("compressed", ["-c"]),
        ("version 2", ["-o", "compat=0.10"]),
        ("512-byte clusters, 1-bit refcounts", ["-o", "cluster_size=512,refcount_bits=1"]),
        ("2 MiB clusters, 64-bit refcounts", ["-o", "cluster_size=2M,refcount_bits=64"]),
        ("compressed, 4 KiB clusters, 4-bit refcounts", ["-c", "-o", "cluster_size=4k,refcount_bits=4"]),
    ]
    for i, (what, options) in enumerate(variants):
        name = f"vireo-{i}.qcow2"
        what = f"vireo-img convert ({what})"
        if ok([vireo_img, "convert", "-f", "raw", "-O", "qcow2"] + options + [path("source.raw"), path(name)], what):
            qemu_check_clean(name, what)
            raw_bytes_agree(name, data, what)

    # A backing chain: vireo-img create -b, then vireo-img convert -B writes
    # only what differs (partial clusters: copy-on-write from the backing).
    changed = bytearray(data)
    changed[70000:70005] = b"hello"
    changed[40960:53248] = bytes(12288)
    changed[3 << 20:(3 << 20) + 100] = b"\xab" * 100
    with open(path("changed.raw"), "wb") as f:
        f.write(changed)
    if ok([vireo_img, "convert", "-O", "qcow2", path("source.raw"), path("chain-base.qcow2")], "chain base"):
        ok([vireo_img, "create", "-q", "-f", "qcow2", "-b", "chain-base.qcow2", "-F", "qcow2",
            path("chain-empty.qcow2")], "vireo-img create -b")
        qemu_check_clean("chain-empty.qcow2", "vireo-img create -b")
        raw_bytes_agree("chain-empty.qcow2", data, "empty overlay made by vireo-img")
        if ok([vireo_img, "convert", "-O", "qcow2", "-B", "chain-base.qcow2", "-F", "qcow2",
               path("changed.raw"), path("chain-top.qcow2")], "vireo-img convert -B"):
            qemu_check_clean("chain-top.qcow2", "overlay written by vireo-img")
            raw_bytes_agree("chain-top.qcow2", bytes(changed), "overlay written by vireo-img")
            r = run(["qemu-img", "info", "--output=json", path("chain-top.qcow2")])
            info = json.loads(r.stdout_text) if r.returncode == 0 else {}
            results.check(info.get("backing-filename") == "chain-base.qcow2" and
                          info.get("backing-filename-format") == "qcow2",
                          "qemu-img sees the backing file and format vireo-img wrote", r.describe())
    # Over a raw backing file.
    if ok([vireo_img, "create", "-q", "-f", "qcow2", "-b", "source.raw", "-F", "raw", path("over-raw.qcow2")],
          "vireo-img create over raw"):
        raw_bytes_agree("over-raw.qcow2", data, "overlay of a raw file")

    # --- Images qemu-img makes ----------------------------------------------
    qemu_images = []

    def qemu_image(name, create_options, io_commands, what):
        argv = ["qemu-img", "create", "-q", "-f", "qcow2"] + create_options + [path(name), "8M"]
        if not ok(argv, f"{what}: qemu-img create"):
            return
        for command in io_commands:
            if not ok(["qemu-io", "-f", "qcow2", "-c", command, path(name)], f"{what}: qemu-io {command}"):
                return
        qemu_images.append((name, what))

    writes = ["write -P 0xab 0 64k", "write -P 0x12 100k 3k", "write -P 0xcd 1M 1M",
              "write -z 1536k 64k", "discard 1216k 64k", "write -P 0x77 8388096 512"]
    qemu_image("q-plain.qcow2", [], writes, "qemu-img image")
    qemu_image("q-v2.qcow2", ["-o", "compat=0.10"], writes, "qemu-img version 2 image")
    qemu_image("q-small.qcow2", ["-o", "cluster_size=512,refcount_bits=64"], writes, "qemu-img 512-byte clusters")
    qemu_image("q-2m.qcow2", ["-o", "cluster_size=2M,refcount_bits=2"], writes, "qemu-img 2 MiB clusters")
    qemu_image("q-lazy.qcow2", ["-o", "lazy_refcounts=on"], writes, "qemu-img lazy refcounts")
    if ok(["qemu-img", "convert", "-c", "-O", "qcow2", path("source.raw"), path("q-compressed.qcow2")],
          "qemu-img convert -c"):
        qemu_images.append(("q-compressed.qcow2", "qemu-img compressed image"))
    if ok(["qemu-img", "create", "-q", "-f", "qcow2", "-b", "q-plain.qcow2", "-F", "qcow2",
           path("q-top.qcow2")], "qemu-img overlay"):
        if ok(["qemu-io", "-c", "write -P 0x99 96k 8k", "-c", "write -z 1M 4k", path("q-top.qcow2")], "qemu-io overlay"):
            qemu_images.append(("q-top.qcow2", "qemu-img overlay over qcow2"))
    if ok(["qemu-img", "create", "-q", "-f", "qcow2", "-b", "source.raw", "-F", "raw", path("q-over-raw.qcow2")],
          "qemu-img overlay over raw"):
        if ok(["qemu-io", "-c", "write -P 0x42 5000 70000", path("q-over-raw.qcow2")], "qemu-io overlay over raw"):
            qemu_images.append(("q-over-raw.qcow2", "qemu-img overlay over raw"))
    # An internal snapshot, then more writes: the image's data is the
    # current state, and check must walk the snapshot's tables.
    if ok(["cp", path("q-plain.qcow2"), path("q-snap.qcow2")], "copy"):
        if ok(["qemu-img", "snapshot", "-c", "before", path("q-snap.qcow2")], "qemu-img snapshot -c"):
            if ok(["qemu-io", "-c", "write -P 0x31 0 8k", "-c", "write -P 0x32 2M 64k", path("q-snap.qcow2")], "qemu-io"):
                qemu_images.append(("q-snap.qcow2", "qemu-img image with a snapshot"))

    for name, what in qemu_images:
        raw_bytes_agree(name, None, what)
        vireo_check_clean(name, what)

    # --- Changes vireo-img makes to existing images --------------------------
    # Snapshots: vireo-img snapshot -c, then qemu-io writes; qemu-img sees
    # the snapshot and reads its data; vireo-img snapshot -a brings it back.
    if ok([vireo_img, "convert", "-O", "qcow2", path("source.raw"), path("snap.qcow2")], "snapshot image"):
        ok([vireo_img, "snapshot", "-c", "first", path("snap.qcow2")], "vireo-img snapshot -c")
        ok(["qemu-io", "-c", "write -P 0x5a 0 100k", "-c", "write -z 1M 64k", path("snap.qcow2")], "qemu-io after snapshot")
        qemu_check_clean("snap.qcow2", "vireo-img snapshot -c")
        r = run(["qemu-img", "snapshot", "-l", path("snap.qcow2")])
        v = run([vireo_img, "snapshot", "-l", path("snap.qcow2")])
        results.check(r.returncode == 0 and " first " in r.stdout_text and r.stdout_text == v.stdout_text,
                      "qemu-img snapshot -l lists vireo-img's snapshot as vireo-img does", r.describe() + "\n" + v.describe())
        if ok(["qemu-img", "convert", "-l", "snapshot.name=first", "-O", "raw", path("snap.qcow2"), path("q.raw")],
              "qemu-img convert -l snapshot.name=first"):
            results.check(read("q.raw") == data, "qemu-img reads vireo-img's snapshot as the data before it")
        ok([vireo_img, "snapshot", "-a", "first", path("snap.qcow2")], "vireo-img snapshot -a")
        qemu_check_clean("snap.qcow2", "vireo-img snapshot -a")
        raw_bytes_agree("snap.qcow2", data, "after vireo-img snapshot -a")
        ok([vireo_img, "snapshot", "-d", "first", path("snap.qcow2")], "vireo-img snapshot -d")
        qemu_check_clean("snap.qcow2", "vireo-img snapshot -d")
        r = run(["qemu-img", "snapshot", "-l", path("snap.qcow2")])
        results.check(r.returncode == 0 and r.stdout_text == "", "no snapshot left after vireo-img snapshot -d", r.describe())
    # A snapshot qemu-img made, applied by vireo-img.
    if os.path.exists(path("q-snap.qcow2")):
        shutil.copy(path("q-snap.qcow2"), path("q-snap-apply.qcow2"))
        if ok(["qemu-img", "convert", "-l", "snapshot.name=before", "-O", "raw", path("q-snap.qcow2"), path("snap-before.raw")], "qemu-img convert -l"):
            ok([vireo_img, "snapshot", "-a", "before", path("q-snap-apply.qcow2")], "vireo-img snapshot -a on qemu-img's snapshot")
            qemu_check_clean("q-snap-apply.qcow2", "vireo-img snapshot -a on qemu-img's snapshot")
            raw_bytes_agree("q-snap-apply.qcow2", read("snap-before.raw"), "vireo-img snapshot -a on qemu-img's snapshot")

    # resize: grow (a bigger L1 table with 4 KiB clusters), then shrink.
    if ok([vireo_img, "convert", "-O", "qcow2", "-o", "cluster_size=4k", path("source.raw"), path("resize.qcow2")], "resize image"):
        ok([vireo_img, "resize", path("resize.qcow2"), "+5G"], "vireo-img resize +5G")
        qemu_check_clean("resize.qcow2", "vireo-img resize +5G")
        r = run(["qemu-img", "info", "--output=json", path("resize.qcow2")])
        size = json.loads(r.stdout_text).get("virtual-size") if r.returncode == 0 else None
        results.check(size == len(data) + (5 << 30), "qemu-img sees the size vireo-img resize set", r.describe())
        ok([vireo_img, "resize", "--shrink", path("resize.qcow2"), "1M"], "vireo-img resize --shrink")
        qemu_check_clean("resize.qcow2", "vireo-img resize --shrink")
        raw_bytes_agree("resize.qcow2", data[:1 << 20], "after vireo-img resize --shrink")

    # commit: the overlay's clusters go down into the base; the overlay empties.
    if ok([vireo_img, "convert", "-O", "qcow2", path("source.raw"), path("commit-base.qcow2")], "commit base") and \
            ok([vireo_img, "create", "-q", "-f", "qcow2", "-b", "commit-base.qcow2", "-F", "qcow2",
                path("commit-top.qcow2")], "commit top") and \
            ok(["qemu-io", "-c", "write -P 0x66 10k 100k", "-c", "write -z 3M 64k", path("commit-top.qcow2")], "qemu-io") and \
            ok(["qemu-img", "convert", "-O", "raw", path("commit-top.qcow2"), path("commit-expected.raw")], "convert"):
        expected = read("commit-expected.raw")
        ok([vireo_img, "commit", path("commit-top.qcow2")], "vireo-img commit")
        qemu_check_clean("commit-base.qcow2", "base after vireo-img commit")
        qemu_check_clean("commit-top.qcow2", "overlay after vireo-img commit")
        raw_bytes_agree("commit-base.qcow2", expected, "base after vireo-img commit")
        raw_bytes_agree("commit-top.qcow2", expected, "overlay after vireo-img commit")

    # rebase (safe): onto another base, and onto none; the data stays.
    if ok([vireo_img, "create", "-q", "-f", "qcow2", "-b", "chain-base.qcow2", "-F", "qcow2", path("rebase.qcow2")], "rebase image") and \
            ok(["qemu-io", "-c", "write -P 0x77 1M 4k", path("rebase.qcow2")], "qemu-io"):
        for new_base, fmt, what in [("changed.raw", "raw", "onto another backing file"), ("", "", "onto no backing file")]:
            ok(["qemu-img", "convert", "-O", "raw", path("rebase.qcow2"), path("rebase-expected.raw")], "convert")
            expected = read("rebase-expected.raw")
            argv = [vireo_img, "rebase", "-b", new_base] + (["-F", fmt] if fmt else []) + [path("rebase.qcow2")]
            ok(argv, f"vireo-img rebase {what}")
            qemu_check_clean("rebase.qcow2", f"vireo-img rebase {what}")
            raw_bytes_agree("rebase.qcow2", expected, f"vireo-img rebase {what}")
            r = run(["qemu-img", "info", "--output=json", path("rebase.qcow2")])
            backing = json.loads(r.stdout_text).get("backing-filename") if r.returncode == 0 else "?"
            results.check(backing == (new_base or None), f"qemu-img sees the backing file after rebase {what}", r.describe())

    # preallocation: every cluster allocated, reading as zeroes, both ways.
    for mode in ("metadata", "falloc", "full"):
        for tool in (vireo_img, "qemu-img"):
            name = f"prealloc-{mode}-{os.path.basename(tool)}.qcow2"
            if ok([tool, "create", "-q", "-f", "qcow2", "-o", f"preallocation={mode},cluster_size=4k", path(name), "6M"],
                  f"{tool} create -o preallocation={mode}"):
                (qemu_check_clean if tool == vireo_img else vireo_check_clean)(name, f"preallocation={mode} by {os.path.basename(tool)}")
                r = run([vireo_img if tool != vireo_img else "qemu-img", "check", "--output=json", path(name)])
                try:
                    counts = json.loads(r.stdout_text)
                except ValueError:
                    counts = {}
                results.check(counts.get("allocated-clusters") == counts.get("total-clusters") == 1536,
                              f"preallocation={mode} by {os.path.basename(tool)}: every cluster allocated", r.describe())
                raw_bytes_agree(name, bytes(6 << 20), f"preallocation={mode} by {os.path.basename(tool)}")

    # --- map and compare -----------------------------------------------------
    for name in ["chain-top.qcow2", "vireo-1.qcow2", "q-plain.qcow2", "q-top.qcow2", "q-compressed.qcow2", "source.raw"]:
        if not os.path.exists(path(name)):
            continue
        q = run(["qemu-img", "map", "--output=json", path(name)])
        v = run([vireo_img, "map", "--output=json", path(name)])
        results.check(q.returncode == 0 and q.stdout == v.stdout, f"map --output=json on {name} as qemu-img's",
                      q.describe() + "\n" + v.describe())
    for a, b in [("source.raw", "vireo-0.qcow2"), ("source.raw", "changed.raw"), ("source.raw", "chain-top.qcow2")]:
        q = run(["qemu-img", "compare", path(a), path(b)])
        v = run([vireo_img, "compare", path(a), path(b)])
        results.check(q.returncode == v.returncode and q.stdout == v.stdout,
                      f"compare {a} {b}: {q.stdout_text.strip()!r} as qemu-img", q.describe() + "\n" + v.describe())

    # --- info --output=json keys ------------------------------------------
    # A dirty image (lazy refcounts, not shut down cleanly): the dirty bit.
    if os.path.exists(path("q-lazy.qcow2")):
        shutil.copy(path("q-lazy.qcow2"), path("q-dirty.qcow2"))
        with open(path("q-dirty.qcow2"), "r+b") as f:
            f.seek(79)
            f.write(b"\x01")
        q = run(["qemu-img", "info", path("q-dirty.qcow2")])
        v = run([vireo_img, "info", path("q-dirty.qcow2")])
        results.check(q.returncode == 0 and q.stdout == v.stdout and "cleanly shut down: no" in v.stdout_text,
                      "info on a dirty image prints what qemu-img prints", q.describe() + "\n" + v.describe())
    for name in ["vireo-0.qcow2", "chain-top.qcow2", "q-v2.qcow2", "q-lazy.qcow2", "q-dirty.qcow2", "q-snap.qcow2", "source.raw"]:
        if not os.path.exists(path(name)):
            continue
        q = run(["qemu-img", "info", "--output=json", path(name)])
        v = run([vireo_img, "info", "--output=json", path(name)])
        try:
            qj, vj = json.loads(q.stdout_text), json.loads(v.stdout_text)
        except ValueError:
            results.check(False, f"info --output=json on {name} is JSON", q.describe() + "\n" + v.describe())
            continue
        same_keys = (set(qj) == set(vj) and
                     set(qj.get("format-specific", {}).get("data", {})) ==
                     set(vj.get("format-specific", {}).get("data", {})))
        results.check(same_keys, f"info --output=json on {name}: the same keys as qemu-img",
                      f"qemu-img: {sorted(qj)}\nvireo-img: {sorted(vj)}")
        differing = [k for k in qj if k != "actual-size" and qj.get(k) != vj.get(k)]
        results.check(not differing, f"info --output=json on {name}: the same values as qemu-img",
                      "\n".join(f"{k}: {qj.get(k)!r} vs {vj.get(k)!r}" for k in differing))

    # --- info --backing-chain ---------------------------------------------
    if os.path.exists(path("chain-top.qcow2")):
        q = run(["qemu-img", "info", "--backing-chain", "--output=json", path("chain-top.qcow2")])
        v = run([vireo_img, "info", "--backing-chain", "--output=json", path("chain-top.qcow2")])
        try:
            qj, vj = json.loads(q.stdout_text), json.loads(v.stdout_text)
            same = ([sorted(i) for i in qj] == [sorted(i) for i in vj] and
                    [i["filename"] for i in qj] == [i["filename"] for i in vj])
        except (ValueError, KeyError, TypeError):
            same = False
        results.check(same, "info --backing-chain --output=json lists the same images and keys as qemu-img",
                      q.describe() + "\n" + v.describe())
        q = run(["qemu-img", "info", "--backing-chain", path("chain-top.qcow2")])
        v = run([vireo_img, "info", "--backing-chain", path("chain-top.qcow2")])
        strip = lambda text: [l for l in text.split("\n") if not l.startswith("disk size:")]
        results.check(strip(q.stdout_text) == strip(v.stdout_text), "info --backing-chain prints what qemu-img prints",
                      q.describe() + "\n" + v.describe())

    # --- check exit statuses on damaged images -----------------------------
    def damaged(name, cluster, refcount):
        """A qemu-img image with one data cluster (cluster 5, after the
        header, reftable, refblock, L1 and L2), two unused clusters after
        it, and the refcount of `cluster` set to `refcount`. (Both tools
        look at refcounts of clusters inside the file only.)"""
        ok(["qemu-img", "create", "-q", "-f", "qcow2", path(name), "1M"], "create")
        ok(["qemu-io", "-c", "write -P 1 0 4k", path(name)], "qemu-io")
        with open(path(name), "r+b") as f:
            f.seek(0x20000 + cluster * 2)
            f.write(struct.pack(">H", refcount))
            f.truncate(8 * 0x10000)  # room for unused clusters

    for cluster, refcount, status, what in [(6, 1, 3, "a leaked cluster"), (5, 0, 2, "a missing refcount"),
                                            (5, 2, 2, "a refcount too high for the COPIED flag")]:
        damaged("damaged.qcow2", cluster, refcount)
        q = run(["qemu-img", "check", path("damaged.qcow2")])
        v = run([vireo_img, "check", path("damaged.qcow2")])
        results.check(q.returncode == status and v.returncode == status,
                      f"check exits {status} on {what}, as qemu-img", q.describe() + "\n" + v.describe())
        results.check(q.stdout_text == v.stdout_text and q.stderr == v.stderr,
                      f"check's report on {what} matches qemu-img's",
                      f"qemu-img:\n{q.stdout_text}{q.stderr}\nvireo-img:\n{v.stdout_text}{v.stderr}")
        v = run([vireo_img, "check", "-r", "all", path("damaged.qcow2")])
        q = run(["qemu-img", "check", path("damaged.qcow2")])
        results.check(v.returncode == 0 and q.returncode == 0, f"vireo-img check -r all repairs {what}",
                      v.describe() + "\n" + q.describe())
    # A lazy_refcounts image QEMU was killed writing (as QEMU's iotest 039
    # does it): refcounts missing under the dirty bit. vireo-img reports
    # what qemu-img reports, and its repair leaves the data and a clean image.
    ok(["qemu-img", "create", "-q", "-f", "qcow2", "-o", "lazy_refcounts=on", path("lazy.qcow2"), "64M"], "create")
    run(["qemu-io", "-c", "write -P 0x5a 0 1M", "-c", "sigraise 9", path("lazy.qcow2")])
    q = run(["qemu-img", "check", path("lazy.qcow2")])
    v = run([vireo_img, "check", path("lazy.qcow2")])
    results.check(q.returncode == 2 and v.returncode == 2 and q.stdout == v.stdout,
                  "check on a lazy-refcounts image QEMU was killed writing: exit 2 and the report of qemu-img",
                  q.describe() + "\n" + v.describe())
    v = run([vireo_img, "check", "-r", "all", path("lazy.qcow2")])
    q = run(["qemu-img", "check", path("lazy.qcow2")])
    io = run(["qemu-io", "-c", "read -P 0x5a 0 1M", path("lazy.qcow2")])
    results.check(v.returncode == 0 and q.returncode == 0 and io.returncode == 0 and "Pattern verification failed"
                  not in io.stdout_text, "vireo-img check -r all rebuilds its refcounts, keeping the data",
                  v.describe() + "\n" + q.describe() + "\n" + io.describe())
    r = run([vireo_img, "check", path("source.raw")])
    results.check(r.returncode == 63, "check on a raw image exits 63", r.describe())

    # --- measure -----------------------------------------------------------
    for argv in (["--size", "3G", "-O", "qcow2"], ["--output=json", "--size", "1G", "-O", "qcow2", "-o", "cluster_size=512"],
                 ["-O", "qcow2", path("source.raw")], ["--output=json", "-O", "qcow2", path("chain-top.qcow2")],
                 ["-O", "qcow2", "-o", "cluster_size=4k,refcount_bits=1", path("q-plain.qcow2")],
                 [path("source.raw")]):
        q = run(["qemu-img", "measure"] + argv)
        v = run([vireo_img, "measure"] + argv)
        results.check(q.returncode == 0 and q.stdout == v.stdout, f"measure {' '.join(os.path.basename(a) for a in argv)} as qemu-img",
                      q.describe() + "\n" + v.describe())

    # --- image locks -----------------------------------------------------------
    # A QEMU that has the image open for writing holds QEMU's lock bytes:
    # vireo-img must refuse to open it (as qemu-img does) unless -U.
    qemu = shutil.which("qemu-system-x86_64")
    if qemu is None:
        results.skip("locks held by QEMU", "qemu-system-x86_64 not installed")
    elif os.path.exists(path("vireo-0.qcow2")):
        import subprocess
        import time
        holder = subprocess.Popen([qemu, "-machine", "none", "-nodefaults", "-display", "none", "-S",
                                   "-drive", f"file={path('vireo-0.qcow2')},format=qcow2,if=none,id=d0"],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            deadline = time.monotonic() + 60  # a loaded machine starts QEMU slowly
            q = run(["qemu-img", "info", path("vireo-0.qcow2")])
            while q.returncode == 0 and time.monotonic() < deadline and holder.poll() is None:  # until QEMU has opened it
                time.sleep(0.1)
                q = run(["qemu-img", "info", path("vireo-0.qcow2")])
            v = run([vireo_img, "info", path("vireo-0.qcow2")])
            q_line = q.stderr_lines[0].replace("qemu-img: ", "", 1) if q.stderr_lines else ""
            v_line = v.stderr_lines[0].replace("vireo-img: ", "", 1) if v.stderr_lines else ""
            results.check(q.returncode == 1 and v.returncode == 1 and v_line == q_line,
                          "an image QEMU has open: vireo-img info refuses with qemu-img's message",
                          q.describe() + "\n" + v.describe())
            v = run([vireo_img, "info", "-U", path("vireo-0.qcow2")])
            results.check(v.returncode == 0, "an image QEMU has open: vireo-img info -U reads it", v.describe())
        finally:
            holder.kill()
            holder.wait()

    # --- error messages ------------------------------------------------------
    for argv, what in [(["info", path("nonexistent.qcow2")], "a missing file"),
                       (["info", "-f", "qcow2", path("source.raw")], "a raw file opened as qcow2")]:
        q = run(["qemu-img"] + argv)
        v = run([vireo_img] + argv)
        q_line = q.stderr_lines[0].replace("qemu-img: ", "", 1) if q.stderr_lines else ""
        v_line = v.stderr_lines[0].replace("vireo-img: ", "", 1) if v.stderr_lines else ""
        # qemu-img repeats "Could not open '...': " once more than needed.
        results.check(q.returncode == 1 and v.returncode == 1 and v_line and v_line in q_line,
                      f"info on {what}: exit 1 with qemu-img's message", f"qemu-img: {q_line}\nvireo-img: {v_line}")

    results.finish()


if __name__ == "__main__":
    main()
