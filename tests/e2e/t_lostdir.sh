#!/usr/bin/env bash
# check counts a folder that cannot be read as the files it held (from the
# snapshot's summary), not as one file.
. "$(dirname "$0")/lib.sh"

R="$T/repo"
mkdir -p "$T/src/d0" "$T/src/e"
for i in 1 2 3 4 5; do echo "file $i" >"$T/src/d0/f$i.txt"; done
for i in 1 2; do echo "other $i" >"$T/src/e/g$i.txt"; done
expect_exit 0 mv init -r "$R" --recovery-key-file "$(keyfile)"
expect_exit 0 mv backup -r "$R" "$T/src"
first=$(basename "$(find "$R/snapshots" -type f)")
first_pack=$(find "$R/data" -type f)
# the folder's tree stays the same blob under its new name: the second
# snapshot's root is in a new pack, its two folders in the first one
command mv "$T/src/d0" "$T/src/d"
expect_exit 0 mv backup -r "$R" "$T/src"
rm "$first_pack"

expect_exit 4 mv check -r "$R"
grep -q "^snapshot ${first:0:8}: 7 of its 7 files are in directories that cannot be read" \
	"$T/out" || fail "check did not count the first snapshot's lost files: $(cat "$T/out")"
[ "$(grep -c ": 7 of its 7 files are in directories that cannot be read" "$T/out")" = 2 ] ||
	fail "check did not count the second snapshot's lost files: $(cat "$T/out")"
grep -q "^damage affects 2 snapshots and 14 files$" "$T/out" ||
	fail "wrong damage count: $(cat "$T/out")"
expect_exit 4 mv check -r "$R" --json
python3 - "$T/out" <<'EOF' || fail "wrong damage count in --json: $(cat "$T/out")"
import json, sys
s = [json.loads(l) for l in open(sys.argv[1]) if '"summary"' in l][0]
sys.exit(0 if s["damaged_files"] == 14 and s["damaged_files_at_least"] is False else 1)
EOF
pass
