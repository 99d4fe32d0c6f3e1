#!/usr/bin/env bash
# The certificate is capped at 64 MiB (MV_CERT_MAX), but the only check made
# before the wipe is a count of files (MV_WIPE_MAX_ITEMS = 150,000). An item
# costs ~250 bytes plus its path, and a path that is not UTF-8 is written
# twice (U+FFFD, 3 bytes per byte, and path_hex): ~15 KiB per file under a
# deep folder of Latin-1 names (old Windows/DOS disks: "é" as byte E9).
# Here 4,600 such files: every one is overwritten and removed, then the
# signer refuses ("the certificate would exceed 64 MiB"), so the run leaves
# no certificate at all for data it destroyed -- and no record in the
# repository either (wipe --history shows nothing: the record is kept only
# once the certificate is signed, cli/cmd_wipe.c certify()).
# Expected: the size (or the count scaled by path length) checked before
# anything is touched, with "nothing was wiped"; or a certificate that fits.
# core/wipe/wipe.c (MV_WIPE_MAX_ITEMS check after the first walk),
# core/wipe/sign.c (MV_CERT_MAX check at signing, after the wipe).
. "$(dirname "$0")/common.sh"
mount_ext4 256M
D="$MNT/IMG"; mkdir -p "$D"
(cd "$D" && python3 - <<'PY') || exit 77
import os
p = b'.'
for i in range(12):
    p += b'/' + bytes([0xe9]) * 250
os.makedirs(p)
for i in range(4600):
    with open(p + b'/' + bytes([0xe9]) * 30 + b'%05d' % i, 'wb') as f:
        f.write(b'x%d' % i)
PY
R="$T/repo"; init_backup "$R" "$D"
mvt "${WIPE[@]}" -r "$R" --snapshot latest --certificate "$T/c.json" "$D" >"$T/o" 2>&1; rc=$?
grep -v '^medium' "$T/o" | cut -c1-300
left=$(find "$D" -type f 2>/dev/null | wc -l)
if [ "$left" -lt 4600 ]; then
	[ -s "$T/c.json" ] && mvt wipe --verify-certificate "$T/c.json" >/dev/null 2>&1 &&
		ok "wiped, with a certificate that verifies"
	bug "$((4600 - left)) files wiped (exit $rc) and no certificate"
fi
ok "refused before wiping (exit $rc)"
