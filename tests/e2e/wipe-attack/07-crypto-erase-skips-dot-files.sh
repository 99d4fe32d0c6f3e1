#!/usr/bin/env bash
# `wipe --repository` erases keys/ and keylist/ but skips every name that
# starts with '.', and the local backend writes each key slot first as
# keys/.tmp-<random> (core/backend/local.c): a slot write interrupted by a
# crash or a full disk leaves a complete key slot under such a name. After
# the crypto-erase says "no password or recovery key opens it now", that
# file, renamed, opens the repository with the old password.
# cli/cmd_wipe.c erase_dir(): `if (de->d_name[0] != '.' ...)`.
. "$(dirname "$0")/common.sh"
mount_ext4 64M
S="$MNT/src"; mkdir -p "$S"; head -c 20000 /dev/urandom >"$S/a.dcm"
R="$MNT/repo"; init_backup "$R" "$S"
slot=$(ls "$R/keys" | head -1)
cp -p "$R/keys/$slot" "$R/keys/.tmp-0123456789abcdef" # what an interrupted slot write leaves
mvt wipe --repository -r "$R" --yes --accept-unreliable-medium --certificate "$T/c.json" >"$T/o" 2>&1; rc=$?
cat "$T/o"
mvt snapshots -r "$R" >/dev/null 2>&1 && bug "the repository still opens after the crypto-erase"
left=$(ls -A "$R/keys" 2>/dev/null)
if [ -n "$left" ]; then
	for f in $left; do command mv "$R/keys/$f" "$R/keys/$slot"; done
	mvt snapshots -r "$R" >/dev/null 2>&1 &&
		bug "crypto-erase (exit $rc) left key slot(s) '$left' in keys/: renamed, it opens the repository with the password"
	bug "crypto-erase left '$left' in keys/"
fi
ok "no key slot left"
