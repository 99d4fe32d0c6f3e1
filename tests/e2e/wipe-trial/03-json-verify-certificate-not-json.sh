#!/usr/bin/env bash
# `medvault --json wipe --verify-certificate FILE` ignores --json: it prints
# the certificate pretty-printed followed by plain text lines
# ("signature:   good (Ed25519)", "signed by: ..."), which no JSON parser
# reads. GUIDE.md: --json on every command that reports. (`--history --json`
# and the wipe itself do give JSON.)
# Expected: one JSON document (or NDJSON) carrying the verdict, fingerprint,
# public key and whether the signer is the repository's key.
# cli/cmd_wipe.c, the --verify-certificate branch (ctx->g.json unused).
. "$(dirname "$0")/common.sh"
mount_ext4 64M
D="$MNT/IMG"; mkdir -p "$D"; head -c 100000 /dev/urandom >"$D/f.dcm"
R="$T/repo"; init_backup "$R" "$D"
mvt "${WIPE[@]}" -r "$R" --snapshot latest --certificate "$T/c.json" "$D" >/dev/null 2>&1 || bug "wipe failed"
for extra in "" "-r $R"; do
	mvt --json wipe --verify-certificate "$T/c.json" $extra >"$T/o" 2>/dev/null || bug "verify failed"
	python3 - "$T/o" <<'PY' || bug "--json wipe --verify-certificate $extra: output is not JSON: $(tail -3 "$T/o")"
import json, sys
t = open(sys.argv[1]).read()
try:
    json.loads(t)
except Exception:
    for l in t.splitlines():
        if l.strip():
            json.loads(l)
PY
done
ok "--verify-certificate --json gives JSON"
