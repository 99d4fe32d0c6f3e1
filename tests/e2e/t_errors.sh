#!/usr/bin/env bash
# Exit codes: wrong password 12 (nothing written), no repository 10, usage 2,
# newer format refused, weak password refused, password file mode checked,
# unreadable source files reported and listed (3).
. "$(dirname "$0")/lib.sh"

R="$T/repo"
mkdir -p "$T/src" && echo hello >"$T/src/a.txt"
expect_exit 10 mv snapshots -r "$T/nothing-here"
expect_exit 2 mv backup -r "$R" --no-such-flag "$T/src"
expect_exit 2 mv no-such-command

printf 'short\n' >"$T/weak" && chmod 600 "$T/weak"
expect_exit 1 mv init -r "$T/weakrepo" --recovery-key-file "$(keyfile)" --password-file "$T/weak"
grep -qi "weak\|strong\|CNIL" "$T/err" || fail "weak password message missing"
[ ! -e "$T/weakrepo/config" ] || fail "repository created with a weak password"

expect_exit 0 mv init -r "$R" --recovery-key-file "$(keyfile)"
expect_exit 0 mv backup -r "$R" "$T/src"
find "$R" -type f | sort | xargs sha256sum >"$T/before"

printf 'Wrong-Horse-Battery-9\n' >"$T/wrong" && chmod 600 "$T/wrong"
expect_exit 12 mv backup -r "$R" --password-file "$T/wrong" "$T/src"
expect_exit 12 mv snapshots -r "$R" --password-file "$T/wrong"
find "$R" -type f | sort | xargs sha256sum >"$T/after"
cmp -s "$T/before" "$T/after" || fail "a wrong password changed the repository"

# key slots that cannot be read (here: permissions, for a user who is not
# root) are an I/O error, not a wrong password
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	cp -a "$R" "$T/permrepo" && cp "$T/pw" "$T/nobody-pw"
	chown -R nobody "$T/permrepo" "$T/nobody-pw"
	chmod 000 "$T"/permrepo/keys/*
	expect_exit 1 setpriv --reuid=nobody --regid=nogroup --clear-groups "$MV_BIN" snapshots \
		-r "$T/permrepo" --password-file "$T/nobody-pw"
	grep -q "could not be read" "$T/err" || fail "unreadable key slots reported as: $(cat "$T/err")"
	grep -qi "wrong password" "$T/err" && fail "unreadable key slots reported as a wrong password"
fi

chmod 644 "$T/pw"
expect_exit 1 mv snapshots -r "$R"
grep -qi "readable" "$T/err" || fail "group/world-readable password file not refused"
chmod 600 "$T/pw"

# MEDVAULT_PASSWORD and --password-command work too
expect_exit 0 env -u MEDVAULT_PASSWORD_FILE MEDVAULT_PASSWORD='Correct-Horse-Battery-9' "$MV_BIN" snapshots -r "$R"
expect_exit 0 env -u MEDVAULT_PASSWORD_FILE "$MV_BIN" snapshots -r "$R" --password-command "cat $T/pw"

# the recovery key opens the repository
expect_exit 0 mv init -r "$T/repo2" --recovery-key-file "$T/rk"
expect_exit 0 mv snapshots -r "$T/repo2" --password-file "$T/rk"

# a version field changed without the MAC is damage, not a newer format (a
# newer format with a valid MAC says "upgrade": unit.test_snapfind)
cp -a "$R" "$T/newer"
printf '\x02' | dd of="$T/newer/config" bs=1 seek=8 conv=notrunc status=none
expect_exit 4 mv snapshots -r "$T/newer"
grep -qi "damaged" "$T/err" || fail "damaged version field not reported as damage"
! grep -qi "upgrade" "$T/err" || fail "damaged version field blamed on the version"

# a tampered config is detected after unlocking
cp -a "$R" "$T/tampered"
python3 - "$T/tampered/config" <<'PY'
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[30] ^= 1; open(p, "wb").write(b)
PY
expect_exit 4 mv snapshots -r "$T/tampered"

# unreadable files: reported, listed in the snapshot, exit 3 (as an
# unprivileged user, since root reads everything)
if id nobody >/dev/null 2>&1 && command -v setpriv >/dev/null; then
	U="$T/user" && mkdir -p "$U/src/sub" && echo ok >"$U/src/ok.txt" && echo no >"$U/src/secret.txt"
	echo x >"$U/src/sub/x"
	chmod 000 "$U/src/secret.txt" "$U/src/sub"
	cp "$T/pw" "$U/pw"
	chown -R nobody "$U" && chmod 000 "$U/src/secret.txt"
	nob() { setpriv --reuid=nobody --regid=nogroup --clear-groups -- "$MV_BIN" "$@"; }
	expect_exit 0 nob init -r "$U/repo" --recovery-key-file "$U/rk" --password-file "$U/pw"
	expect_exit 3 nob backup -r "$U/repo" --password-file "$U/pw" "$U/src"
	grep -q "secret.txt" "$T/err" || fail "unreadable file not reported"
	expect_exit 0 nob snapshots -r "$U/repo" --password-file "$U/pw" --json
	grep -q "secret.txt" "$T/out" || fail "unreadable file not listed in the snapshot"
fi
pass
