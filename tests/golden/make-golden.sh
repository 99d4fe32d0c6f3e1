#!/usr/bin/env bash
# Makes the golden repository tests/golden/v1 with the medvault binary given
# as $1. Run once per format version; the result is committed and every later
# version must still read it (tests/e2e/t_golden.sh).
set -euo pipefail
MV=${1:?usage: make-golden.sh path/to/medvault}
here=$(cd "$(dirname "$0")" && pwd)
. "$here/manifest.sh"
out="$here/v1"
rm -rf "$out" && mkdir -p "$out"
src=$(mktemp -d /tmp/golden-src.XXXXXX)
trap 'rm -rf "$src"' EXIT
python3 - "$src/imaging" <<'PY'
import os, random, sys
root = sys.argv[1]
rnd = random.Random(42)
def w(rel, data, mode=0o644, t=1_577_836_800_123_456_789):
    p = os.path.join(root, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    open(p, "wb").write(data)
    os.chmod(p, mode)
    os.utime(p, ns=(t, t))
w("DUPONT^MARIE/2019_MR_knee/IM0001.dcm", b"DICM" + bytes(rnd.getrandbits(4) for _ in range(40000)))
w("DUPONT^MARIE/2019_MR_knee/IM0002.dcm", b"DICM" + bytes(rnd.getrandbits(4) for _ in range(40000)))
w("MARTIN^JEAN/2021_CT_chest/big.dcm", b"DICM" + bytes(rnd.getrandbits(3) for _ in range(1_500_000)), t=1_600_000_000_000_000_001)
w("notes/empty.txt", b"", mode=0o600)
w("notes/ünïcode-é.txt", "accents é à ü\n".encode(), mode=0o640)
os.symlink("../notes/empty.txt", os.path.join(root, "DUPONT^MARIE/link"))
# real DICOM (explicit VR little endian, Latin-1 names) with smooth 12-bit
# pixels: cataloged, pixel data in its own chunks, delta-coded blobs
import math, struct, zipfile, io
def el(g, e, vr, v):
    if len(v) % 2: v += b"\0" if vr == b"UI" else b" "
    if vr in (b"OB", b"OW"): return struct.pack("<HH2sHI", g, e, vr, 0, len(v)) + v
    return struct.pack("<HH2sH", g, e, vr, len(v)) + v
def dicom(name, pid, study, series, sop, date, mod):
    meta = el(2, 0x10, b"UI", b"1.2.840.10008.1.2.1")
    px = bytearray()
    for y in range(256):
        for x in range(256):
            v = int(1500 + 400 * math.sin(x / 23 + sop) * math.cos(y / 31)) + rnd.getrandbits(3)
            px += struct.pack("<H", v & 0x0fff)
    return (b"\0" * 128 + b"DICM" + el(2, 0, b"UL", struct.pack("<I", len(meta))) + meta
            + el(8, 5, b"CS", b"ISO_IR 100") + el(8, 0x18, b"UI", f"1.2.826.9.{sop}".encode())
            + el(8, 0x20, b"DA", date) + el(8, 0x60, b"CS", mod)
            + el(0x10, 0x10, b"PN", name.encode("latin-1")) + el(0x10, 0x20, b"LO", pid)
            + el(0x20, 0x0D, b"UI", study) + el(0x20, 0x0E, b"UI", series)
            + el(0x28, 0x10, b"US", struct.pack("<H", 256)) + el(0x28, 0x11, b"US", struct.pack("<H", 256))
            + el(0x28, 0x100, b"US", struct.pack("<H", 16)) + el(0x7FE0, 0x10, b"OW", bytes(px)))
w("LEFÈVRE^CHLOÉ/2018_MR/IM1.dcm", dicom("LEFÈVRE^CHLOÉ", b"P0042", b"1.2.826.9.1", b"1.2.826.9.1.1", 1, b"20180412", b"MR"))
w("LEFÈVRE^CHLOÉ/2018_MR/IM2.dcm", dicom("LEFÈVRE^CHLOÉ", b"P0042", b"1.2.826.9.1", b"1.2.826.9.1.1", 2, b"20180412", b"MR"))
z = io.BytesIO()
with zipfile.ZipFile(z, "w") as zf:
    zf.writestr("CD/IM3.dcm", dicom("DURAND^PAUL", b"P0043", b"1.2.826.9.2", b"1.2.826.9.2.1", 3, b"20200101", b"CT"))
w("cd/export.zip", z.getvalue())
for d in ["DUPONT^MARIE/2019_MR_knee", "MARTIN^JEAN/2021_CT_chest", "notes", "LEFÈVRE^CHLOÉ/2018_MR", "cd"]:
    os.utime(os.path.join(root, d), ns=(1_500_000_000_000_000_000,) * 2)
PY
printf 'Golden-Repository-Passw0rd!\n' >"$out/password"
chmod 600 "$out/password"
export MEDVAULT_PASSWORD_FILE="$out/password"
"$MV" init -r "$out/repo" --kdf-memory 64 --kdf-iterations 3 --recovery-key-file "$out/recovery-key" >/dev/null
(cd "$src" && "$MV" backup -q -r "$out/repo" --host golden imaging)
# a second snapshot: one directory of 8,300 entries, stored as a split tree
# (FORMAT.md section 9.2; added to the committed repository after the first
# snapshot, with the same script lines)
python3 - "$src/many" <<'PY'
import os, sys
d = sys.argv[1]
os.makedirs(d)
for i in range(8300):
    p = os.path.join(d, "n%05d" % i)
    open(p, "wb").write(b"%d\n" % i if i % 100 == 0 else b"")
    os.utime(p, ns=(1_577_836_800_000_000_000,) * 2)
PY
(cd "$src" && "$MV" backup -q -r "$out/repo" --host golden many)
"$MV" snapshots -r "$out/repo" --json >"$out/snapshots.json"
# manifest of the source, relative to the backed-up path, as tests compare it
(cd "$src" && golden_manifest) >"$out/manifest.txt"
echo "source was $src/imaging" >"$out/README"
echo "golden repository written to $out"
