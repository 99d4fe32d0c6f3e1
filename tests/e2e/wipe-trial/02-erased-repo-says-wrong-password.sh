#!/usr/bin/env bash
# After `wipe --repository` (crypto-erase) every command that opens the
# repository says "wrong password or recovery key (no key slot opens with it)"
# and exits 12. There is no key slot at all: a doctor or a nightly job is
# sent to look for the right password, or to try the recovery key, forever.
# Expected: say that the repository has no key slots left (crypto-erased,
# see its wipe certificate) and not exit 12 (wrong password).
# core/repo/keys.c / repo open (no distinction between "no slot matched"
# and "no slot exists").
. "$(dirname "$0")/common.sh"
mount_ext4 64M
D="$MNT/IMG"; mkdir -p "$D"; head -c 100000 /dev/urandom >"$D/f.dcm"
R="$T/repo"; init_backup "$R" "$D"
mvt wipe --repository -r "$R" --yes --accept-unreliable-medium --certificate "$T/ce.json" >"$T/o" 2>&1 ||
	bug "crypto-erase failed: $(cat "$T/o")"
mvt snapshots -r "$R" >"$T/o" 2>&1; rc=$?
cat "$T/o"
[ $rc = 12 ] && bug "opening an erased repository exits 12 (wrong password)"
grep -qi 'wrong password' "$T/o" && bug "opening an erased repository says 'wrong password'"
ok "erased repository reported as such (exit $rc)"
