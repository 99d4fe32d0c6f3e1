#!/usr/bin/env python3
"""Helpers of the wipe tests (tests/e2e/t_wipe_*.sh, scripts/bench-wipe).

  wipetool.py marker                       a fresh marker: 16 random bytes as 32 hex digits
  wipetool.py mkfile PATH SIZE MARKER      a file of SIZE bytes: MARKER repeated (and a newline every
                                           64 repetitions), so every 4 KiB block of it holds the marker
  wipetool.py mksparse PATH MARKER         a sparse file: 256 KiB of marker, a 4 MiB hole, 64 KiB of marker
  wipetool.py count IMAGE STR...           prints "N STR" per STR: its occurrences in IMAGE (read in
                                           chunks with an overlap, so matches across chunks count);
                                           STR "hex:..." searches those bytes, "file:PATH" a file's bytes
  wipetool.py status CERT PATH             the status of PATH among the certificate's items ("absent"
                                           when not listed); items are found anywhere in the JSON as
                                           objects with "path" and "status"
  wipetool.py field CERT KEY               every value of KEY anywhere in the certificate, one per line
  wipetool.py treehash DIR                 one hash of the names, kinds, sizes, modes, link targets and
                                           contents under DIR (a changed byte anywhere changes it)
  wipetool.py flip FILE OFFSET             xor the byte at OFFSET (negative: from the end) with 0x01
  wipetool.py sameblocks A B BS            prints how many BS-byte blocks of A and B are identical
"""
import hashlib
import json
import os
import secrets
import stat
import sys


def marker():
    print(secrets.token_hex(16))


def mkfile(path, size, mark):
    unit = (mark * 64 + "\n").encode()
    data = (unit * (size // len(unit) + 1))[:size]
    with open(path, "wb") as f:
        f.write(data)
        f.flush()
        os.fsync(f.fileno())


def mksparse(path, mark):
    unit = (mark * 64 + "\n").encode()
    with open(path, "wb") as f:
        f.write((unit * (256 * 1024 // len(unit) + 1))[:256 * 1024])
        f.seek(4 << 20, os.SEEK_CUR)
        f.write((unit * (64 * 1024 // len(unit) + 1))[:64 * 1024])
        f.flush()
        os.fsync(f.fileno())


def needle(s):
    if s.startswith("hex:"):
        return bytes.fromhex(s[4:])
    if s.startswith("file:"):
        with open(s[5:], "rb") as f:
            return f.read()
    return s.encode()


def count(image, strs):
    needles = [needle(s) for s in strs]
    counts = [0] * len(needles)
    over = max(len(n) for n in needles) - 1
    chunk = 16 << 20
    tail = b""
    with open(image, "rb") as f:
        while True:
            buf = f.read(chunk)
            if not buf:
                break
            data = tail + buf
            # count matches that end in the new bytes only (those ending in
            # the tail were counted with the previous chunk)
            for i, n in enumerate(needles):
                start = max(0, len(tail) - len(n) + 1)
                pos = data.find(n, start)
                while pos >= 0:
                    counts[i] += 1
                    pos = data.find(n, pos + 1)
            tail = data[len(data) - over:] if over > 0 else b""
    for s, c in zip(strs, counts):
        print(c, s)


def items(obj):
    if isinstance(obj, dict):
        if "path" in obj and "status" in obj:
            yield obj
        for v in obj.values():
            yield from items(v)
    elif isinstance(obj, list):
        for v in obj:
            yield from items(v)


def status(cert, path):
    with open(cert, "rb") as f:
        doc = json.load(f)
    want = os.path.normpath(path)
    for it in items(doc):
        if os.path.normpath(str(it["path"])) == want:
            print(it["status"])
            return
    print("absent")


def field(cert, key):
    with open(cert, "rb") as f:
        doc = json.load(f)

    def walk(o):
        if isinstance(o, dict):
            for k, v in o.items():
                if k == key:
                    print(v if isinstance(v, str) else json.dumps(v))
                walk(v)
        elif isinstance(o, list):
            for v in o:
                walk(v)

    walk(doc)


def treehash(top):
    h = hashlib.sha256()
    for d, dirs, files in os.walk(top):
        dirs.sort()
        for name in sorted(dirs + files):
            p = os.path.join(d, name)
            st = os.lstat(p)
            h.update(b"%s\0%o\0%d\0" % (os.path.relpath(p, top).encode(), st.st_mode, st.st_nlink))
            if stat.S_ISLNK(st.st_mode):
                h.update(os.readlink(p).encode())
            elif stat.S_ISREG(st.st_mode):
                h.update(b"%d\0" % st.st_size)
                with open(p, "rb") as f:
                    for b in iter(lambda: f.read(1 << 20), b""):
                        h.update(b)
    print(h.hexdigest())


def flip(path, off):
    with open(path, "r+b") as f:
        size = os.fstat(f.fileno()).st_size
        if off < 0:
            off += size
        f.seek(off)
        b = f.read(1)
        f.seek(off)
        f.write(bytes([b[0] ^ 0x01]))


def sameblocks(a, b, bs):
    same = 0
    with open(a, "rb") as fa, open(b, "rb") as fb:
        while True:
            x, y = fa.read(bs), fb.read(bs)
            if not x and not y:
                break
            if x == y:
                same += 1
    print(same)


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "marker":
        marker()
    elif cmd == "mkfile":
        mkfile(args[0], int(args[1]), args[2])
    elif cmd == "mksparse":
        mksparse(args[0], args[1])
    elif cmd == "count":
        count(args[0], args[1:])
    elif cmd == "status":
        status(args[0], args[1])
    elif cmd == "field":
        field(args[0], args[1])
    elif cmd == "treehash":
        treehash(args[0])
    elif cmd == "flip":
        flip(args[0], int(args[1]))
    elif cmd == "sameblocks":
        sameblocks(args[0], args[1], int(args[2]))
    else:
        sys.exit("wipetool.py: unknown command " + cmd)


if __name__ == "__main__":
    main()
