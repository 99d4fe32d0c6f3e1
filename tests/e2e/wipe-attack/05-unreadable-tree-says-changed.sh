#!/usr/bin/env bash
# When the snapshot's trees cannot be read (a missing or damaged pack), every
# file is refused as "not in snapshot X: changed since the backup, or never
# backed up" and the exit code is 3. The files did not change: the
# repository is damaged, which SECURITY.md 6b says gives exit 4 and the
# reason. The user is told to suspect the originals (and may re-edit or
# --no-backup-check them) instead of repairing the repository.
# core/wipe/wipe.c hash_file() (ignores mv_proof_unreadable_trees() /
# the "cannot read tree" warning) and mv_wipe_files() (c->integrity unset).
. "$(dirname "$0")/common.sh"
mount_ext4 64M
D="$MNT/IMG"; mkdir -p "$D"
for i in 1 2 3; do head -c 300000 /dev/urandom >"$D/f$i.dcm"; done
R="$T/repo"; init_backup "$R" "$D"
find "$R/data" -type f -delete # every pack gone (one holding the trees is enough)
mvt "${WIPE[@]}" -r "$R" --snapshot latest "$D" >"$T/o" 2>&1; rc=$?
cat "$T/o"
[ "$(ls "$D" | wc -l)" = 3 ] || bug "files wiped with the repository's packs missing"
grep -q 'changed since the backup' "$T/o" && bug "files blamed as 'changed since the backup' while the repository is damaged (exit $rc)"
[ $rc = 4 ] || bug "exit $rc, expected 4 (integrity)"
ok "refused with exit 4"
