#!/usr/bin/env bash
# DICOM-aware deduplication: a chunk boundary at the start of the pixel data
# lets two exports of the same images with different headers (a corrected
# patient name) share their pixel data. With --plain-chunking (no boundary)
# each small file is one chunk and nothing is shared.
. "$(dirname "$0")/lib.sh"

for mode in dicom plain; do
	R="$T/repo-$mode"
	flag=""; [ $mode = plain ] && flag="--plain-chunking"
	rm -rf "$T/a" "$T/b"
	python3 "$SRC/tests/e2e/mkdicom.py" "$T/a" 20 200000 7 "DUPONT^MARIE"
	expect_exit 0 mv init -r "$R" --recovery-key-file "$(keyfile)"
	expect_exit 0 mv backup -r "$R" $flag "$T/a"
	before=$(dir_size "$R")
	# the same pixels, re-exported with a corrected name (the header grows)
	python3 "$SRC/tests/e2e/mkdicom.py" "$T/b" 20 200000 7 "DUPONT-LEFEVRE^MARIE CLAIRE"
	expect_exit 0 mv backup -r "$R" $flag "$T/b"
	after=$(dir_size "$R")
	added=$((after - before))
	echo "$mode: second export added $added bytes (first: $before)"
	if [ $mode = dicom ]; then
		[ $added -lt $((before / 10)) ] || fail "pixel data not deduplicated: added $added of $before"
	else
		[ $added -gt $((before / 2)) ] || fail "plain chunking unexpectedly deduplicated ($added of $before)"
	fi
	expect_exit 0 mv restore -r "$R" latest --target "$T/restore-$mode"
	compare_trees "$T/b" "$T/restore-$mode$T/b" || fail "restore differs ($mode)"
done
pass
