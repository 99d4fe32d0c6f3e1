#!/usr/bin/env bash
# repair index: a deleted or damaged index file, then `repair index`: the
# index is rebuilt from the pack headers, the old files go, check passes and
# every snapshot restores byte-identical. Killed between writing the new
# index and removing the old files, the repository still opens, check
# passes, and the repair run again completes. --dry-run changes nothing.
. "$(dirname "$0")/lib.sh"

R="$T/repo"
S="$T/src"
two_files_src "$S" 1500000 x.bin y.bin s.txt
init_backup "$R" "$S"
snap1=$(basename "$(find "$R/snapshots" -type f)")
first_index=$(find "$R/index" -type f)
cp -a "$S" "$T/src1"
echo "more" >"$S/a/more.txt"
head -c 900000 /dev/urandom >"$S/b/z.bin"
expect_exit 0 mv backup -r "$R" "$S"
[ "$(find "$R/index" -type f | wc -l)" = 2 ] || fail "expected two index files"
cp -a "$R" "$T/pristine"

restore_all() {
	rm -rf "$T/r"
	expect_exit 0 mv restore -r "$R" latest --target "$T/r"
	compare_trees "$S" "$T/r$S" || fail "latest differs after repair index"
	rm -rf "$T/r"
	expect_exit 0 mv restore -r "$R" "$snap1" --target "$T/r"
	compare_trees "$T/src1" "$T/r$S" || fail "the first snapshot differs after repair index"
}

# 1. A lost index file; a dry run changes nothing.
rm "$first_index"
expect_exit 0 mv check -r "$R"
grep -q "in no index" "$T/out" || fail "check did not name the unindexed pack"
before=$(ls "$R/index")
expect_exit 0 mv repair index -r "$R" --dry-run
[ "$(ls "$R/index")" = "$before" ] || fail "--dry-run changed the index"
expect_exit 0 mv repair index -r "$R"
grep -q "wrote 1 index file(s), removed 1 old one(s)" "$T/out" || fail "repair index said: $(cat "$T/out")"
[ "$(find "$R/index" -type f | wc -l)" = 1 ] || fail "expected one index file"
[ "$(ls "$R/index")" = "$before" ] && fail "the old index file is still there"
expect_exit 0 mv check -r "$R" --read-data
grep -q "in no index" "$T/out" && fail "check still finds an unindexed pack: $(cat "$T/out")"
restore_all

# 2. A damaged index file (a flipped byte) and a pack that is gone: the
#    first is replaced, the entries of the second are dropped and named.
rm -rf "$R" && cp -a "$T/pristine" "$R"
f=$(find "$R/index" -type f | head -1)
printf '\x55' | dd of="$f" bs=1 seek=40 conv=notrunc 2>/dev/null
expect_exit 4 mv check -r "$R"
expect_exit 0 mv repair index -r "$R"
grep -q "index file(s) cannot be read" "$T/out" || fail "repair index did not name the damaged index file"
expect_exit 0 mv check -r "$R" --read-data
restore_all

# 3. Killed after the new index is written, before the old files go: the
#    repository opens, check passes, every snapshot restores; run again,
#    the repair completes.
rm -rf "$R" && cp -a "$T/pristine" "$R"
rm "$first_index"
set +e
MEDVAULT_TEST_CRASH_AT=index-written mv repair index -r "$R" >"$T/out" 2>"$T/err"
got=$?
set -e
[ "$got" = 137 ] || fail "the repair was not killed at the hook (exit $got)"
[ "$(find "$R/index" -type f | wc -l)" = 2 ] || fail "expected old and new index files"
expect_exit 0 mv unlock -r "$R"
expect_exit 0 mv check -r "$R" --read-data
restore_all
expect_exit 0 mv repair index -r "$R"
[ "$(find "$R/index" -type f | wc -l)" = 1 ] || fail "the second run did not complete"
expect_exit 0 mv check -r "$R" --read-data
restore_all

# 4. Every index file lost.
rm -rf "$R" && cp -a "$T/pristine" "$R"
rm "$R"/index/*
expect_exit 0 mv repair index -r "$R"
expect_exit 0 mv check -r "$R" --read-data
grep -q "in no index" "$T/out" && fail "a pack is still unindexed"
restore_all
pass
