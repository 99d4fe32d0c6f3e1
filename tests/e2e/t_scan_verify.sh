#!/usr/bin/env bash
# scan -r says honestly that it only looked the files up in the index; scan
# -r --verify reads the repository's copies back and authenticates them (as
# wipe does before it removes anything): intact, exit 0; one flipped byte in
# a pack, exit 4 and the files using that blob named as damaged, the others
# still backed up.
. "$(dirname "$0")/lib.sh"

R="$T/repo"
two_files_src "$T/src" 3000000 victim.bin intact.bin small.txt
init_backup "$R" "$T/src"

# ---- looked up, not read
expect_exit 0 mv scan -r "$R" "$T/src"
grep -q "backed up: .*looked up in the index, not read; use --verify" "$T/out" ||
	fail "scan -r does not say that it only looked the files up"
expect_exit 0 mv scan -r "$R" --json "$T/src"
python3 - "$T/out" <<'PY' || fail "scan -r --json does not say the copies were not read"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
files = [l for l in lines if l["message_type"] == "file"]
s = [l for l in lines if l["message_type"] == "summary"][0]
assert len(files) == 3 and all(f["status"] == "backed_up" and f["verified"] is False for f in files), files
assert s["backed_up"]["verified"] is False and "damaged" not in s, s
PY

# ---- intact: read back, exit 0
expect_exit 0 mv scan -r "$R" --verify -v "$T/src"
grep -q "backed up: .*read back and authenticated" "$T/out" || fail "scan --verify summary"
grep -q "damaged in repository: 0 files" "$T/out" || fail "scan --verify damaged count"
[ "$(grep -c '^in snapshot ' "$T/out")" = 3 ] || fail "scan --verify: not every file backed up"
expect_exit 2 mv scan --verify "$T/src"

# ---- one flipped byte in a pack
flip() { python3 -c '
import sys
p, off = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, "rb").read()); b[off] ^= 0x40; open(p, "wb").write(b)' "$1" "$2"; }
pack=$(find "$R/data" -type f | head -1)
flip "$pack" 1000
# looking up does not see it: that is why --verify exists
expect_exit 0 mv scan -r "$R" "$T/src"
expect_exit 4 mv check -r "$R" --read-data
damaged=$(grep -ho "[a-z]*/\(victim\|intact\).bin" "$T/out" "$T/err" | sort -u)
[ "$(echo "$damaged" | wc -l)" = 1 ] || fail "expected check to name one damaged file: $damaged"

expect_exit 4 mv scan -r "$R" --verify -v "$T/src"
grep -q "'$T/src/$damaged': NOT safely backed up: .*blob [0-9a-f]\{8\} damaged" "$T/err" ||
	fail "scan --verify did not name the damaged file with its reason"
[ "$(grep -c "NOT safely backed up" "$T/err")" = 1 ] || fail "scan --verify named other files"
grep -q "^damaged in repository  $T/src/$damaged\$" "$T/out" || fail "scan --verify -v line"
[ "$(grep -c '^in snapshot ' "$T/out")" = 2 ] || fail "the intact files are not backed up"
grep -q "damaged in repository: 1 files" "$T/out" || fail "scan --verify damaged count"

expect_exit 4 mv scan -r "$R" --verify --json "$T/src"
python3 - "$T/out" "$T/src/$damaged" <<'PY' || fail "scan --verify --json"
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1])]
files = {l["path"]: l for l in lines if l["message_type"] == "file"}
s = [l for l in lines if l["message_type"] == "summary"][0]
bad = files.pop(sys.argv[2])
assert bad["status"] == "damaged" and " damaged: " in bad["reason"], bad
assert all(f["status"] == "backed_up" and f["verified"] is True for f in files.values()), files
assert s["damaged"]["files"] == 1 and s["backed_up"]["files"] == 2, s
assert s["backed_up"]["verified"] is True, s
PY
pass
