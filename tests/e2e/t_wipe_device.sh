#!/usr/bin/env bash
# medvault wipe --device (issue 10): a 64 MiB loop device filled with
# markers is overwritten and verified in full (--verify-all): no marker is
# left and every 4 KiB block of its backing file differs from before; the
# certificate verifies and lists the device. A loop device that is mounted
# is refused and left as it was. Needs root (losetup); skipped otherwise.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || { echo "SKIP: needs root for losetup"; exit 77; }
command -v losetup >/dev/null || { echo "SKIP: no losetup"; exit 77; }
cd "$T"
R="$T/repo"
expect_exit 0 mv init -r "$R" --recovery-key-file "$(keyfile)"

M=$(wt marker)
wt mkfile "$T/dev.img" $((64 << 20)) "$M"
cp "$T/dev.img" "$T/dev.orig"
if ! dev=$(losetup -f --show "$T/dev.img" 2>/dev/null); then
	echo "SKIP: losetup not permitted here"
	exit 77
fi
LOOPS+=("$dev")
expect_exit 0 mv wipe --device "$dev" -r "$R" --verify-all --yes --accept-unreliable-medium \
	--certificate "$T/dev.json"
expect_exit 0 mv wipe --verify-certificate "$T/dev.json" -r "$R"
st=$(wt status "$T/dev.json" "$dev")
[ "$st" = absent ] || [ "$st" = wiped ] || fail "certificate: the device is '$st'"
grep -qF "$dev" "$T/dev.json" || grep -qF "$(basename "$dev")" "$T/dev.json" || fail "the certificate does not name $dev"
losetup -d "$dev"
LOOPS=()
[ "$(stat -c %s "$T/dev.img")" = $((64 << 20)) ] || fail "the backing file changed size"
read -r n _ < <(wt count "$T/dev.img" "$M")
[ "$n" = 0 ] || fail "$n markers remain on the wiped device"
read -r n _ < <(wt count "$T/dev.orig" "$M")
[ "$n" -gt 0 ] || fail "the search finds no marker in the original: it is broken"
same=$(wt sameblocks "$T/dev.orig" "$T/dev.img" 4096)
[ "$same" = 0 ] || fail "$same 4 KiB blocks of the device are unchanged"
rm -f "$T/dev.orig" "$T/dev.img"

# a mounted loop device: refused, its file system untouched
loop_mount 32M
M2=$(wt marker)
wt mkfile "$T/mnt/IM000001.dcm" 100000 "$M2"
sync
dev=$(findmnt -n -o SOURCE --target "$T/mnt")
[ -b "$dev" ] || fail "no block device under $T/mnt: '$dev'"
set +e
mv wipe --device "$dev" -r "$R" --verify-all --yes --accept-unreliable-medium --certificate "$T/m.json" \
	>"$T/out" 2>"$T/err" </dev/null
rc=$?
set -e
[ "$rc" != 0 ] || fail "a mounted device was wiped (exit 0)"
grep -qi "mount" "$T/out" "$T/err" || fail "the refusal does not say the device is mounted: $(cat "$T/err")"
[ "$(head -c 32 "$T/mnt/IM000001.dcm")" = "$M2" ] || fail "the mounted file system's file changed"
unmount_image
read -r n _ < <(wt count "$T/disk.img" "$M2")
[ "$n" -gt 0 ] || fail "the refused device lost its data"
e2fsck -fn "$T/disk.img" >/dev/null 2>&1 || fail "the refused device's file system is damaged"
pass
