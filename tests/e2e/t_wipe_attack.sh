#!/usr/bin/env bash
# The reproducers of the two reviews of issue 10 (tests/e2e/wipe-attack/,
# an attack, and tests/e2e/wipe-trial/, a new user's trial; one per finding,
# each fixed): each exits 0 when the wipe behaves, 1 when the
# bug is back, 77 when it cannot run here (named, not counted as a pass of
# the finding). Every one of them runs on loop-mounted ext4 images (root).
set -uo pipefail
HERE=$(cd "$(dirname "$0")" && pwd)
MEDVAULT=$(realpath "${MEDVAULT:-build/medvault}")
export MEDVAULT
[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (loop mounts)"; exit 77; }
failed=0 skipped=0
for f in "$HERE"/wipe-attack/[0-9]*.sh "$HERE"/wipe-trial/[0-9]*.sh; do
	out=$(bash "$f" 2>&1)
	rc=$?
	case $rc in
	0) echo "ok    ${f#"$HERE"/}" ;;
	77) echo "skip  ${f#"$HERE"/}: $(printf '%s\n' "$out" | tail -n 1)"; skipped=$((skipped + 1)) ;;
	*) echo "FAIL  ${f#"$HERE"/} (exit $rc)"; printf '%s\n' "$out" | tail -n 15; failed=$((failed + 1)) ;;
	esac
done
[ $failed = 0 ] || { echo "FAIL: $failed finding(s) came back"; exit 1; }
echo "PASS: t_wipe_attack.sh ($skipped skipped)"
