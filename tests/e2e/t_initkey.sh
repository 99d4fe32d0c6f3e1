#!/usr/bin/env bash
# Where secrets go (issue 8 item 20): init shows the recovery key only on a
# terminal or writes it to --recovery-key-file FILE (a new file, 0600,
# complete before the repository exists); with stdout a pipe or a file and
# no such option, init refuses (exit 2) before writing anything. A password
# file owned by another user is refused (exit 1), like a readable one.
. "$(dirname "$0")/lib.sh"

keyre='[0-9a-f]{8}(-[0-9a-f]{8}){7}'

# stdout a file (cron, a journal): refused, nothing written, no key shown
expect_exit 2 mv init -r "$T/r1"
grep -q -- "--recovery-key-file" "$T/err" || fail "the refusal does not say how: $(cat "$T/err")"
grep -qE "$keyre" "$T/out" "$T/err" && fail "a recovery key was printed to a file"
[ ! -e "$T/r1" ] || fail "a refused init wrote $(find "$T/r1")"
# stdout a pipe: the same
set +e
"$MV_BIN" init -r "$T/r1" 2>"$T/err" | cat >"$T/out"
rc=${PIPESTATUS[0]}
set -e
[ "$rc" = 2 ] || fail "init into a pipe exited $rc, expected 2"
grep -qE "$keyre" "$T/out" && fail "a recovery key was printed into a pipe"
[ ! -e "$T/r1" ] || fail "a refused init into a pipe wrote something"

# --recovery-key-file: a new 0600 file holding the key; stdout has no key
expect_exit 0 mv init -r "$T/r2" --recovery-key-file "$T/rk2"
[ "$(stat -c %a "$T/rk2")" = 600 ] || fail "recovery key file mode $(stat -c %a "$T/rk2")"
grep -qxE "$keyre" "$T/rk2" || fail "recovery key file holds: $(cat "$T/rk2")"
[ "$(wc -l <"$T/rk2")" = 1 ] || fail "recovery key file has more than the key"
grep -qE "$keyre" "$T/out" "$T/err" && fail "the key was printed although a key file was named"
grep -q "rk2" "$T/out" || fail "init does not say where the key went: $(cat "$T/out")"
# the file opens the repository (as a password file)
expect_exit 0 mv snapshots -r "$T/r2" --password-file "$T/rk2"
# --json names the file, not the key
expect_exit 0 mv init -r "$T/r3" --json --recovery-key-file "$T/rk3"
python3 - "$T/out" "$T/rk3" <<'PY' || fail "init --json: $(cat "$T/out")"
import json, sys
o = json.loads(open(sys.argv[1]).read())
assert o["recovery_key_file"] == sys.argv[2] and "recovery_key" not in o, o
PY

# an existing file or a symlink is refused before anything is written
echo keep >"$T/exists"
expect_exit 2 mv init -r "$T/r4" --recovery-key-file "$T/exists"
[ "$(cat "$T/exists")" = keep ] || fail "an existing file was overwritten"
ln -s "$T/elsewhere" "$T/link"
expect_exit 2 mv init -r "$T/r4" --recovery-key-file "$T/link"
[ ! -e "$T/elsewhere" ] || fail "the key file symlink was followed"
[ ! -e "$T/r4" ] || fail "a refused init wrote a repository"
# a key file that cannot be created: nothing written either
expect_exit 1 mv init -r "$T/r5" --recovery-key-file "$T/no-such-dir/key"
[ ! -e "$T/r5/config" ] || fail "repository made although its key could not be stored"
[ -z "$(ls -A "$T/r5/keys" 2>/dev/null)" ] || fail "key slots left by a failed init"
# a refused password leaves no key file behind
printf 'short\n' >"$T/weak" && chmod 600 "$T/weak"
expect_exit 1 mv init -r "$T/r6" --recovery-key-file "$T/rk6" --password-file "$T/weak"
[ ! -e "$T/rk6" ] || fail "a key file was left by a refused init"

# on a terminal the key is shown (script(1) gives init a pseudo-terminal)
if command -v script >/dev/null; then
	script -qec "'$MV_BIN' init -r '$T/r7'" /dev/null >"$T/tty" 2>&1 || fail "init on a terminal: $(cat "$T/tty")"
	grep -qE "$keyre" "$T/tty" || fail "init on a terminal did not show the key: $(cat "$T/tty")"
	[ -f "$T/r7/config" ] || fail "init on a terminal made no repository"
fi

# a password file owned by another user is refused, even with mode 0600
cp "$T/pw" "$T/pw-nobody" && chmod 600 "$T/pw-nobody" && chown nobody "$T/pw-nobody"
expect_exit 1 mv snapshots -r "$T/r2" --password-file "$T/pw-nobody"
grep -q "another user" "$T/err" || fail "foreign password file not refused: $(cat "$T/err")"
expect_exit 1 mv init -r "$T/r8" --recovery-key-file "$T/rk8" --password-file "$T/pw-nobody"
[ ! -e "$T/r8/config" ] && [ ! -e "$T/rk8" ] || fail "init went on with a foreign password file"
# one's own file is fine
expect_exit 0 mv snapshots -r "$T/r2" --password-file "$T/pw"
pass
