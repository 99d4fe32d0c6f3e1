#!/usr/bin/env bash
# A source that holds no file, or far fewer files than in the previous
# snapshot of the same host and paths (an unmounted share, a disk that did
# not mount), gives a warning naming what was expected and found and exit
# 3; the snapshot is still saved and lists the warning; --allow-empty and
# --allow-shrink say it is intended. A missing source stays an error.
. "$(dirname "$0")/lib.sh"

R="$T/repo"
expect_exit 0 mv init -r "$R" --recovery-key-file "$(keyfile)"

nsnap() { mv snapshots -r "$R" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))'; }
# the errors recorded in the latest snapshot, one "path: message" a line
last_errors() {
	mv snapshots -r "$R" --json | python3 -c '
import json, sys
s = json.load(sys.stdin)[-1]
for e in s.get("errors", []):
    print(e["path"] + ": " + e["message"])'
}
short_id() { mv snapshots -r "$R" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)['"$1"']["short_id"])'; }
fill() { # fill DIR COUNT
	mkdir -p "$1/sub"
	for i in $(seq 1 "$2"); do echo "file $i" >"$1/sub/f$i.dcm"; done
}

# --- an unmounted share: the mount point is an empty folder
S="$T/imaging"
mkdir -p "$S"
if [ "$(id -u)" = 0 ] && mount -t tmpfs -o size=8m mvtest "$S" 2>/dev/null; then
	MOUNTS+=("$S")
	unmount() { umount "$S"; }
else
	unmount() { rm -rf "$T/away" && command mv "$S" "$T/away" && mkdir "$S"; }
fi
fill "$S" 150
expect_exit 0 mv backup -r "$R" "$S"
good=$(short_id -1)
unmount
[ -z "$(ls -A "$S")" ] || fail "the share is still mounted"

before=$(nsnap)
expect_exit 3 mv backup -r "$R" "$S"
grep -qF "'$S': holds 0 files; its previous snapshot $good held 150: is the disk mounted? use --allow-shrink if this is intended" "$T/err" ||
	fail "no clear warning for an unmounted share: $(cat "$T/err")"
grep -q "snapshot .* saved" "$T/out" || fail "the snapshot was not saved"
[ "$(nsnap)" = $((before + 1)) ] || fail "no snapshot recorded the run"
last_errors | grep -qF "$S: holds 0 files; its previous snapshot $good held 150" ||
	fail "the snapshot does not list the warning: $(last_errors)"
expect_exit 0 mv snapshots -r "$R"
grep -qF "warning: '$S': holds 0 files; its previous snapshot $good held 150" "$T/out" ||
	fail "snapshots does not show the warning: $(cat "$T/out")"

# the second night of an unmounted disk warns again, against the good one
expect_exit 3 mv backup -q -r "$R" "$S"
grep -qF "its previous snapshot $good held 150" "$T/err" || fail "second night: $(cat "$T/err")"
[ ! -s "$T/out" ] || fail "-q printed: $(cat "$T/out")"
expect_exit 3 mv backup -r "$R" --json "$S"
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["suspect_sources"]==1 and d["unreadable"]==0, d' "$T/out" ||
	fail "--json does not count the suspect source"
# --force reads everything and takes no parent: still checked
expect_exit 3 mv backup -r "$R" --force "$S"
grep -qF "its previous snapshot $good held 150" "$T/err" || fail "--force: $(cat "$T/err")"

# said to be intended: exit 0, no warning, nothing listed
expect_exit 0 mv backup -r "$R" --allow-shrink "$S"
[ ! -s "$T/err" ] || fail "--allow-shrink still warns: $(cat "$T/err")"
[ -z "$(last_errors)" ] || fail "--allow-shrink snapshot lists: $(last_errors)"
# ... and that snapshot is the new reference: an empty source still needs --allow-empty
expect_exit 3 mv backup -r "$R" "$S"
grep -qF "holds 0 files, as in its previous snapshot" "$T/err" && grep -qF -- "--allow-empty" "$T/err" ||
	fail "empty again: $(cat "$T/err")"
expect_exit 0 mv backup -r "$R" --allow-empty "$S"

# --- far fewer files: fewer than half of at least 100
P="$T/pacs"
fill "$P" 3832
expect_exit 0 mv backup -r "$R" "$P"
ref=$(short_id -1)
rm -f "$P"/sub/f1[0-9][0-9][0-9].dcm "$P"/sub/f[2-9][0-9][0-9].dcm "$P"/sub/f3[0-9][0-9][0-9].dcm
n=$(find "$P" -type f | wc -l)
[ "$n" -lt 1916 ] || fail "test setup: $n files left"
nc=$(python3 -c "print('{:,}'.format($n))") # 1,199
expect_exit 3 mv backup -r "$R" "$P"
grep -qF "'$P': holds $nc files; its previous snapshot $ref held 3,832: is the disk mounted? use --allow-shrink if this is intended" "$T/err" ||
	fail "no clear warning for a shrunk source: $(cat "$T/err")"
expect_exit 0 mv backup -r "$R" --allow-shrink "$P"
expect_exit 0 mv backup -r "$R" "$P" # the intended shrink is the new reference

# exactly half is not "far fewer"; a small source (under 100 files) may shrink
H="$T/half"
fill "$H" 200
expect_exit 0 mv backup -r "$R" "$H"
rm -f "$H"/sub/f1[0-9][0-9].dcm "$H"/sub/f200.dcm
[ "$(find "$H" -type f | wc -l)" = 99 ] || fail "test setup (half)"
expect_exit 3 mv backup -r "$R" "$H"
grep -qF "holds 99 files; its previous snapshot" "$T/err" || fail "99 of 200: $(cat "$T/err")"
fill "$H" 100
expect_exit 0 mv backup -r "$R" --allow-shrink "$H"
rm -f "$H"/sub/f[5-9][1-9].dcm "$H"/sub/f[6-9]0.dcm "$H"/sub/f100.dcm
[ "$(find "$H" -type f | wc -l)" = 50 ] || fail "test setup (half): $(find "$H" -type f | wc -l)"
expect_exit 0 mv backup -r "$R" "$H"
L="$T/little"
fill "$L" 99
expect_exit 0 mv backup -r "$R" "$L"
rm -f "$L"/sub/f[1-9][0-9].dcm
expect_exit 0 mv backup -r "$R" "$L"

# --- an empty folder backed up for the first time
E="$T/empty"
mkdir -p "$E/a/b"
expect_exit 3 mv backup -r "$R" "$E"
grep -qF "'$E': holds 0 files: is the disk mounted? use --allow-empty if this is intended" "$T/err" ||
	fail "empty first backup: $(cat "$T/err")"
expect_exit 0 mv backup -r "$R" --allow-empty "$E"
[ ! -s "$T/err" ] || fail "--allow-empty still warns: $(cat "$T/err")"

# --- several paths: the empty one is named with what it held
A="$T/multi/a" B="$T/multi/b"
fill "$A" 30
fill "$B" 5
expect_exit 0 mv backup -r "$R" "$A" "$B"
ref=$(short_id -1)
rm -rf "$B"/sub
expect_exit 3 mv backup -r "$R" "$A" "$B"
grep -qF "'$B': holds 0 files; its previous snapshot $ref held 5: is the disk mounted?" "$T/err" ||
	fail "several paths: $(cat "$T/err")"
grep -qF "'$A'" "$T/err" && fail "the full path is named too: $(cat "$T/err")"
# all paths together far fewer
fill "$B" 200
expect_exit 0 mv backup -r "$R" --allow-shrink "$A" "$B"
rm -rf "$B"/sub && fill "$B" 20
expect_exit 3 mv backup -r "$R" "$A" "$B"
grep -qF "'$A, $B': hold 50 files together; their previous snapshot" "$T/err" ||
	fail "several paths shrunk: $(cat "$T/err")"

# --- a source that does not exist stays an error: exit 2, nothing saved
before=$(nsnap)
expect_exit 2 mv backup -r "$R" "$T/no-such-dir"
grep -q "cannot back up '$T/no-such-dir'" "$T/err" || fail "missing source: $(cat "$T/err")"
expect_exit 2 mv backup -r "$R" --allow-empty --allow-shrink "$T/no-such-dir"
[ "$(nsnap)" = "$before" ] || fail "a missing source saved a snapshot"
pass
