#!/usr/bin/env bash
# Ctrl-C while the wipe is proving (hashing the files, reading the backup
# back): exit 130, but the screen says only "wiped 0 items (0 B), refused 0"
# and the signed certificate and its PDF read as a complete run over the
# source with 0 items and "Verification result: nothing overwritten". Nothing
# says the run was interrupted, nor which files were never reached (here all
# of them). Interrupted during an overwrite it is the same apart from the one
# "partial" file: the files after it are in no list. A doctor filing the PDF
# cannot tell it from "there was nothing to wipe".
# Expected: the summary and the certificate (JSON and PDF) say "interrupted"
# and name or count the files not reached.
# cli/cmd_wipe.c print_summary(), cli/wipecert.c / cli/wipepdf.c (no
# interrupted field); core/wipe/wipe.c report (files not reached dropped).
. "$(dirname "$0")/common.sh"
mount_ext4 400M
D="$MNT/IMG"; mkdir -p "$D"
for i in 1 2 3; do head -c 100000000 /dev/urandom >"$D/f$i.dcm"; done
R="$T/repo"; init_backup "$R" "$D"
"$MVB" "${WIPE[@]}" -r "$R" --snapshot latest --certificate "$T/c.json" "$D" >"$T/o" 2>&1 &
P=$!
sleep 0.7
kill -INT $P
wait $P; rc=$?
cat "$T/o"
[ $rc = 130 ] || { echo "SKIP: not interrupted in time (exit $rc)"; exit 77; }
[ -s "$T/c.json" ] || { echo "SKIP: no certificate written"; exit 77; }
grep -qi 'interrupt' "$T/o" || bug "interrupted run: the summary does not say so"
grep -qi 'interrupt' "$T/c.json" || bug "interrupted run: the certificate does not say so"
pdftotext "$T/c.pdf" - 2>/dev/null | grep -qi 'interrupt' || bug "interrupted run: the PDF does not say so"
ok "interruption reported"
