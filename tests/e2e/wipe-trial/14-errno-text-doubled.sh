#!/usr/bin/env bash
# Several wipe messages print the system error twice, which reads as a
# glitch in the one command where a provider must trust every word:
#   medvault: 'IMG/typo': No such file or directory: No such file or directory
#   medvault: cannot create directory '.../x': Read-only file system: Read-only file system
# (and --verify-certificate on a missing file, see 06). The callers put
# strerror() into the text and also pass errno to mv_error_set(), which
# appends it again.
# Expected: each reason once.
# core/wipe/wipe.c:736,755 ("'%s': %s" with errno), core/util/fdio.c:57.
. "$(dirname "$0")/common.sh"
mount_ext4 64M
D="$MNT/IMG"; mkdir -p "$D"; head -c 10000 /dev/urandom >"$D/f.dcm"
R="$T/repo"; init_backup "$R" "$D"
mvt "${WIPE[@]}" -r "$R" --snapshot latest --dry-run "$MNT/typo" >"$T/o" 2>&1
mkdir -p "$T/ro"; mount -t tmpfs -o size=1M,ro tmpfs "$T/ro" || exit 77
XDG_STATE_HOME="$T/ro/x" mvt "${WIPE[@]}" -r "$R" --snapshot latest --certificate "$T/c.json" "$D" >>"$T/o" 2>&1
umount "$T/ro"
grep -v '^medium' "$T/o"
grep -Eq '(: [A-Z][a-z ]+)\1$' "$T/o" && bug "system error text printed twice"
ok "each reason once"
