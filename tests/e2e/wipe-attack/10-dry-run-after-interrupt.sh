#!/usr/bin/env bash
# After an interrupted wipe, --dry-run does not open the journal, so it hashes
# the half-overwritten file and says it would be refused ("changed since the
# backup", exit 3), and does not name it as partially overwritten; the real
# run that follows resumes and wipes it (exit 0). A dry run must say what the
# run would do. cli/cmd_wipe.c run_files(): `if (rc == 0 && !a->dry_run)
# rc = journal_open(...)`.
. "$(dirname "$0")/common.sh"
mount_ext4 400M
D="$MNT/IMAGERIE"; mkdir -p "$D"
head -c 150000000 /dev/urandom >"$D/big.dcm"; sync
R="$T/repo"; init_backup "$R" "$D"
start_until_overwrite "$D/big.dcm" "$T/o1" "${WIPE[@]}" -r "$R" --snapshot latest --passes 5 "$D"
kill -INT $BG_PID; wait $BG_PID
[ -e "$D/big.dcm" ] || { echo "SKIP: finished before the interrupt"; exit 77; }
mvt wipe -r "$R" --snapshot latest --accept-unreliable-medium --dry-run "$D" >"$T/o2" 2>&1; rcd=$?
mvt "${WIPE[@]}" -r "$R" --snapshot latest "$D" >"$T/o3" 2>&1; rc=$?
echo "--- dry run (exit $rcd)"; grep -v '^medium\|^note' "$T/o2"
echo "--- real run (exit $rc)"; grep -v '^medium\|^note' "$T/o3"
[ $rcd = $rc ] || bug "dry run exit $rcd, real run exit $rc"
grep -q 'partial' "$T/o2" || bug "the dry run does not name the interrupted file"
ok "dry run agrees"
