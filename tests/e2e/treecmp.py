#!/usr/bin/env python3
"""Compares two trees byte for byte: kinds, contents, modes, mtimes (ns),
sizes and symlink targets. Directory mtimes are compared too.
Usage: treecmp.py A B [--no-dir-times] [--no-owner]"""
import os, stat, sys

a, b = sys.argv[1].encode(), sys.argv[2].encode()
dir_times = "--no-dir-times" not in sys.argv
diffs = []

def walk(root):
    out = {}
    for dp, dns, fns in os.walk(root):
        for n in dns + fns:
            full = os.path.join(dp, n)
            out[os.path.relpath(full, root)] = full
    return out

ta, tb = walk(a), walk(b)
for k in sorted(set(ta) | set(tb)):
    if k not in tb:
        diffs.append(f"missing in restore: {k!r}"); continue
    if k not in ta:
        diffs.append(f"extra in restore: {k!r}"); continue
    sa, sb = os.lstat(ta[k]), os.lstat(tb[k])
    if stat.S_IFMT(sa.st_mode) != stat.S_IFMT(sb.st_mode):
        diffs.append(f"kind differs: {k!r}"); continue
    if stat.S_IMODE(sa.st_mode) != stat.S_IMODE(sb.st_mode) and not stat.S_ISLNK(sa.st_mode):
        diffs.append(f"mode differs: {k!r} {oct(sa.st_mode)} {oct(sb.st_mode)}")
    if stat.S_ISLNK(sa.st_mode):
        if os.readlink(ta[k]) != os.readlink(tb[k]):
            diffs.append(f"link target differs: {k!r}")
    elif stat.S_ISREG(sa.st_mode):
        if sa.st_size != sb.st_size:
            diffs.append(f"size differs: {k!r}")
        else:
            with open(ta[k], "rb") as fa, open(tb[k], "rb") as fb:
                while True:
                    x, y = fa.read(1 << 20), fb.read(1 << 20)
                    if x != y:
                        diffs.append(f"content differs: {k!r}"); break
                    if not x:
                        break
    if (not stat.S_ISDIR(sa.st_mode) or dir_times) and sa.st_mtime_ns != sb.st_mtime_ns:
        diffs.append(f"mtime differs: {k!r} {sa.st_mtime_ns} {sb.st_mtime_ns}")
for d in diffs[:50]:
    print(d)
sys.exit(1 if diffs else 0)
