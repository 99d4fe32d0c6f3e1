#!/usr/bin/env bash
# open_target() opens the parent of each PATH with a plain open(), following
# every symbolic link on the way. Root wiping /home/alice/scans/IMAGERIE
# wipes whatever alice's symlink "scans" points to (here another folder
# holding the same images, e.g. the PACS's live copy); restore refuses the
# same trick (SECURITY.md 6a: a link on the way is followed only in a folder
# no other user can change), wipe, the command that destroys, does not.
# core/wipe/wipe.c open_target(); core/util/beneath.h has the walk-down.
. "$(dirname "$0")/common.sh"
mount_ext4 64M
H="$MNT/home/alice"; P="$MNT/srv/pacs/IMAGERIE"
mkdir -p "$H/scans/IMAGERIE" "$P"
head -c 20000 /dev/urandom >"$P/IM1.dcm"; cp "$P/IM1.dcm" "$H/scans/IMAGERIE/IM1.dcm"
chown -R nobody "$MNT/home/alice"
R="$T/repo"; init_backup "$R" "$H/scans" "$MNT/srv/pacs"
# alice swaps her folder for a link to the PACS copy
su -s /bin/sh nobody -c "rm -rf '$H/scans' && ln -s '$MNT/srv/pacs' '$H/scans'" || exit 77
mvt "${WIPE[@]}" -r "$R" --snapshot latest "$H/scans/IMAGERIE" >"$T/o" 2>&1; rc=$?
grep -v '^medium\|^note' "$T/o"
[ -e "$P/IM1.dcm" ] || bug "root's wipe of $H/scans/IMAGERIE followed alice's symlink and wiped $P (exit $rc)"
ok "link in a user-writable folder not followed (exit $rc)"
