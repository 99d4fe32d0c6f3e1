#!/usr/bin/env bash
# kill -9 during a backup: check passes afterwards, and the next backup
# completes and reuses what was already uploaded.
. "$(dirname "$0")/lib.sh"

R="$T/repo"
mkdir -p "$T/src"
for i in $(seq 1 12); do head -c 4000000 /dev/urandom >"$T/src/f$i.bin"; done
expect_exit 0 mv init -r "$R" --recovery-key-file "$(keyfile)"
for delay in 0.3 0.8 1.5; do
	"$MV_BIN" backup -r "$R" "$T/src" >/dev/null 2>&1 &
	pid=$!
	sleep "$delay"
	kill -9 "$pid" 2>/dev/null || true
	wait "$pid" 2>/dev/null || true
	expect_exit 0 mv check -r "$R" --read-data
done
before=$(dir_size "$R")
expect_exit 0 mv backup -r "$R" "$T/src"
expect_exit 0 mv check -r "$R" --read-data
after=$(dir_size "$R")
expect_exit 0 mv restore -r "$R" latest --target "$T/restore"
compare_trees "$T/src" "$T/restore$T/src" || fail "restore after kill differs"
# reuse: data already uploaded is not uploaded again (the whole source is
# 48 MB; at most one pack per killed run may be lost or duplicated)
total=$(dir_size "$T/src")
[ $((after - before)) -lt $((total * 3 / 4)) ] || [ "$before" -lt $((total / 4)) ] ||
	fail "next backup re-uploaded data: before $before after $after"
pass
