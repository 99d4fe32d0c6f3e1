#!/usr/bin/env bash
# A damaged newest snapshot file (issue 8 item 6): 'restore latest' and
# 'ls latest' warn, naming the damaged files, use the newest intact snapshot
# and exit 4 (never a silent 0 with older data); a damaged snapshot named by
# its id says "damaged" and exits 4; a bit flipped in config's version
# field is damage (exit 4), not "upgrade medvault".
. "$(dirname "$0")/lib.sh"

R="$T/repo"
S="$T/src"
mkdir -p "$S"
ids=()
for gen in 1 2 3; do
	echo "generation $gen" >"$S/gen$gen.txt"
	head -c 20000 /dev/urandom >"$S/data$gen.bin"
	[ "$gen" = 1 ] && expect_exit 0 mv init -r "$R" --recovery-key-file "$(keyfile)"
	expect_exit 0 mv backup -r "$R" "$S"
	ids+=("$(mv snapshots -r "$R" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["id"])')")
	cp -a "$S" "$T/src$gen"
	sleep 1
done

# flip one byte in the two newest snapshot files
flip() {
	python3 - "$1" <<'PY'
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[len(b) // 2] ^= 1; open(p, "wb").write(b)
PY
}
flip "$R/snapshots/${ids[2]}"
flip "$R/snapshots/${ids[1]}"

expect_exit 4 mv restore -r "$R" latest --target "$T/r"
grep -q "damaged snapshot file '$R/snapshots/${ids[2]}'" "$T/err" || fail "newest damaged file not named"
grep -q "damaged snapshot file '$R/snapshots/${ids[1]}'" "$T/err" || fail "second damaged file not named"
grep -q "snapshot ${ids[0]:0:8} .* is used" "$T/err" || fail "the snapshot used is not said"
# it did its work with the newest intact snapshot
compare_trees "$T/src1" "$T/r$S" || fail "restore did not restore the newest intact snapshot"

expect_exit 4 mv ls -r "$R" latest
grep -q "damaged snapshot file '$R/snapshots/${ids[2]}'" "$T/err" || fail "ls: damaged file not named"
grep -q "^$S/gen1.txt$" "$T/out" || fail "ls did not list the newest intact snapshot"
! grep -q "gen2" "$T/out" || fail "ls lists a damaged snapshot"
mv dump -r "$R" latest >"$T/d.tar" 2>"$T/err" && fail "dump latest exited 0" || [ $? = 4 ] || fail "dump latest: not 4"

# named by id or prefix: damaged, exit 4 (not "no snapshot", 1)
expect_exit 4 mv restore -r "$R" "${ids[2]:0:8}" --target "$T/r2"
grep -q "damaged" "$T/err" || fail "damaged snapshot named by prefix not called damaged"
! grep -q "no snapshot" "$T/err" || fail "damaged snapshot called missing"
expect_exit 4 mv ls -r "$R" "${ids[1]}"
grep -q "damaged" "$T/err" || fail "damaged snapshot named by id not called damaged"
# an intact one named by id: fine, exit 0
expect_exit 0 mv ls -r "$R" "${ids[0]:0:8}"

# every snapshot damaged: exit 4, not 1
flip "$R/snapshots/${ids[0]}"
expect_exit 4 mv restore -r "$R" latest --target "$T/r3"

# a bit flipped in config's version field: damaged, not "upgrade"
R2="$T/repo2"
expect_exit 0 mv init -r "$R2" --recovery-key-file "$(keyfile)"
python3 - "$R2/config" <<'PY'
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[8 + 3] ^= 0x80; open(p, "wb").write(b)
PY
expect_exit 4 mv snapshots -r "$R2"
grep -q "damaged" "$T/err" || fail "flipped version bit not reported as damage"
! grep -qi "upgrade" "$T/err" || fail "flipped version bit blamed on the version"
pass
