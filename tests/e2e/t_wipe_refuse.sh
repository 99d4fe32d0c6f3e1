#!/usr/bin/env bash
# What medvault wipe refuses (issue 10, "Bad input"), each time touching
# nothing it should not: a damaged blob in the repository (exit 4); `/`, a
# mount point, a device without --device (exit 2); a file absent from the
# snapshot (refused, exit 3, the rest wiped); a wrong snapshot id; and
# --no-backup-check without --yes and without a terminal. Interrupted
# (SIGINT during the overwrite of a big file): exit 130, files not reached
# intact, and the next run lists that file as "partial" (or finishes it).
# Needs root (loop mount); skipped otherwise.
. "$(dirname "$0")/lib.sh"

loop_mount 400M
cd "$T"
W="$T/mnt"
R="$T/repo"
RD="$T/repo-damaged"
WIPE=(wipe --yes --accept-unreliable-medium)

declare -A MARK
mkmarked() { # mkmarked PATH SIZE
	mkdir -p "$(dirname "$1")"
	MARK[$1]=$(wt marker)
	wt mkfile "$1" "$2" "${MARK[$1]}"
}
mkmarked "$W/keep/DUPONT^JEAN_1961/k1.dcm" 100000
mkmarked "$W/keep/DUPONT^JEAN_1961/k2.dcm" 5000
mkmarked "$W/abs/old.dcm" 30000
mkmarked "$W/int/a_small.dcm" 20000
mkmarked "$W/int/z_small.dcm" 20000
BIG="$W/int/m_big.raw"
mkmarked "$BIG" $((256 << 20))
mkdir -p "$W/dmg"
head -c 2000000 /dev/urandom >"$W/dmg/victim.dcm"
sync
init_backup "$R" "$W"
init_backup "$RD" "$W/dmg"
# created after the backups: in no snapshot
mkmarked "$W/abs/new.dcm" 30000
mkmarked "$W/scratch/s1.tmp" 10000
mkmarked "$W/scratch/sub/s2.tmp" 10000
sync

# refused_untouched CODE|nonzero DIR cmd...: the command exits CODE (any
# non-zero code for "nonzero") and DIR is byte for byte what it was
refused_untouched() {
	local code=$1 dir=$2
	shift 2
	local before
	before=$(wt treehash "$dir")
	if [ "$code" = nonzero ]; then
		set +e
		"$@" >"$T/out" 2>"$T/err" </dev/null
		local rc=$?
		set -e
		[ "$rc" != 0 ] || fail "'$*' exited 0, expected a refusal"
	else
		expect_exit "$code" "$@" </dev/null
	fi
	[ "$(wt treehash "$dir")" = "$before" ] || fail "'$*' changed $dir"
}

# `/`: a dry run first (if that is not refused, a real run is not tried)
refused_untouched 2 "$W" timeout 60 "$MV_BIN" wipe -r "$R" --snapshot latest --dry-run /
refused_untouched 2 "$W" timeout 60 "$MV_BIN" "${WIPE[@]}" -r "$R" --snapshot latest /
# a mount point, and a device path without --device
refused_untouched 2 "$W" mv "${WIPE[@]}" -r "$R" --snapshot latest "$W"
dev=$(findmnt -n -o SOURCE --target "$W")
[ -b "$dev" ] || fail "no block device under $W: '$dev'"
refused_untouched 2 "$W" mv "${WIPE[@]}" -r "$R" --snapshot latest "$dev"

# a wrong snapshot id, and a snapshot of another repository
refused_untouched nonzero "$W" mv "${WIPE[@]}" -r "$R" --snapshot 0123456789abcdef "$W/keep"
other=$(mv snapshots -r "$RD" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
refused_untouched nonzero "$W" mv "${WIPE[@]}" -r "$R" --snapshot "$other" "$W/keep"

# a damaged blob: a flipped byte in the middle of the repository's largest
# pack (it holds the file's data); the file is refused (exit 4), untouched
pack=$(find "$RD/data" -type f -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2)
wt flip "$pack" $(($(stat -c %s "$pack") / 2))
refused_untouched 4 "$W" mv "${WIPE[@]}" -r "$RD" --snapshot latest --certificate "$T/dmg.json" "$W/dmg"
grep -q "victim.dcm" "$T/out" "$T/err" || fail "the refused file is not named"
[ "$(wt status "$T/dmg.json" "$W/dmg/victim.dcm")" = refused ] || fail "certificate: victim.dcm not 'refused'"

# a file absent from the snapshot: refused (3), the one beside it wiped
sum=$(sha256sum <"$W/abs/new.dcm")
expect_exit 3 mv "${WIPE[@]}" -r "$R" --snapshot latest --certificate "$T/abs.json" "$W/abs"
grep -q "new.dcm" "$T/out" "$T/err" || fail "the absent file is not named"
[ "$(sha256sum <"$W/abs/new.dcm")" = "$sum" ] || fail "the file absent from the snapshot was touched"
[ ! -e "$W/abs/old.dcm" ] || fail "the backed-up file beside it was not wiped"
[ "$(wt status "$T/abs.json" "$W/abs/new.dcm")" = refused ] || fail "certificate: new.dcm not 'refused'"

# --no-backup-check: asks, so without a terminal and without --yes it refuses
refused_untouched nonzero "$W" mv wipe -r "$R" --snapshot latest --accept-unreliable-medium \
	--no-backup-check "$W/scratch"
expect_exit 0 mv "${WIPE[@]}" -r "$R" --snapshot latest --no-backup-check --certificate "$T/nbc.json" "$W/scratch"
[ ! -e "$W/scratch/s1.tmp" ] && [ ! -e "$W/scratch/sub/s2.tmp" ] || fail "--no-backup-check --yes did not wipe"
[ "$(wt status "$T/nbc.json" "$W/scratch/sub/s2.tmp")" = wiped ] || fail "certificate: s2.tmp not 'wiped'"

# interrupted: SIGINT once the overwrite of the big file has begun
declare -A SUM
for f in "$W/int/a_small.dcm" "$W/int/z_small.dcm"; do SUM[$f]=$(sha256sum <"$f"); done
keep=$(wt treehash "$W/keep")
python3 - "$BIG" "${MARK[$BIG]}" "$T/int.out" "$T/int.err" "$MV_BIN" "${WIPE[@]}" -r "$R" \
	--snapshot latest --passes 3 --certificate "$T/int.json" "$W/int" >"$T/int.rc" <<'PY'
import os, signal, subprocess, sys, time
big, mark, out, err, cmd = sys.argv[1], sys.argv[2].encode(), sys.argv[3], sys.argv[4], sys.argv[5:]
p = subprocess.Popen(cmd, stdin=subprocess.DEVNULL, stdout=open(out, "wb"), stderr=open(err, "wb"))
deadline = time.time() + 60
# the overwrite has begun once medvault has written 16 MiB: seen in its
# /proc/PID/io, without opening the file (wipe holds a lease on it: an open
# would wait until the file is done)
began = False
while time.time() < deadline and p.poll() is None:
    try:
        with open("/proc/%d/io" % p.pid) as f:
            io = dict(l.split(": ") for l in f.read().splitlines())
        if int(io["write_bytes"]) + int(io.get("cancelled_write_bytes", 0)) > 16 << 20:
            began = True
            break
    except (FileNotFoundError, ProcessLookupError, KeyError, ValueError):
        pass
    time.sleep(0.002)
if p.poll() is None:
    p.send_signal(signal.SIGINT)
try:
    rc = p.wait(60)
except subprocess.TimeoutExpired:
    p.kill()
    rc = "hung"
print(rc, "began" if began else "not-begun")
PY
read -r rc began <"$T/int.rc"
[ "$began" = began ] || fail "the overwrite of the big file was not seen to begin (exit $rc): $(cat "$T/int.err")"
[ "$rc" = 130 ] || fail "interrupted wipe exited $rc, expected 130 (0: it finished before the signal?): $(cat "$T/int.err")"
[ -e "$BIG" ] || fail "the interrupted file is gone"
for f in "$W/int/a_small.dcm" "$W/int/z_small.dcm"; do # wiped entirely, or untouched
	[ ! -e "$f" ] || [ "$(sha256sum <"$f")" = "${SUM[$f]}" ] || fail "$f was touched but not wiped"
done
[ "$(wt treehash "$W/keep")" = "$keep" ] || fail "the interrupted wipe touched files outside its paths"
# the next run: the big file is "partial" (or the run finishes it)
expect_exit_in "0 3" mv "${WIPE[@]}" -r "$R" --snapshot latest --certificate "$T/int2.json" "$W/int"
st=$(wt status "$T/int2.json" "$BIG")
case "$st" in
partial) ;;
wiped) [ ! -e "$BIG" ] || fail "the re-run says the big file is wiped, but it is there" ;;
*) fail "the next run lists the interrupted file as '$st', expected partial (or wiped)" ;;
esac
[ ! -e "$W/int/a_small.dcm" ] && [ ! -e "$W/int/z_small.dcm" ] || { cat "$T/out" "$T/err"; fail "the re-run did not wipe the small files"; }

# what was never wiped is intact: the kept set and the damaged repository's file
for f in "$W/keep/DUPONT^JEAN_1961/k1.dcm" "$W/keep/DUPONT^JEAN_1961/k2.dcm"; do
	[ "$(head -c 32 "$f")" = "${MARK[$f]}" ] || fail "$f changed"
done
unmount_image
wt count "$T/disk.img" "${MARK[$W/keep/DUPONT^JEAN_1961/k1.dcm]}" "${MARK[$W/abs/new.dcm]}" \
	"${MARK[$W/abs/old.dcm]}" "${MARK[$W/scratch/s1.tmp]}" >"$T/counts"
read -r n _ < <(sed -n 1p "$T/counts")
[ "$n" -gt 0 ] || fail "the kept file's marker is not in the image"
read -r n _ < <(sed -n 2p "$T/counts")
[ "$n" -gt 0 ] || fail "the refused file's marker is not in the image"
read -r n _ < <(sed -n 3p "$T/counts")
[ "$n" = 0 ] || fail "the wiped old.dcm's marker remains in the image"
read -r n _ < <(sed -n 4p "$T/counts")
[ "$n" = 0 ] || fail "the wiped s1.tmp's marker remains in the image"
pass
