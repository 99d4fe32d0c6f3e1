#!/usr/bin/env bash
# The walk enters a folder when its st_dev equals the target's, so a bind
# mount of another folder of the same filesystem inside the wiped path is
# entered and the files there -- outside the path given -- are wiped, and
# the bind-mount point itself is not refused as a mount point (SECURITY.md 6b:
# "a mount point ... refused"). Both checks compare st_dev only
# (core/wipe/wipe.c walk() and open_target()); a mount id (statx
# STX_MNT_ID, or /proc/self/mountinfo) would tell.
. "$(dirname "$0")/common.sh"
mount_ext4 64M
D="$MNT/IMG"; O="$MNT/OTHER-PATIENTS"
mkdir -p "$D/P1" "$O"
head -c 100000 /dev/urandom >"$D/P1/a.dcm"
head -c 100000 /dev/urandom >"$O/keep.dcm"
R="$T/repo"; init_backup "$R" "$D" "$O"
mkdir -p "$D/shared"
mount --bind "$O" "$D/shared" || exit 77
mvt "${WIPE[@]}" -r "$R" --snapshot latest "$D" >"$T/o" 2>&1; rc=$?
umount "$D/shared" 2>/dev/null
cat "$T/o"
[ -e "$O/keep.dcm" ] || bug "a file outside the given path (reached through a bind mount) was wiped; exit $rc"
ok "bind mount not entered (exit $rc)"
