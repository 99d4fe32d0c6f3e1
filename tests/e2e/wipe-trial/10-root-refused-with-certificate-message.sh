#!/usr/bin/env bash
# `medvault wipe ... /` (a slip: a space before the folder name) is refused,
# but with "the certificate '...' would be written inside a folder being
# wiped: give --certificate a place outside it" -- advice that cannot be
# followed (everything is inside '/') and that hides the real refusal ("'/'
# is refused"). The certificate check runs before the path checks.
# Expected: the refusal --dry-run gives ("name the file or folder itself (not
# '/'...)"), exit 2.
# cli/cmd_wipe.c reserve_cert() (cert_inside) runs before the engine's
# path refusal in core/wipe/wipe.c.
. "$(dirname "$0")/common.sh"
R="$T/repo"
mvt init -r "$R" --recovery-key-file "$T/rk" >/dev/null 2>&1 || bug "init failed"
mkdir -p "$T/d"; echo x >"$T/d/x"; mvt backup -q -r "$R" "$T/d" >/dev/null 2>&1 || bug "backup failed"
mvt "${WIPE[@]}" -r "$R" --snapshot latest --certificate "$T/c.json" / >"$T/o" 2>&1; rc=$?
cat "$T/o"
[ $rc = 2 ] || bug "'/' not refused with exit 2 (exit $rc)"
grep -q 'certificate.*inside a folder being wiped' "$T/o" && bug "'/' refused with the certificate-placement message"
ok "'/' refused as such"
