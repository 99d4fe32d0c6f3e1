#!/usr/bin/env bash
# `medvault --json wipe` prints items and a summary, but neither the
# certificate's file name (dated, with "-2", "-3"... on collision) nor the
# signer's fingerprint: the human output's "certificate: FILE (and PDF),
# signed by MV-..." line has no JSON counterpart, so a script driving the
# migration cannot pick up the certificate it must hand to the doctor.
# Expected: "certificate", "pdf" and "fingerprint" in the JSON summary.
# cli/cmd_wipe.c certify() prints only when !ctx->g.json; the summary
# printer has no certificate fields.
. "$(dirname "$0")/common.sh"
mount_ext4 64M
D="$MNT/IMG"; mkdir -p "$D"; head -c 10000 /dev/urandom >"$D/f.dcm"
R="$T/repo"; init_backup "$R" "$D"
mvt --json "${WIPE[@]}" -r "$R" --snapshot latest "$D" >"$T/o" 2>/dev/null || bug "wipe failed"
ls "$T"/medvault-wipe-*.json >/dev/null 2>&1 || bug "no certificate written"
tail -1 "$T/o" | cut -c1-200
grep '"message_type":"summary"' "$T/o" | grep -q 'medvault-wipe-' ||
	bug "JSON summary does not name the certificate written"
ok "certificate named in JSON"
