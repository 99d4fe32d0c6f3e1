#!/usr/bin/env bash
# When the wipe refuses an unreliable medium (the case a provider meets
# first), the one error line is cut at 511 bytes (struct mv_error msg[512]):
# on a loop-mounted image on a virtual disk it ends "...or use the device's
# own e", so the remedy the issue asks to name (ATA/NVMe sanitize, blkdiscard
# --secure) is lost. The notes were sized for the remedy (core/wipe/medium.c
# note() reserves room), the error buffer was not.
# Expected: the refusal message names the remedy whole.
# core/util/err.h (msg[512]) and where the medium refusal is formatted
# (core/wipe/wipe.c / cli/cmd_wipe.c).
. "$(dirname "$0")/common.sh"
mount_ext4 64M
D="$MNT/IMG"; mkdir -p "$D"; head -c 100000 /dev/urandom >"$D/f.dcm"
R="$T/repo"; init_backup "$R" "$D"
mvt wipe -r "$R" --snapshot latest "$D" >"$T/o" 2>&1; rc=$?
cat "$T/o"
[ $rc = 1 ] || { echo "SKIP: medium judged reliable here (exit $rc)"; exit 77; }
grep -q 'blkdiscard --secure' "$T/o" || bug "refusal's remedy cut off: '$(head -1 "$T/o" | tail -c 60)'"
ok "remedy named whole"
