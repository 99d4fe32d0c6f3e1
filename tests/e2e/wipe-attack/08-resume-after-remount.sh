#!/usr/bin/env bash
# README: "an interrupted wipe ... names the file it was overwriting in the
# next run's certificate, and the next run finishes it". The journal keys the
# pending file by st_dev (and inode, size): when the disk comes back under
# another device number (a USB disk re-plugged as sdc instead of sdb, a loop
# image attached to another loop device) the next run does not recognise it,
# hashes the half-overwritten file and refuses it as "changed since the
# backup" (exit 3), and keeps telling "not among the paths of this run: wipe it
# again" in every later certificate although the path was given.
# core/wipe/wipe.c pending_of(), report_pending(); journal entry layout.
. "$(dirname "$0")/common.sh"
mount_ext4 400M
D="$MNT/IMAGERIE"; mkdir -p "$D"
head -c 150000000 /dev/urandom >"$D/big.dcm"; sync
R="$T/repo"; init_backup "$R" "$D"
start_until_overwrite "$D/big.dcm" "$T/o1" "${WIPE[@]}" -r "$R" --snapshot latest --passes 3 "$D"
kill -INT $BG_PID; wait $BG_PID
dev1=$(stat -c %d "$D/big.dcm")
[ -e "$D/big.dcm" ] || { echo "SKIP: finished before the interrupt"; exit 77; }
umount "$MNT"
# the disk comes back on another device: keep the first free loop busy
truncate -s 1M "$T/busy.img"; BUSY=$(losetup -f --show "$T/busy.img")
L=$(losetup -f --show "$T/disk.img"); mount "$L" "$MNT"
losetup -d "$BUSY"; losetup -d "$L" 2>/dev/null # autoclear once unmounted
dev2=$(stat -c %d "$D/big.dcm"); echo "device number $dev1 then $dev2"
[ "$dev1" != "$dev2" ] || { echo "SKIP: same device number"; exit 77; }
mvt "${WIPE[@]}" -r "$R" --snapshot latest "$D" >"$T/o2" 2>&1; rc=$?
cat "$T/o2"
# a half-overwritten file no longer matches the backup: it is named partial
# in this run's certificate (the journal is keyed by device and inode, and
# the path says which file it was) and is never wiped without proof
grep -q '^partial .*big.dcm' "$T/o2" || bug "the interrupted file is not named partial after a remount (exit $rc)"
[ -e "$D/big.dcm" ] || bug "the half-overwritten file was wiped without proof (exit $rc)"
ok "named partial, not wiped without proof (exit $rc)"

