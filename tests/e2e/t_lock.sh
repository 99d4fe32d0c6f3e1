#!/usr/bin/env bash
# Locks: check (exclusive) refuses while a backup holds a lock (exit 11);
# a stale lock (dead process) does not block and unlock removes it.
. "$(dirname "$0")/lib.sh"

R="$T/repo"
mkdir -p "$T/src"
for i in $(seq 1 30); do head -c 3000000 /dev/urandom >"$T/src/f$i.bin"; done
expect_exit 0 mv init -r "$R" --recovery-key-file "$(keyfile)"
"$MV_BIN" backup -r "$R" "$T/src" >/dev/null 2>&1 &
pid=$!
wait_for_lock "$R"
expect_exit 11 mv check -r "$R"
grep -qi "lock" "$T/err" || fail "lock message missing"
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
[ -n "$(ls "$R/locks")" ] || fail "the killed backup's lock vanished"
# the holder is dead on this host: the lock is stale and does not block
expect_exit 0 mv check -r "$R"
expect_exit 0 mv unlock -r "$R"
[ -z "$(ls "$R/locks")" ] || fail "unlock did not remove the stale lock"
pass
