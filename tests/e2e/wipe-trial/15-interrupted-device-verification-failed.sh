#!/usr/bin/env bash
# Ctrl-C during `wipe --device` (before the read-back began): the signed
# certificate says "verification": {"result": "failed"} and the PDF
# "Verification result: failed". Nothing was compared: the verification was
# never run. "failed" tells an auditor the device did not hold what was
# written (a faulty or lying device), which is a different and worse fact.
# The screen also reports "0 folders removed" for a device.
# Expected: a result such as "not done (interrupted)".
# cli/wipecert.c (verification result derived from partial/failed counts),
# cli/wipepdf.c; cli/cmd_wipe.c print_summary (folders in device mode).
. "$(dirname "$0")/common.sh"
[ "$(id -u)" = 0 ] || exit 77
R="$T/repo"
mvt init -r "$R" --recovery-key-file "$T/rk" >/dev/null 2>&1 || bug "init failed"
truncate -s 600M "$T/dev.img"
L=$(losetup -f --show "$T/dev.img") || exit 77
trap 'r=$?; losetup -d "$L" 2>/dev/null; (exit $r); cleanup' EXIT
"$MVB" wipe --yes --accept-unreliable-medium -r "$R" --device "$L" --certificate "$T/d.json" >"$T/o" 2>&1 &
P=$!
for _ in $(seq 1 1000); do
	sleep 0.01
	kill -0 $P 2>/dev/null || break
	[ "$(written $P)" -ge $((64 << 20)) ] && break
done
kill -INT $P 2>/dev/null
wait $P; rc=$?
grep -v '^medium' "$T/o"
[ $rc = 130 ] && grep -q 'during the overwrite' "$T/o" || { echo "SKIP: not interrupted during the overwrite (exit $rc)"; exit 77; }
grep -o '"verification": {[^}]*}' "$T/d.json"
grep -q '"result": "failed"' "$T/d.json" && bug "an interrupted device wipe's verification, never run, is called 'failed'"
ok "verification not called failed"
