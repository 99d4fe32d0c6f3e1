#!/usr/bin/env bash
# Stale and conflicting locks (FORMAT.md section 10): the lock of a killed
# backup does not block the next one and is removed by it; two backups run
# together; a backup waits for (--retry-lock) or refuses an exclusive holder;
# a damaged lock file blocks and is never removed automatically; a lock of
# another host blocks until it is removed; a lock written before this host's
# last boot (another boot id) is removed although its pid runs.
. "$(dirname "$0")/lib.sh"

R="$T/repo"
mkdir -p "$T/src"
for i in $(seq 1 16); do head -c 3000000 /dev/urandom >"$T/src/f$i.bin"; done
expect_exit 0 mv init -r "$R" --recovery-key-file "$(keyfile)"

locks() { ls "$R/locks"; }

# wait_lock PID: waits until PID has a lock file in the repository (a new
# name beside those listed in $before), then stops the process there.
wait_lock_stop() {
	local pid=$1
	for _ in $(seq 1 400); do
		[ "$(locks | wc -l)" -gt "$nbefore" ] && break
		sleep 0.01
	done
	kill -STOP "$pid"
	[ "$(locks | wc -l)" -gt "$nbefore" ] || fail "process $pid took no lock (or finished first)"
}

# 1. kill -9 of a backup mid-run: the next backup needs no unlock, and
# removes the stale lock.
"$MV_BIN" backup -r "$R" "$T/src" >/dev/null 2>&1 &
pid=$!
nbefore=0
wait_lock_stop "$pid"
kill -9 "$pid"
wait "$pid" 2>/dev/null || true
[ "$(locks | wc -l)" -eq 1 ] || fail "the killed backup left no lock"
expect_exit 0 mv backup -r "$R" "$T/src"
[ -z "$(locks)" ] || fail "the stale lock of the killed backup was not removed: $(locks)"

# 2. Two backups started together both succeed (shared locks).
echo more >"$T/src/new.txt"
"$MV_BIN" backup -r "$R" "$T/src" >"$T/b1.out" 2>&1 &
p1=$!
"$MV_BIN" backup -r "$R" "$T/src" >"$T/b2.out" 2>&1 &
p2=$!
wait "$p1" || fail "first of two backups failed: $(cat "$T/b1.out")"
wait "$p2" || fail "second of two backups failed: $(cat "$T/b2.out")"
expect_exit 0 mv check -r "$R"

# 3. An exclusive holder (check takes one, as prune does): a backup refuses
# (11), waits in vain with a short --retry-lock, and runs once it is gone.
"$MV_BIN" check -r "$R" --read-data >/dev/null 2>&1 &
cpid=$!
nbefore=0
wait_lock_stop "$cpid"
expect_exit 11 mv backup -r "$R" "$T/src"
grep -q "locked exclusively by pid $cpid" "$T/err" || fail "lock message: $(cat "$T/err")"
start=$(date +%s%N)
expect_exit 11 mv backup -r "$R" "$T/src" --retry-lock 2s
elapsed=$((($(date +%s%N) - start) / 1000000))
[ "$elapsed" -ge 1900 ] || fail "--retry-lock 2s gave up after $elapsed ms"
"$MV_BIN" backup -r "$R" "$T/src" --retry-lock 1m >"$T/b3.out" 2>&1 &
bpid=$!
sleep 2
kill -0 "$bpid" 2>/dev/null || fail "backup --retry-lock did not wait: $(cat "$T/b3.out")"
grep -q "waiting for it up to 60 s" "$T/b3.out" || fail "no word of the wait: $(cat "$T/b3.out")"
n=$(ls "$R/snapshots" | wc -l)
kill -CONT "$cpid"
wait "$cpid" || fail "the check holding the lock failed"
wait "$bpid" || fail "backup --retry-lock failed after the lock went: $(cat "$T/b3.out")"
[ "$(ls "$R/snapshots" | wc -l)" -eq $((n + 1)) ] || fail "backup --retry-lock wrote no snapshot"
expect_exit 2 mv backup -r "$R" "$T/src" --retry-lock soon

# 4. A damaged lock file blocks every command (its holder is unknown), and
# neither the automatic cleanup nor unlock removes it.
bad=$(printf '%064d' 0)
head -c 200 /dev/urandom >"$R/locks/$bad"
expect_exit 11 mv backup -r "$R" "$T/src"
grep -q "damaged" "$T/err" && grep -q "$bad" "$T/err" || fail "damaged lock message: $(cat "$T/err")"
expect_exit 11 mv check -r "$R"
expect_exit 0 mv unlock -r "$R"
grep -q "$bad" "$T/err" || fail "unlock does not name the damaged lock: $(cat "$T/err")"
[ -f "$R/locks/$bad" ] || fail "the damaged lock file was removed"
command rm "$R/locks/$bad"
expect_exit 0 mv backup -r "$R" "$T/src"

# 5 and 6 need namespaces (another host name, another boot id).
if ! unshare -u true 2>/dev/null || ! unshare -m true 2>/dev/null; then
	echo "note: no namespaces here; the other-host and other-boot parts are skipped"
	pass
	exit 0
fi

# 5. An exclusive lock of another host, younger than 30 minutes, blocks (its
# holder cannot be asked) and is not removed; --retry-lock waits for its
# removal.
unshare -u sh -c 'hostname otherhost && exec "$0" check -r "$1" --read-data' "$MV_BIN" "$R" \
	>/dev/null 2>&1 &
opid=$!
nbefore=0
wait_lock_stop "$opid"
kill -9 "$opid"
wait "$opid" 2>/dev/null || true
other=$(locks)
expect_exit 11 mv backup -r "$R" "$T/src"
grep -q "host 'otherhost'" "$T/err" || fail "other-host lock message: $(cat "$T/err")"
[ "$(locks)" = "$other" ] || fail "the lock of another host was removed"
"$MV_BIN" backup -r "$R" "$T/src" --retry-lock 1m >"$T/b4.out" 2>&1 &
bpid=$!
sleep 1.5
kill -0 "$bpid" 2>/dev/null || fail "backup --retry-lock did not wait: $(cat "$T/b4.out")"
command rm "$R/locks/$other"
wait "$bpid" || fail "backup --retry-lock failed after the lock was removed: $(cat "$T/b4.out")"

# 6. An exclusive lock written before this host's last boot is stale even
# though a process with its pid runs (here: the holder itself, stopped, in a
# mount namespace that shows it another boot id).
printf '01234567-89ab-cdef-0123-456789abcdef\n' >"$T/boot_id"
unshare -m sh -c 'mount --bind "$2" /proc/sys/kernel/random/boot_id &&
	exec "$0" check -r "$1" --read-data' "$MV_BIN" "$R" "$T/boot_id" >/dev/null 2>&1 &
zpid=$!
nbefore=0
wait_lock_stop "$zpid"
kill -0 "$zpid" || fail "the holder of the other-boot lock is gone"
expect_exit 0 mv backup -r "$R" "$T/src"
[ -z "$(locks)" ] || fail "the lock of the previous boot was not removed: $(locks)"
kill -9 "$zpid"
wait "$zpid" 2>/dev/null || true
expect_exit 0 mv check -r "$R"
pass
