#!/usr/bin/env bash
# kill -9 of prune at each step (new packs stored; new index written;
# during the deletion of the old index files; during the deletion of the
# old packs) and at random moments: check passes, every kept snapshot
# restores byte-identical, and a second prune completes the work.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/prunelib.sh"

prune_history "$T/template"
forget_snapshots "$T/template" 2 3
packs0=$(count_files "$T/template/data")
index0=$(count_files "$T/template/index")

# after the kill, the repository is whole and the next prune finishes
recover() {
	local r=$1
	expect_exit 0 mv check -r "$r"
	restore_kept "$r" 1 4 5
	expect_exit 0 mv prune -r "$r"
	expect_exit 0 mv check -r "$r" --read-data
	grep -q "pack is in no index" "$T/out" && fail "a pack in no index remains after the second prune"
	restore_kept "$r" 1 4 5
	expect_exit 0 mv prune -r "$r"
	grep -q "nothing to do" "$T/out" || fail "third prune was not idle: $(cat "$T/out")"
}

for point in after-packs after-index during-index-delete during-delete; do
	R="$T/repo-$point"
	cp -a "$T/template" "$R"
	MEDVAULT_TEST_PRUNE_ABORT=$point expect_exit 137 mv prune -r "$R"
	packs=$(count_files "$R/data")
	index=$(count_files "$R/index")
	# the kill came where it was meant to
	case $point in
	after-packs)
		[ "$packs" -gt "$packs0" ] || fail "$point: no new pack ($packs0 -> $packs)"
		;;
	after-index)
		[ "$index" -gt "$index0" ] || fail "$point: no new index file ($index0 -> $index)"
		[ "$packs" -gt "$packs0" ] || fail "$point: packs were deleted before the old index"
		;;
	during-index-delete)
		[ "$packs" -gt "$packs0" ] || fail "$point: packs were deleted before the old index"
		;;
	during-delete)
		[ "$packs" -lt $((packs0 + 1)) ] || fail "$point: no old pack deleted ($packs0 -> $packs)"
		;;
	esac
	recover "$R"
	rm -rf "$R"
done

# kill -9 at moments nobody chose
for delay in 0.05 0.2 0.4; do
	R="$T/repo-random"
	cp -a "$T/template" "$R"
	"$MV_BIN" prune -r "$R" >/dev/null 2>&1 &
	pid=$!
	sleep "$delay"
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	recover "$R"
	rm -rf "$R"
done
pass
