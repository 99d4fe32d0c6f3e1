#!/usr/bin/env bash
# The certificate of a crypto-erase (`wipe --repository`, no
# --no-backup-check given) says, in its PDF, "Checked before wiping: no
# (--no-backup-check)" under "Backup that holds the data", which names the
# very repository just erased. An auditor or a doctor reads that the
# operator skipped the backup check and that the erased disk still "holds the
# data". Expected: for a crypto-erase the backup section is absent or says
# "not applicable: the repository itself was erased".
# cli/wipepdf.c (backup section), cli/wipecert.c (backup.checked = false).
. "$(dirname "$0")/common.sh"
command -v pdftotext >/dev/null || exit 77
R="$T/repo"
mvt init -r "$R" --recovery-key-file "$T/rk" >/dev/null 2>&1 || bug "init failed"
mvt wipe --repository -r "$R" --yes --accept-unreliable-medium --certificate "$T/ce.json" >/dev/null 2>&1 ||
	bug "crypto-erase failed"
pdftotext -layout "$T/ce.pdf" - >"$T/t" || exit 77
grep -E 'Checked before|holds the data' "$T/t"
grep -q 'no-backup-check' "$T/t" && bug "crypto-erase certificate says '--no-backup-check', which was not given"
ok "no false --no-backup-check"
