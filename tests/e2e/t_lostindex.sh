#!/usr/bin/env bash
# A lost index file: readers (restore, ls, dump, check) find the blobs of the
# packs it named in the packs' headers; check says so instead of calling the
# packs leftovers; the next backup writes an index for them.
. "$(dirname "$0")/lib.sh"

R="$T/repo"
mkdir -p "$T/src/a" "$T/src/b"
head -c 1500000 /dev/urandom >"$T/src/a/x.bin"
echo "small" >"$T/src/a/s.txt"
expect_exit 0 mv init -r "$R" --recovery-key-file "$(keyfile)"
expect_exit 0 mv backup -r "$R" "$T/src"
first_index=$(find "$R/index" -type f)
first_pack=$(basename "$(find "$R/data" -type f)")
head -c 1500000 /dev/urandom >"$T/src/b/y.bin"
expect_exit 0 mv backup -r "$R" "$T/src"
[ "$(find "$R/index" -type f | wc -l)" = 2 ] || fail "expected two index files"
cp -a "$R" "$T/pristine"

# 1. The first backup's index file is lost: its pack is intact.
rm "$first_index"
expect_exit 0 mv restore -r "$R" latest --target "$T/r"
compare_trees "$T/src" "$T/r$T/src" || fail "restore without the index file differs"
expect_exit 0 mv ls -r "$R" latest
grep -q "a/x.bin" "$T/out" || fail "ls does not list a/x.bin"
expect_exit 0 mv dump -r "$R" latest "$T/src/a/x.bin" --format tar
tar -xOf "$T/out" >"$T/x.out" 2>/dev/null || fail "dump wrote no tar"
cmp -s "$T/x.out" "$T/src/a/x.bin" || fail "dump without the index file differs"
expect_exit 0 mv check -r "$R" --read-data
grep -q "^$first_pack: pack is in no index; its [0-9]* blobs were read from its header" \
	"$T/out" || fail "check did not name the unindexed pack: $(cat "$T/out")"
grep -q "left by an interrupted backup" "$T/out" && fail "check calls the pack a leftover"

# 2. The next backup writes an index for it.
expect_exit 0 mv backup -r "$R" "$T/src"
expect_exit 0 mv check -r "$R"
grep -q "in no index" "$T/out" && fail "the backup did not index the pack"

# 3. Every index file lost: everything is still restored from pack headers.
rm -rf "$R" && cp -a "$T/pristine" "$R"
rm "$R"/index/*
rm -rf "$T/r"
expect_exit 0 mv restore -r "$R" latest --target "$T/r"
compare_trees "$T/src" "$T/r$T/src" || fail "restore without any index file differs"
pass
