#!/usr/bin/env bash
# check --read-data shows progress on a terminal (packs and bytes read out of
# the total), and none without a terminal or with --json.
. "$(dirname "$0")/lib.sh"

R="$T/repo"
mkdir -p "$T/src"
expect_exit 0 mv init -r "$R" --recovery-key-file "$(keyfile)"
for i in 1 2 3; do
	head -c 300000 /dev/urandom >"$T/src/f$i.bin"
	expect_exit 0 mv backup -r "$R" "$T/src"
done
[ "$(find "$R/data" -type f | wc -l)" = 3 ] || fail "expected three packs"

# script(1) gives the command a terminal; its output holds what was drawn
script -qec "'$MV_BIN' check -r '$R' --read-data" "$T/tty" >/dev/null ||
	fail "check --read-data failed under script: $(cat "$T/tty")"
grep -aq "no errors were found" "$T/tty" || fail "check did not finish: $(cat "$T/tty")"
grep -aEq "[0-9]+ / 3 packs  [0-9.]+ [KMG]?i?B / [0-9.]+ [KMG]iB" "$T/tty" ||
	fail "no progress line with packs and bytes: $(cat -v "$T/tty")"

# not on a terminal, not with --json
expect_exit 0 mv check -r "$R" --read-data
grep -aq "packs  " "$T/err" && fail "progress shown without a terminal"
script -qec "'$MV_BIN' check -r '$R' --read-data --json" "$T/tty" >/dev/null ||
	fail "check --read-data --json failed under script"
grep -aq "packs  " "$T/tty" && fail "progress shown with --json"
pass
