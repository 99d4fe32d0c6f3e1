#!/usr/bin/env python3
"""Generates a test tree with every file kind medvault must store:
regular files (small, empty, multi-chunk, incompressible, sparse), nested
directories, symlinks (relative, absolute, dangling), a fifo, UTF-8 and
non-UTF-8 names, unusual modes, and nanosecond mtimes.
Usage: mktree.py DIR [--big MiB] [--seed N]"""
import argparse, os, random

ap = argparse.ArgumentParser()
ap.add_argument("dir")
ap.add_argument("--big", type=int, default=6, help="size of the multi-chunk file in MiB")
ap.add_argument("--seed", type=int, default=1)
a = ap.parse_args()
rnd = random.Random(a.seed)
d = a.dir.encode()
os.makedirs(d, exist_ok=True)

def p(*parts):
    return os.path.join(d, *[x if isinstance(x, bytes) else x.encode() for x in parts])

def write(path, data, mode=0o644, mtime_ns=None):
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "wb") as f:
        f.write(data)
    os.chmod(path, mode)
    if mtime_ns is not None:
        os.utime(path, ns=(mtime_ns, mtime_ns))

patients = ["DUPONT^MARIE", "MARTIN^JEAN", "MÜLLER^ANNA"]
for i, pat in enumerate(patients):
    for s in range(3):
        body = (f"DICM-like header PatientName={pat} study={s}\n" * 50).encode()
        body += bytes(rnd.getrandbits(8) for _ in range(2000 + 500 * s))
        write(p("patients", pat, f"study{s}", f"IM{s:04d}.dcm"), body,
              mtime_ns=1_600_000_000_123_456_789 + i * 1000 + s)
write(p("empty.txt"), b"")
write(p("notes.txt"), b"Mme Dupont, 2019 knee MRI\n" * 100, mode=0o600)
write(p("script.sh"), b"#!/bin/sh\necho hi\n", mode=0o755)
write(p("readonly.txt"), b"read only\n", mode=0o444)
# multi-chunk: compressible half, random half
big = (b"0123456789abcdef" * 65536)[: a.big * 1024 * 512]
big += rnd.randbytes(a.big * 1024 * 1024 - len(big))
write(p("big", "archive.bin"), big)
write(p("big", "random.bin"), rnd.randbytes(3 * 1024 * 1024 + 17))
# sparse file: holes around data
sp = p("sparse.img")
with open(sp, "wb") as f:
    f.truncate(20 * 1024 * 1024)
    f.seek(8 * 1024 * 1024)
    f.write(b"data in the middle of a hole")
# names
write(p("unicode", "éàü-ñ 日本.txt"), "ünïcödé".encode())
write(os.path.join(p("unicode"), b"latin1-\xe9\xff.txt"), b"not utf-8 name")
write(p("spaces and 'quotes'", "a\tb.txt"), b"tab in name")
# symlinks
os.makedirs(p("links"), exist_ok=True)
os.symlink(b"../notes.txt", p("links", "rel"))
os.symlink(b"/etc/hostname", p("links", "abs"))
os.symlink(b"does/not/exist", p("links", "dangling"))
os.mkfifo(p("fifo"))
os.makedirs(p("emptydir"), exist_ok=True)
os.chmod(p("emptydir"), 0o750)
os.utime(p("notes.txt"), ns=(1_500_000_000_000_000_001, 1_500_000_000_000_000_001))
