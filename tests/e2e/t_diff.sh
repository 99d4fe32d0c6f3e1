#!/usr/bin/env bash
# diff between two snapshots: added, removed (also every file below a removed
# folder), changed (content, metadata only), renamed (removed + added) files;
# the DICOM patients and studies added and removed from the catalogs; the
# summary line; --json parsed; identical snapshots give no change; bad
# arguments and a damaged tree fail.
. "$(dirname "$0")/lib.sh"

S="$T/src"
R="$T/repo"
mkdir -p "$S/keep" "$S/gone/deep" "$S/dcm"
echo same >"$S/keep/same.txt"
echo before >"$S/keep/edit.txt"
echo meta >"$S/keep/meta.txt"
echo old-name >"$S/keep/old.txt"
echo a >"$S/gone/a.txt"
echo b >"$S/gone/deep/b.txt"

# mkdcm FILE PATIENT_ID STUDY_UID: a small DICOM file
mkdcm() {
	python3 - "$@" <<'EOF'
import struct, sys
def el(g, e, vr, v):
    if len(v) % 2:
        v += b"\0" if vr == b"UI" else b" "
    if vr in (b"OB", b"OW"):
        return struct.pack("<HH2sHI", g, e, vr, 0, len(v)) + v
    return struct.pack("<HH2sH", g, e, vr, len(v)) + v
meta = el(2, 0x10, b"UI", b"1.2.840.10008.1.2.1")
out = b"\0" * 128 + b"DICM" + el(2, 0, b"UL", struct.pack("<I", len(meta))) + meta
out += el(8, 0x18, b"UI", (sys.argv[3] + ".9").encode())
out += el(0x10, 0x10, b"PN", b"Doe^" + sys.argv[2].encode())
out += el(0x10, 0x20, b"LO", sys.argv[2].encode())
out += el(0x20, 0x0D, b"UI", sys.argv[3].encode())
out += el(0x7FE0, 0x10, b"OW", b"\1\2\3\4")
open(sys.argv[1], "wb").write(out)
EOF
}
mkdcm "$S/dcm/p1.dcm" PID1 1.2.3.1
mkdcm "$S/dcm/p2.dcm" PID2 1.2.3.2

init_backup "$R" "$S"
id1=$(mv snapshots -r "$R" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')

# identical snapshots: nothing listed, zeros in the summary
expect_exit 0 mv backup -r "$R" "$S"
expect_exit 0 mv diff -r "$R" "$id1" latest
grep -q '^Files: 0 new, 0 removed, 0 changed$' "$T/out" || fail "identical: $(cat "$T/out")"
[ "$(grep -c '^[-+MU] ' "$T/out" || true)" = 0 ] || fail "identical snapshots listed changes"

echo after-edit >"$S/keep/edit.txt"
touch -d '2001-02-03 04:05:06' "$S/keep/meta.txt"
command mv "$S/keep/old.txt" "$S/keep/new.txt"
echo added >"$S/keep/added.txt"
rm -rf "$S/gone"
rm "$S/dcm/p2.dcm"
mkdcm "$S/dcm/p3.dcm" PID3 1.2.3.3
mkdcm "$S/dcm/p1b.dcm" PID1 1.2.3.4
expect_exit 0 mv backup -r "$R" "$S"

expect_exit 0 mv diff -r "$R" "$id1" latest
out="$T/diff.txt"
cp "$T/out" "$out"
p=${S#/}
want() { grep -qxF -- "$1" "$out" || { cat "$out"; fail "missing line '$1'"; }; }
want "M    /$p/keep/edit.txt"
want "U    /$p/keep/meta.txt"
want "-    /$p/keep/old.txt"
want "+    /$p/keep/new.txt"
want "+    /$p/keep/added.txt"
want "-    /$p/gone/"
want "-    /$p/gone/a.txt"
want "-    /$p/gone/deep/"
want "-    /$p/gone/deep/b.txt"
want "-    /$p/dcm/p2.dcm"
want "+    /$p/dcm/p3.dcm"
want "+    /$p/dcm/p1b.dcm"
want "Files: 4 new, 4 removed, 2 changed"
want "Dirs:  0 new, 2 removed"
# PID3 is new, PID2 gone (PID1 stays); studies .3 and .4 new, .2 gone
want "DICOM: 1 patients added, 1 removed; 2 studies added, 1 removed"
grep -q 'same.txt' "$out" && fail "an unchanged file was listed"

# --json: every line parses; the same changes and counts
expect_exit 0 mv diff -r "$R" "$id1" latest --json
python3 - "$T/out" "/$p" <<'EOF'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
p = sys.argv[2]
ch = {(l["modifier"], l["path"]) for l in lines if l["message_type"] == "change"}
for want in [("M", p + "/keep/edit.txt"), ("U", p + "/keep/meta.txt"), ("-", p + "/keep/old.txt"),
             ("+", p + "/keep/new.txt"), ("-", p + "/gone/deep/b.txt"), ("+", p + "/dcm/p3.dcm")]:
    assert want in ch, (want, ch)
st = lines[-1]
assert st["message_type"] == "statistics", st
assert st["added"]["files"] == 4 and st["removed"]["files"] == 4 and st["changed"]["files"] == 2, st
assert st["removed"]["dirs"] == 2, st
assert st["dicom"] == {"patients_added": 1, "patients_removed": 1, "studies_added": 2,
                       "studies_removed": 1}, st
EOF

# the other way round: what was added is now removed
expect_exit 0 mv diff -r "$R" latest "$id1"
grep -qxF -- "+    /$p/gone/deep/b.txt" "$T/out" || fail "reverse diff: $(cat "$T/out")"
grep -qxF -- "-    /$p/keep/new.txt" "$T/out" || fail "reverse diff: $(cat "$T/out")"

# usage errors and unknown snapshots
expect_exit 2 mv diff -r "$R" "$id1"
expect_exit 2 mv diff -r "$R" a b c
expect_exit 1 mv diff -r "$R" "$id1" ffffffff
expect_exit 10 mv diff -r "$T/none" "$id1" latest

# a lost pack: the diff cannot be complete and says so (never exit 0)
for f in "$R"/data/*/*; do
	command mv "$f" "$T/"
done
expect_exit_in "1 4" mv diff -r "$R" "$id1" latest
grep -q 'incomplete' "$T/err" || fail "no word on the incomplete diff: $(cat "$T/err")"
pass
