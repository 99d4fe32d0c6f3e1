#!/usr/bin/env bash
# stats on a known tree: restore-size counts every file of every snapshot
# (two snapshots of the same tree count twice); raw-data counts two identical
# files once (one data blob), so the deduplication ratio shows it; the
# repository totals match the files on disk; a lost pack is exit 4.
. "$(dirname "$0")/lib.sh"

S="$T/src"
R="$T/repo"
mkdir -p "$S/sub"
head -c 300000 /dev/urandom >"$S/a.bin"
cp "$S/a.bin" "$S/sub/b.bin" # same bytes: one blob
printf 'hello\n' >"$S/c.txt"
init_backup "$R" "$S"
# folders of a snapshot: every component of $S, and sub
dirs=$(($(echo "${S#/}" | tr '/' '\n' | wc -l) + 1))

get() { python3 -c "import json,sys; d=json.load(open('$T/out')); print(eval(sys.argv[1]))" "$1"; }

expect_exit 0 mv stats -r "$R" --json
[ "$(get 'd["mode"]')" = restore-size ] || fail "mode: $(cat "$T/out")"
[ "$(get 'd["snapshots_count"]')" = 1 ] || fail "count: $(cat "$T/out")"
[ "$(get 'd["total_file_count"]')" = 3 ] || fail "files: $(cat "$T/out")"
[ "$(get 'd["total_dir_count"]')" = "$dirs" ] || fail "dirs ($dirs): $(cat "$T/out")"
[ "$(get 'd["total_size"]')" = 600006 ] || fail "size: $(cat "$T/out")"

expect_exit 0 mv stats -r "$R" --mode raw-data --json
[ "$(get 'd["data_blob_count"]')" = 2 ] || fail "data blobs: $(cat "$T/out")"
[ "$(get 'd["data_uncompressed_size"]')" = 300006 ] || fail "raw data: $(cat "$T/out")"
[ "$(get 'd["restore_size"]')" = 600006 ] || fail "restore size: $(cat "$T/out")"
[ "$(get 'round(d["deduplication_ratio"], 3)')" = "$(python3 -c 'print(round(600006/300006, 3))')" ] ||
	fail "dedup ratio: $(cat "$T/out")"
[ "$(get 'd["tree_blob_count"] >= 2')" = True ] || fail "tree blobs: $(cat "$T/out")"
[ "$(get 'd["missing_blob_count"]')" = 0 ] || fail "missing: $(cat "$T/out")"
# stored bytes: sealed (padded) lengths of incompressible data exceed the raw ones
[ "$(get 'd["total_size"] > d["total_uncompressed_size"] > 300006')" = True ] ||
	fail "stored: $(cat "$T/out")"
packs=$(find "$R/data" -type f | wc -l)
pbytes=$(find "$R/data" -type f -printf '%s\n' | awk '{s+=$1} END {print s}')
[ "$(get 'd["repository"]["packs"]')" = "$packs" ] || fail "packs: $(cat "$T/out")"
[ "$(get 'd["repository"]["pack_bytes"]')" = "$pbytes" ] || fail "pack bytes: $(cat "$T/out")"
[ "$(get 'd["repository"]["snapshots"]')" = 1 ] || fail "snapshots: $(cat "$T/out")"
[ "$(get 'd["repository"]["index_files"]')" = "$(ls "$R/index" | wc -l)" ] ||
	fail "index files: $(cat "$T/out")"

# a second snapshot of the same tree: restore-size doubles, raw-data does not
expect_exit 0 mv backup -r "$R" "$S"
expect_exit 0 mv stats -r "$R" --json
[ "$(get 'd["total_file_count"]')" = 6 ] || fail "files x2: $(cat "$T/out")"
[ "$(get 'd["total_size"]')" = 1200012 ] || fail "size x2: $(cat "$T/out")"
expect_exit 0 mv stats -r "$R" --mode raw-data --json
[ "$(get 'd["data_blob_count"]')" = 2 ] || fail "data blobs x2: $(cat "$T/out")"
# one snapshot named: the counts of one
expect_exit 0 mv stats -r "$R" latest --json
[ "$(get 'd["total_file_count"]')" = 3 ] || fail "latest: $(cat "$T/out")"

# human output
expect_exit 0 mv stats -r "$R" --mode raw-data
grep -q 'Deduplication ratio:  4.00x' "$T/out" || fail "human: $(cat "$T/out")"
grep -q '^Repository: ' "$T/out" || fail "human: $(cat "$T/out")"

expect_exit 2 mv stats -r "$R" --mode bogus
expect_exit 1 mv stats -r "$R" ffffffff

# a lost pack (the one holding the trees too): no number is given as true
for f in "$R"/data/*/*; do
	if [ "$(stat -c %s "$f")" -gt 200000 ]; then command mv "$f" "$T/"; fi
done
expect_exit 4 mv stats -r "$R" --mode raw-data
grep -q 'Total' "$T/out" && fail "numbers printed from a damaged repository: $(cat "$T/out")"
[ -s "$T/err" ] || fail "no word on the lost pack"
pass
