#!/usr/bin/env bash
# `wipe --verify-certificate` on a file that does not exist (a typo) exits 4
# and says "certificate 'x.json' does NOT verify: cannot open 'x.json': No
# such file or directory: No such file or directory". Exit 4 is, by the help,
# "a certificate does not verify" (tampering): monitoring and an auditor read
# a typo as a forged certificate. The errno text is also printed twice.
# Expected: exit 1 (or 2) and one plain "cannot open" message.
# cli/wipecert.c:546: a failed open is set as MV_ERR_INTEGRITY (exit 4),
# with strerror in the text and errno passed too (printed twice).
. "$(dirname "$0")/common.sh"
mvt wipe --verify-certificate "$T/no-such.json" >"$T/o" 2>&1; rc=$?
cat "$T/o"
[ $rc = 4 ] && bug "a missing certificate file exits 4 (does not verify)"
grep -q 'directory: No such file or directory' "$T/o" && bug "errno text doubled"
ok "missing file: exit $rc"
