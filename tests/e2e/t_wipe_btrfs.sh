#!/usr/bin/env bash
# An unreliable medium (issue 10, "Honesty about the medium"): on a btrfs
# loop image (copy-on-write), wipe without --accept-unreliable-medium exits
# 1, touches nothing, and says copy-on-write and names a device-level remedy;
# with the flag it goes on. Needs root, mkfs.btrfs and btrfs in the kernel
# (scripts/deps installs btrfs-progs); skipped otherwise.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || { echo "SKIP: needs root for mount -o loop"; exit 77; }
command -v mkfs.btrfs >/dev/null || { echo "SKIP: no mkfs.btrfs (apt-get install btrfs-progs)"; exit 77; }
cd "$T"
truncate -s 200M "$T/disk.img"
mkfs.btrfs -q -f "$T/disk.img" >/dev/null
mkdir -p "$T/mnt"
if ! mount -o loop "$T/disk.img" "$T/mnt" 2>/dev/null; then
	echo "SKIP: cannot mount a btrfs loop image here (no btrfs in the kernel, or loop mounts refused)"
	exit 77
fi
MOUNTS=("$T/mnt")
[ "$(stat -f -c %T "$T/mnt")" = btrfs ] || fail "not btrfs: $(stat -f -c %T "$T/mnt")"

W="$T/mnt/IMAGERIE/DUPONT^JEAN_1961"
mkdir -p "$W"
for i in 1 2; do wt mkfile "$W/IM00000$i.dcm" 200000 "$(wt marker)"; done
sync
R="$T/repo"
init_backup "$R" "$T/mnt/IMAGERIE"
before=$(wt treehash "$T/mnt")

expect_exit 1 mv wipe -r "$R" --snapshot latest --yes "$T/mnt/IMAGERIE"
[ "$(wt treehash "$T/mnt")" = "$before" ] || fail "the refused wipe changed the files"
grep -qiE "copy-on-write|copy on write" "$T/out" "$T/err" || fail "the refusal does not say copy-on-write: $(cat "$T/err")"
grep -qiE "device|sanitize|blkdiscard" "$T/out" "$T/err" || fail "the refusal names no device-level remedy"
grep -q -- "--accept-unreliable-medium" "$T/out" "$T/err" || fail "the refusal does not name the flag to go on"
# a dry run says the same, and changes nothing either
set +e
mv wipe -r "$R" --snapshot latest --dry-run "$T/mnt/IMAGERIE" >"$T/out" 2>"$T/err"
set -e
grep -qiE "copy-on-write|copy on write" "$T/out" "$T/err" || fail "the dry run does not say copy-on-write"
[ "$(wt treehash "$T/mnt")" = "$before" ] || fail "the dry run changed the files"

# with the flag, it goes on, and the certificate records the medium as unreliable
expect_exit 0 mv wipe -r "$R" --snapshot latest --yes --accept-unreliable-medium --certificate "$T/c.json" \
	"$T/mnt/IMAGERIE"
[ -z "$(find "$T/mnt/IMAGERIE" -type f 2>/dev/null)" ] || fail "files left after the accepted wipe"
wt field "$T/c.json" unreliable | grep -qiE "true|1" || fail "the certificate does not record an unreliable medium"
grep -qiE "copy-on-write|copy on write" "$T/c.json" || fail "the certificate does not say copy-on-write"
pass
