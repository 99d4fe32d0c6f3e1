#!/usr/bin/env bash
# On a read-only source filesystem (an old disk mounted ro, as a cautious
# provider would, or one the kernel remounted ro after errors) `wipe
# --dry-run` says "would wipe" every file and exits 0; the real run then
# refuses every file ("Read-only file system") with exit 3 and writes a
# certificate of nothing wiped. The dry run is the provider's plan: it lies.
# Expected: the dry run refuses (or warns about) files it could not open for
# writing / on a read-only mount, as the real run does.
# core/wipe/wipe.c dry-run path (no O_RDWR / statvfs ST_RDONLY check before
# "would wipe").
. "$(dirname "$0")/common.sh"
mount_ext4 64M
D="$MNT/IMG"; mkdir -p "$D"
for i in 1 2; do head -c 100000 /dev/urandom >"$D/f$i.dcm"; done
R="$T/repo"; init_backup "$R" "$D"
mount -o remount,ro "$MNT" || exit 77
mvt "${WIPE[@]}" -r "$R" --snapshot latest --dry-run "$D" >"$T/o" 2>&1; rc=$?
cat "$T/o"
grep -q '^would wipe .*f1.dcm' "$T/o" && bug "dry run says 'would wipe' on a read-only filesystem (exit $rc)"
[ $rc = 0 ] && bug "dry run exits 0 on a read-only filesystem"
ok "dry run refuses on a read-only filesystem"
