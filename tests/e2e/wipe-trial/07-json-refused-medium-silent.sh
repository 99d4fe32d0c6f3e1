#!/usr/bin/env bash
# `medvault --json wipe` refusing an unreliable medium writes nothing at all
# on stdout (exit 1), while the same with --dry-run writes the items and a
# summary with "medium_unreliable": true. A monitoring job reading --json
# gets an empty document for the case it most needs to see.
# Expected: a JSON summary (medium_unreliable, notes, nothing touched) on
# stdout in both cases.
# cli/cmd_wipe.c: the medium refusal returns before the JSON summary.
. "$(dirname "$0")/common.sh"
mount_ext4 64M
D="$MNT/IMG"; mkdir -p "$D"; head -c 100000 /dev/urandom >"$D/f.dcm"
R="$T/repo"; init_backup "$R" "$D"
mvt --json wipe -r "$R" --snapshot latest "$D" >"$T/o" 2>"$T/e"; rc=$?
cat "$T/o" "$T/e"
[ $rc = 1 ] || { echo "SKIP: medium judged reliable here (exit $rc)"; exit 77; }
[ -s "$T/o" ] || bug "--json wipe refusing the medium prints no JSON"
grep -q '"message_type":"summary"' "$T/o" || bug "no JSON summary"
ok "JSON summary given"
