#!/usr/bin/env bash
# After an interrupted wipe, if the half-overwritten file is gone (removed by
# the user, or the run was killed between the unlink and the "ends" record),
# every later wipe with this repository lists it in its report and signed
# certificate as "partial ... not among the paths of this run: wipe it
# again" -- advice that cannot be followed -- and the journal is never
# cleared (all_resumed stays 0). Each later certificate thus certifies a
# partial overwrite that it did not perform.
# core/wipe/wipe.c report_pending() / mv_wipe_files() journal reset.
. "$(dirname "$0")/common.sh"
mount_ext4 400M
D="$MNT/IMAGERIE"; mkdir -p "$D" "$MNT/X" "$MNT/Y"
head -c 150000000 /dev/urandom >"$D/big.dcm"; head -c 2000 /dev/urandom >"$MNT/X/x.dcm"; head -c 2000 /dev/urandom >"$MNT/Y/y.dcm"; sync
R="$T/repo"; init_backup "$R" "$D" "$MNT/X" "$MNT/Y"
start_until_overwrite "$D/big.dcm" "$T/o1" "${WIPE[@]}" -r "$R" --snapshot latest --passes 5 "$D"
kill -INT $BG_PID; wait $BG_PID
[ -e "$D/big.dcm" ] || { echo "SKIP: finished before the interrupt"; exit 77; }
rm -rf "$D" # the user throws the damaged file away
mvt "${WIPE[@]}" -r "$R" --snapshot latest --certificate "$T/x.json" "$MNT/X" >"$T/o2" 2>&1
mvt "${WIPE[@]}" -r "$R" --snapshot latest --certificate "$T/y.json" "$MNT/Y" >"$T/o3" 2>&1; rc=$?
grep -v '^medium\|^note' "$T/o3"
grep -q 'big.dcm' "$T/o3" && bug "a file that no longer exists is still certified as partially overwritten, run after run (exit $rc)"
ok "stale entry dropped"
