#!/usr/bin/env bash
# A wipe interrupted mid-overwrite leaves a "begins" record in the journal,
# keyed by (dev, ino, size) only. The next run treats ANY file with that
# (dev, ino, size) as "proven before its first overwrite" and destroys it
# without hashing it or checking the snapshot (core/wipe/wipe.c pending_of()
# and visit1(): f->resume skips hash_file and verify_proof). Here the damaged
# file is rewritten in place with new data of the same size (same inode; an
# inode number reused by a new file after `rm` does the same): the next wipe
# destroys data that was never backed up.
. "$(dirname "$0")/common.sh"
mount_ext4 400M
D="$MNT/IMAGERIE"; mkdir -p "$D"
SZ=150000000
head -c $SZ /dev/urandom >"$D/big.dcm"
sync
R="$T/repo"; init_backup "$R" "$D"
start_until_overwrite "$D/big.dcm" "$T/o1" "${WIPE[@]}" -r "$R" --snapshot latest --passes 3 "$D"
kill -9 $BG_PID 2>/dev/null; wait $BG_PID 2>/dev/null
[ -e "$D/big.dcm" ] || { echo "SKIP: the wipe finished before it was killed"; exit 77; }
# the user puts another, never backed up, exam of the same size in place of the damaged file
head -c $SZ /dev/urandom >"$D/big.dcm"
sync
sum=$(sha256sum <"$D/big.dcm")
"$MVB" "${WIPE[@]}" -r "$R" --snapshot latest "$D" >"$T/o2" 2>&1; rc=$?
cat "$T/o2"
if [ ! -e "$D/big.dcm" ] || [ "$(sha256sum <"$D/big.dcm")" != "$sum" ]; then
	bug "a file never backed up was wiped without proof (exit $rc): it had the (dev, ino, size) of an interrupted wipe's file"
fi
ok "new data kept (exit $rc)"
