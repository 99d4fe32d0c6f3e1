#!/usr/bin/env bash
# Overlapping paths (a folder and a folder inside it, or one path twice) are
# walked, hashed and counted once per path: --dry-run says "would wipe 4
# items" for 2 files, listing each twice, while the real run wipes 2. The
# dry run's count (and the real run's progress total and proof work) are
# wrong. core/wipe/wipe.c mv_wipe_files(): targets are not de-duplicated
# by (dev, ino) nor nested targets dropped.
. "$(dirname "$0")/common.sh"
mount_ext4 64M
mkdir -p "$MNT/A/sub"; head -c 20000 /dev/urandom >"$MNT/A/IM1.dcm"; head -c 20000 /dev/urandom >"$MNT/A/sub/IM2.dcm"
R="$T/repo"; init_backup "$R" "$MNT/A"
mvt wipe -r "$R" --snapshot latest --accept-unreliable-medium --dry-run --json "$MNT/A" "$MNT/A/sub" >"$T/d" 2>&1
mvt "${WIPE[@]}" -r "$R" --snapshot latest --json "$MNT/A" "$MNT/A/sub" >"$T/w" 2>&1
nd=$(python3 -c 'import json,sys;print([json.loads(l) for l in open(sys.argv[1])][-1]["would_wipe"])' "$T/d")
nw=$(python3 -c 'import json,sys;print([json.loads(l) for l in open(sys.argv[1])][-1]["wiped"])' "$T/w")
echo "dry run would_wipe=$nd, real run wiped=$nw"
[ "$nd" = "$nw" ] || bug "the dry run counts $nd items, the real run wipes $nw"
ok "counts agree"
