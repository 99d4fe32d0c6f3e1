#!/usr/bin/env bash
# A local user racing a restore run as root: while root restores into a
# folder that user can write, the user keeps swapping the folders restore
# writes into for symbolic links to a root-owned folder elsewhere. Nothing
# may be written outside the target, and the root-owned file there must
# keep its content, owner and mode (the review saw a root restore turn such
# a file into a set-user-id file with new content).
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
command -v setpriv >/dev/null || { echo "SKIP: no setpriv"; exit 77; }
PY_SYS=/usr/bin/python3
[ -x "$PY_SYS" ] || { echo "SKIP: no /usr/bin/python3 for the attacker (it runs as nobody)"; exit 77; }

R="$T/repo"
mkdir -p "$T/src/sub/deeper"
printf '#!/bin/sh\necho restored\n' >"$T/src/sub/victim" && chmod 4755 "$T/src/sub/victim"
printf 'restored\n' >"$T/src/victim" && chmod 4755 "$T/src/victim"
for i in $(seq 1 60); do head -c 20000 /dev/urandom >"$T/src/sub/f$i"; done
for i in $(seq 1 30); do echo "$i" >"$T/src/sub/deeper/g$i"; done
expect_exit 0 mv init -r "$R" --recovery-key-file "$(keyfile)"
expect_exit 0 mv backup -r "$R" "$T/src"

# the root-owned folder the attacker aims at
mkdir -p "$T/outside"
printf 'original\n' >"$T/outside/victim" && chmod 0644 "$T/outside/victim"
cp -a "$T/outside/victim" "$T/victim.orig"

# the target belongs to the attacker
mkdir -p "$T/att"
chown nobody "$T/att" && chmod 0755 "$T/att"
chmod 0755 "$T"

cat >"$T/attacker.py" <<'PY'
import os, sys, time
target, outside, stop = sys.argv[1], sys.argv[2], sys.argv[3]
names = ["sub", "sub/deeper"]
n = 0
while not os.path.exists(stop):
    for name in names:
        d = os.path.join(target, name)
        try:
            os.rename(d, d + ".moved")
        except OSError:
            pass
        try:
            os.symlink(outside, d)
        except OSError:
            pass
        n += 1
        time.sleep(0.0005)
        try:
            if os.path.islink(d):
                os.unlink(d)
            os.rename(d + ".moved", d)
        except OSError:
            pass
print(n)
PY
runs=20
[ -n "${MEDVAULT_SLOW:-}" ] && runs=8
setpriv --reuid=nobody --regid=nogroup --clear-groups "$PY_SYS" "$T/attacker.py" "$T/att" "$T/outside" "$T/stop" >"$T/swaps" 2>&1 &
apid=$!
for i in $(seq 1 $runs); do
	# the attacker may make this restore fail (exit 1 naming the folder);
	# it must never make it write outside
	"$MV_BIN" restore -r "$R" "latest:$T/src" --target "$T/att" --overwrite always >/dev/null 2>&1 || true
	"$MV_BIN" restore -r "$R" "latest:$T/src" --target "$T/att" --setuid >/dev/null 2>&1 || true
done
touch "$T/stop"
wait "$apid" || true
swaps=$(cat "$T/swaps")
[ "${swaps:-0}" -gt 100 ] || fail "the attacker did not run (swaps: $swaps)"

# nothing outside the target changed
[ "$(ls -A "$T/outside")" = "victim" ] || fail "files written outside the target: $(ls -A "$T/outside")"
cmp -s "$T/outside/victim" "$T/victim.orig" || fail "the root-owned file outside got new content"
[ "$(stat -c '%a %U' "$T/outside/victim")" = "644 root" ] || fail "the root-owned file outside changed mode or owner: $(stat -c '%a %U' "$T/outside/victim")"
[ -z "$(find / -xdev -name '.medvault-*.part' -path "$T/outside/*" 2>/dev/null)" ] || fail "temporary files outside"
# without the attacker the same restore completes
rm -f "$T/stop"
find "$T/att" -type l -delete
expect_exit 0 mv restore -r "$R" "latest:$T/src" --target "$T/att2" --setuid
compare_trees "$T/src" "$T/att2" || fail "restore without the attacker differs"
pass
