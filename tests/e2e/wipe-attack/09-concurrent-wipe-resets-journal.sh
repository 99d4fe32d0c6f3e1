#!/usr/bin/env bash
# Two file wipes against one repository may run at once (the repository lock
# taken is shared), and they share one journal file with no lock of its own.
# Run B opens the journal (empty), run A starts later and journals the begin
# of its file; B ends with all of ITS begins ended and mv_journal_reset()
# truncates the journal, erasing A's record. A is then killed: the next run
# neither names A's half-overwritten file as partial nor finishes it, but
# hashes it and refuses it as "changed since the backup" (exit 3).
# (Meanwhile A's certificate calls B's file, still being wiped,
# "interrupted".) core/wipe/wipe.c mv_wipe_files() (journal reset),
# core/wipe/journal.c (no lock), cli/cmd_wipe.c run_files() (shared lock).
. "$(dirname "$0")/common.sh"
mount_ext4 600M
A="$MNT/A"; B="$MNT/B"; mkdir -p "$A" "$B"
head -c 150000000 /dev/urandom >"$A/big.dcm"; head -c 60000000 /dev/urandom >"$B/mid.dcm"; sync
R="$T/repo"; init_backup "$R" "$A" "$B"
start_until_overwrite "$B/mid.dcm" "$T/ob" "${WIPE[@]}" -r "$R" --snapshot latest --passes 30 --certificate "$T/b.json" "$B"
pb=$BG_PID
start_until_overwrite "$A/big.dcm" "$T/oa" "${WIPE[@]}" -r "$R" --snapshot latest --passes 64 --certificate "$T/a.json" "$A"
pa=$BG_PID
sleep 1
if ! kill -0 $pa 2>/dev/null && grep -q 'another wipe' "$T/oa"; then
	wait $pb
	ok "the second wipe with the same repository was refused while the first ran: $(cat "$T/oa")"
fi
wait $pb; rcb=$?
kill -9 $pa 2>/dev/null; wait $pa 2>/dev/null
[ -e "$A/big.dcm" ] || { echo "SKIP: run A finished first"; exit 77; }
[ -e "$B/mid.dcm" ] && { echo "SKIP: run B did not finish (exit $rcb)"; cat "$T/ob"; exit 77; }
echo "run B ended (exit $rcb) while run A was overwriting; A killed"
mvt "${WIPE[@]}" -r "$R" --snapshot latest --certificate "$T/c.json" "$A" >"$T/o3" 2>&1; rc=$?
cat "$T/o3"
grep -q 'partial.*big.dcm' "$T/o3" || bug "the killed run's half-overwritten file is not named partial (exit $rc): the concurrent run reset the journal"
[ -e "$A/big.dcm" ] && bug "the half-overwritten file was not finished (exit $rc)"
ok "named and finished"
