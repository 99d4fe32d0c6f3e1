#!/usr/bin/env bash
# Paths given relative to the current folder are written as given into the
# certificate (media.source "IMG", items "IMG/f.dcm") and its PDF: kept for
# years, it cannot say which disk or folder was wiped. Nothing else names
# the filesystem (no UUID or label; media.device is "loop0" or "sdb", which
# changes at each plug-in). The repository is named only by a hex id.
# Expected: absolute paths (or the mount point) and the filesystem UUID.
# core/wipe/wipe.c (paths kept as given), cli/wipecert.c (media fields).
. "$(dirname "$0")/common.sh"
mount_ext4 64M
D="$MNT/IMG"; mkdir -p "$D"; head -c 100000 /dev/urandom >"$D/f.dcm"
R="$T/repo"; init_backup "$R" "$D"
uuid=$(blkid -o value -s UUID "$T/disk.img")
(cd "$MNT" && mvt "${WIPE[@]}" -r "$R" --snapshot latest --certificate "$T/c.json" IMG) >/dev/null 2>&1 ||
	bug "wipe failed"
grep '"source"\|"path"' "$T/c.json"
grep -q "\"$MNT/IMG" "$T/c.json" || grep -q "$uuid" "$T/c.json" ||
	bug "certificate names neither the absolute path nor the filesystem UUID"
ok "certificate identifies the wiped folder"
