#!/usr/bin/env bash
# Disk full during a backup: a clean error, and the repository still passes
# check; after space is freed the next backup completes. Uses a small
# loop-mounted ext4 image (needs root; skipped otherwise).
. "$(dirname "$0")/lib.sh"

loop_mount 40M
R="$T/mnt/repo"
mkdir -p "$T/src"
for i in $(seq 1 20); do head -c 3000000 /dev/urandom >"$T/src/f$i.bin"; done
expect_exit 0 mv init -r "$R" --recovery-key-file "$(keyfile)"
expect_exit 1 mv backup -r "$R" "$T/src"
grep -qi "no space\|disk full\|space left" "$T/err" || fail "disk full not reported clearly"
expect_exit 0 mv check -r "$R"
# back up less: the first files are in the packs the failed run left, which
# the next backup adopts, so it needs little new space
find "$T/src" -name 'f*.bin' ! -name f1.bin ! -name f10.bin -delete
expect_exit 0 mv backup -r "$R" "$T/src"
expect_exit 0 mv check -r "$R" --read-data
expect_exit 0 mv restore -r "$R" latest --target "$T/restore"
compare_trees "$T/src" "$T/restore$T/src" || fail "restore after disk full differs"
pass
