#!/usr/bin/env bash
# The golden repository made by format version 1 (tests/golden/make-golden.sh)
# must still be read, checked and restored byte for byte by this version, and
# its damaged twins (one byte flipped in each kind of file) must be rejected
# with the right exit code, never accepted and never a crash.
. "$(dirname "$0")/lib.sh"
. "$SRC/tests/golden/manifest.sh"

G="$SRC/tests/golden/v1"
cp -a "$G/repo" "$T/repo"
cp "$G/password" "$T/gpw" && chmod 600 "$T/gpw"
export MEDVAULT_PASSWORD_FILE="$T/gpw"
R="$T/repo"

expect_exit 0 mv snapshots -r "$R" --json
python3 - "$T/out" "$G/snapshots.json" <<'PY'
import json, sys
now, then = json.load(open(sys.argv[1])), json.load(open(sys.argv[2]))
assert [s["id"] for s in now] == [s["id"] for s in then], (now, then)
assert now[0]["paths"] == then[0]["paths"] and now[0]["host"] == "golden"
PY
orig=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["paths"][0])' "$G/snapshots.json")
first=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["id"])' "$G/snapshots.json")
expect_exit 0 mv check -r "$R" --read-data
expect_exit 0 mv restore -r "$R" "$first" --target "$T/restore"
base=$(dirname "$T/restore$orig")
(cd "$base" && golden_manifest) >"$T/manifest"
diff "$G/manifest.txt" "$T/manifest" || fail "golden restore differs from its manifest"

# the second snapshot: a directory of 8,300 entries stored as a split tree
many=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[1]["paths"][0])' "$G/snapshots.json")
expect_exit 0 mv ls -r "$R" latest
[ "$(grep -c "^$many/n[0-9]\{5\}$" "$T/out")" = 8300 ] || fail "ls of the split tree is not 8300 entries"
expect_exit 0 mv restore -r "$R" latest --target "$T/many"
python3 - "$T/many$many" <<'PY'
import os, sys
d = sys.argv[1]
names = sorted(os.listdir(d))
assert names == ["n%05d" % i for i in range(8300)], (len(names), names[:3])
for i, n in enumerate(names):
    p = os.path.join(d, n)
    want = b"%d\n" % i if i % 100 == 0 else b""
    assert open(p, "rb").read() == want, n
    assert os.stat(p).st_mtime_ns == 1_577_836_800_000_000_000, n
PY

# its DICOM catalog: accent- and case-insensitive search, ZIP members too
expect_exit 0 mv find -r "$R" --patient lefevre --json
python3 - "$T/out" <<'PY'
import json, sys
m = json.load(open(sys.argv[1]))
assert sorted(x["path"].rsplit("/", 1)[1] for x in m) == ["IM1.dcm", "IM2.dcm"], m
assert all(x["patient_name"] == "LEFÈVRE^CHLOÉ" and x["modality"] == "MR" for x in m), m
PY
expect_exit 0 mv find -r "$R" --patient "Durand Paul" --json
grep -q '"member": *"CD/IM3.dcm"' "$T/out" || fail "ZIP member not found in the golden catalog"

# damaged twins
flip() { python3 -c '
import sys
p, off = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, "rb").read()); b[off % len(b)] ^= 0x01; open(p, "wb").write(b)' "$1" "$2"; }
twin() { rm -rf "$R" && cp -a "$G/repo" "$R" && chmod -R u+w "$R"; }

twin; flip "$R/config" 40;                        expect_exit 4 mv snapshots -r "$R"
twin; flip "$R/config" 8;                         expect_exit 4 mv snapshots -r "$R"
twin; for k in "$R"/keys/*; do flip "$k" 80; done; expect_exit 12 mv snapshots -r "$R"
twin; for k in "$R"/keys/*; do flip "$k" 2; done;  expect_exit 12 mv snapshots -r "$R"
twin; flip "$(find "$R/index" -type f | head -1)" 100; expect_exit 4 mv check -r "$R"
twin; flip "$(find "$R/snapshots" -type f | head -1)" 60; expect_exit 4 mv check -r "$R"
pack=$(find "$R/data" -type f -size +100k | head -1)
twin; flip "$pack" 5000;                          expect_exit 4 mv check -r "$R" --read-data
twin; flip "$pack" 5000;                          expect_exit 4 mv restore -r "$R" "$first" --target "$T/r2"
twin; flip "$pack" -3;                            expect_exit 4 mv check -r "$R"
twin; truncate -s 1000 "$pack";                   expect_exit 4 mv check -r "$R"
pass
