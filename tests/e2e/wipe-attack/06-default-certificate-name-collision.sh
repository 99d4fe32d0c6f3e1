#!/usr/bin/env bash
# Without --certificate, the certificate is named after the second the run
# started (medvault-wipe-YYYYMMDD-HHMMSSZ.json). Two wipes started in the
# same second (a script wiping folder after folder) collide: the second run
# destroys its files first and only then finds that the name exists, so the
# files are gone with no certificate written and no record kept in the
# repository (`wipe --history` does not list them); exit 1. The name should
# be unique (O_EXCL with a suffix), and be reserved before anything is
# destroyed. The same with --certificate naming a file that exists or a
# folder that does not, or run from inside the folder being wiped (the
# default certificate goes to the current folder, just removed by the
# wipe): checked only after the wipe, and the repository
# record is skipped too (certify() returns before save_record()).
# cli/cmd_wipe.c certify() / cli/wipecert.c cli_wipecert_write().
. "$(dirname "$0")/common.sh"
mount_ext4 64M
for p in A B C D; do mkdir -p "$MNT/$p"; head -c 20000 /dev/urandom >"$MNT/$p/IM1.dcm"; done
R="$T/repo"; init_backup "$R" "$MNT/A" "$MNT/B" "$MNT/C" "$MNT/D"
echo old >"$T/exists.json"
mvt "${WIPE[@]}" -r "$R" --snapshot latest --certificate "$T/exists.json" "$MNT/A" >"$T/o-A" 2>&1; rc=$?
if [ ! -e "$MNT/A/IM1.dcm" ] && ! mvt wipe --history -r "$R" | grep -q "$MNT/A/IM1.dcm"; then
	cat "$T/o-A"
	bug "--certificate naming an existing file: files destroyed, no certificate, no history record (exit $rc)"
fi
mkdir -p "$MNT/E/P"; head -c 20000 /dev/urandom >"$MNT/E/P/x.dcm"; mvt backup -r "$R" -q "$MNT/E"
(cd "$MNT/E/P" && "$MVB" "${WIPE[@]}" -r "$R" --snapshot latest "$MNT/E") >"$T/o-E" 2>&1; rc=$?
if [ ! -e "$MNT/E/P/x.dcm" ] && ! mvt wipe --history -r "$R" | grep -q "$MNT/E/P/x.dcm"; then
	cat "$T/o-E"
	bug "run from inside the wiped folder: files destroyed, no certificate, no history record (exit $rc)"
fi
hit=0
for p in B C D; do
	mvt "${WIPE[@]}" -r "$R" --snapshot latest "$MNT/$p" >"$T/o-$p" 2>&1
	rc=$?
	if [ $rc != 0 ] && grep -q 'exists already' "$T/o-$p"; then
		cat "$T/o-$p"
		[ -e "$MNT/$p/IM1.dcm" ] || hit=1
		mvt wipe --history -r "$R" | grep -q "$MNT/$p/IM1.dcm" && hit=0
		[ $hit = 1 ] && bug "folder $p: files destroyed, then 'certificate exists already' (exit $rc): no certificate, no history record"
	fi
done
ok "no collision seen (or it was handled)"
