#!/usr/bin/env bash
# repair packs: a flipped byte in one blob of a pack. check --read-data
# fails; repair packs (the pack named, or found by reading every pack)
# stores the pack's other blobs in a new pack and deletes the damaged one;
# only the file that used the damaged blob is lost, which repair snapshots
# then names. Killed after the new packs and index are written, and after
# the index files are rewritten, the repair run again completes.
. "$(dirname "$0")/lib.sh"

R="$T/repo"
S="$T/src"
mkdir -p "$S"
for f in a b c d; do head -c 300000 /dev/urandom >"$S/$f.bin"; done
touch -d "2026-01-01 00:00" "$S"
init_backup "$R" "$S"
pack=$(find "$R/data" -type f)
[ "$(echo "$pack" | wc -l)" = 1 ] || fail "expected one pack"
pid=$(basename "$pack")
# the first blob (data of one of the files: workers store them in any
# order) gets a flipped byte
b=$(od -An -tu1 -j 1000 -N1 "$pack" | tr -d ' ')
printf "$(printf '\\%03o' $(((b + 1) % 256)))" | dd of="$pack" bs=1 seek=1000 conv=notrunc 2>/dev/null
cp -a "$R" "$T/damaged"

expect_exit 4 mv check -r "$R" --read-data
expect_exit 0 mv repair packs -r "$R" --dry-run
grep -q "would salvage" "$T/out" || fail "the dry run did not say what it would salvage: $(cat "$T/out")"
diff -r "$R" "$T/damaged" >/dev/null || fail "--dry-run changed the repository"

check_after() {
	[ -e "$pack" ] && fail "the damaged pack is still there"
	grep -q "cannot be read" "$T/out" || fail "the lost blob was not named: $(cat "$T/out")"
	expect_exit 4 mv check -r "$R" --read-data
	expect_exit 0 mv repair snapshots -r "$R" --forget
	grep "file dropped" "$T/out" | sed "s|.*: $S/||" >"$T/lost"
	[ "$(wc -l <"$T/lost")" = 1 ] || fail "expected one file lost, got: $(cat "$T/out")"
	lost=$(cat "$T/lost")
	expect_exit 0 mv check -r "$R" --read-data
	E="$T/expected"
	rm -rf "$E" "$T/r"
	cp -a "$S" "$E"
	rm "$E/$lost"
	touch -d "2026-01-01 00:00" "$E"
	expect_exit 0 mv restore -r "$R" latest --target "$T/r"
	compare_trees "$E" "$T/r$S" || fail "the salvaged files differ"
	expect_exit 0 mv backup -r "$R" "$S"
	rm -rf "$T/r"
	expect_exit 0 mv restore -r "$R" latest --target "$T/r"
	compare_trees "$S" "$T/r$S" || fail "the backup did not store $lost again"
}

# 1. Every pack read, the damaged one found.
expect_exit 0 mv repair packs -r "$R"
grep -q "1 damaged pack(s) of 1: [0-9]* blob(s) salvaged, 1 lost; 1 pack(s) removed" "$T/out" ||
	fail "repair packs said: $(cat "$T/out")"
check_after

# 2. The pack named; an intact pack named is left alone.
put_back "$T/damaged" "$R"
expect_exit 0 mv repair packs -r "$R" "$pid"
check_after
p2=$(find "$R/data" -type f | head -1)
expect_exit 0 mv repair packs -r "$R" "$(basename "$p2")"
grep -q "pack is intact" "$T/out" || fail "an intact pack was not recognised"
[ -e "$p2" ] || fail "an intact pack was removed"
expect_exit 1 mv repair packs -r "$R" "$pid"
expect_exit 2 mv repair packs -r "$R" nothex

# 3. Killed at each commit point, then run again.
for point in packs-written index-rewritten; do
	put_back "$T/damaged" "$R"
	set +e
	MEDVAULT_TEST_CRASH_AT=$point mv repair packs -r "$R" "$pid" >"$T/out" 2>"$T/err"
	got=$?
	set -e
	[ "$got" = 137 ] || fail "the repair was not killed at $point (exit $got)"
	expect_exit 0 mv unlock -r "$R"
	expect_exit 4 mv check -r "$R" --read-data
	expect_exit 0 mv repair packs -r "$R" "$pid"
	check_after
done
pass
