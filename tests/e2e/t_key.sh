#!/usr/bin/env bash
# medvault key (issue 11, keys): list with origin (--json too), add a
# password (weak ones refused, a passphrase offered), remove (never the last
# slot, not the one in use without --force), passwd, test --recovery right
# and wrong (exit 12), a machine key that unlocks with no password and no
# terminal, machine key files with loose permissions or another owner
# refused, the passwd hint after a recovery-key open, and kill -9 at each
# write of key add and key remove: the repository opens, check passes and
# the next key command finishes the change.
. "$(dirname "$0")/lib.sh"

R="$T/repo"
mkdir -p "$T/src" && echo hello >"$T/src/a.txt"
expect_exit 0 mv init -r "$R" --recovery-key-file "$T/rk"
expect_exit 0 mv backup -r "$R" "$T/src"
newpw() { printf '%s\n' "$2" >"$T/$1" && chmod 600 "$T/$1"; }
newpw pw2 'Second-Strong-Pass-42'
newpw pw3 'Third-Strong-Pass-1234'
newpw weak 'Password123'

# list: the two slots of init with kind, creation time, host and user
expect_exit 0 mv key list -r "$R" --json
python3 - "$T/out" "$(hostname)" "$(id -un)" <<'PY'
import json, sys
ks = json.load(open(sys.argv[1]))
assert sorted(k["kind"] for k in ks) == ["password", "recovery"], ks
for k in ks:
    assert k["host"] == sys.argv[2] and k["user"] == sys.argv[3], k
    assert k["created"].startswith("20"), k
    assert k["state"] == "ok", k
assert [k["kind"] for k in ks if k["current"]] == ["password"], ks
PY
expect_exit 0 mv key list -r "$R"
grep -q '^\* [0-9a-f]\{16\}  password' "$T/out" || fail "list does not mark the slot in use"

# add: a weak password is refused with the rule it misses and no slot made
expect_exit 1 mv key add -r "$R" --new-password-file "$T/weak"
grep -q "too weak: it has 11 characters of 3 kinds" "$T/err" || fail "weak password reason"
[ "$(ls "$R/keys" | wc -l)" = 2 ] || fail "a weak password made a slot"
# a strong one: a third slot, labelled, that opens the repository
expect_exit 0 mv key add -r "$R" --new-password-file "$T/pw2" --label "Dr Martin"
id2=$(sed -n 's/^added password key \([0-9a-f]*\)$/\1/p' "$T/out")
[ -n "$id2" ] || fail "key add did not name the new slot"
expect_exit 0 mv snapshots -r "$R" --password-file "$T/pw2"
expect_exit 0 mv key list -r "$R" --password-file "$T/pw2"
grep -q "^\* $id2  password  Dr Martin" "$T/out" || fail "new slot not listed as in use"

# remove: not the slot in use without --force (exit 2), then by a prefix
expect_exit 2 mv key remove -r "$R" --password-file "$T/pw2" "$id2"
grep -q "opened the repository" "$T/err" || fail "in-use refusal message"
expect_exit 0 mv key remove -r "$R" "${id2:0:8}"
expect_exit 12 mv snapshots -r "$R" --password-file "$T/pw2"
expect_exit 0 mv check -r "$R"

# passwd: the new password opens, the old one no longer does
expect_exit 0 mv key passwd -r "$R" --new-password-file "$T/pw3"
grep -q "removed the old password" "$T/out" || fail "passwd did not remove the old slot"
expect_exit 12 mv snapshots -r "$R"
export MEDVAULT_PASSWORD_FILE="$T/pw3"
expect_exit 0 mv snapshots -r "$R"
[ "$(ls "$R/keys" | wc -l)" = 2 ] || fail "passwd left $(ls "$R/keys" | wc -l) slots"

# test --recovery: the right key (exit 0), a wrong one and a non-key (12)
expect_exit 0 mv key test --recovery -r "$R" --recovery-key-file "$T/rk"
grep -q "the recovery key opens the repository" "$T/out" || fail "key test message"
python3 -c "import secrets; print('-'.join(secrets.token_hex(4) for _ in range(8)))" >"$T/rk-wrong"
chmod 600 "$T/rk-wrong"
expect_exit 12 mv key test --recovery -r "$R" --recovery-key-file "$T/rk-wrong"
grep -q "does NOT open" "$T/err" || fail "wrong recovery key message"
expect_exit 12 mv key test --recovery -r "$R" --recovery-key-file "$T/pw3"
# the password is no recovery key, even where it opens the repository
expect_exit 0 mv snapshots -r "$R" --password-file "$T/pw3"

# a second recovery key: to a new file (no terminal here: refused without
# one, exit 2), and it opens
expect_exit 2 mv key add --recovery -r "$R"
expect_exit 0 mv key add --recovery -r "$R" --recovery-key-file "$T/rk-b"
[ "$(stat -c %a "$T/rk-b")" = 600 ] || fail "recovery key file mode"
expect_exit 0 mv key test --recovery -r "$R" --recovery-key-file "$T/rk-b"
expect_exit 2 mv key add --recovery -r "$R" --recovery-key-file "$T/rk-b"

# opened with the recovery key: the warning offers key passwd, which adds a
# password and keeps the recovery key
expect_exit 0 mv snapshots -r "$R" --password-file "$T/rk"
grep -q "medvault key passwd" "$T/err" || fail "recovery open does not offer key passwd"
newpw pw4 'Fourth-Strong-Pass-5678'
expect_exit 0 mv key passwd -r "$R" --password-file "$T/rk" --new-password-file "$T/pw4"
expect_exit 0 mv key test --recovery -r "$R" --recovery-key-file "$T/rk"
expect_exit 0 mv snapshots -r "$R" --password-file "$T/pw4"

# the last slot is never removed: remove all but one, then try it
expect_exit 0 mv key list -r "$R" --json
mapfile -t ids < <(python3 -c 'import json,sys; [print(k["id"]) for k in json.load(open(sys.argv[1]))]' "$T/out")
for id in "${ids[@]}"; do
	[ "$(ls "$R/keys" | wc -l)" -gt 1 ] || break
	expect_exit_in "0 2" mv key remove -r "$R" --password-file "$T/rk" "$id"
done
left=$(ls "$R/keys")
[ "$(echo "$left" | wc -l)" = 1 ] || fail "could not bring the repository to one slot"
expect_exit 2 mv key remove -r "$R" --password-file "$T/rk" --force "$left"
grep -q "last key slot" "$T/err" || fail "last-slot refusal message"
[ -e "$R/keys/$left" ] || fail "the last slot was removed"
expect_exit 0 mv check -r "$R" --password-file "$T/rk"

# a machine key: a new 0600 file of ours, never overwriting one
export MEDVAULT_PASSWORD_FILE="$T/pw"
R2="$T/repo2"
expect_exit 0 mv init -r "$R2" --recovery-key-file "$T/rk2"
expect_exit 0 mv key add -r "$R2" --machine "$T/m.key"
[ "$(stat -c '%a %u' "$T/m.key")" = "600 $(id -u)" ] || fail "machine key file mode or owner"
cp "$T/m.key" "$T/m.copy"
expect_exit 2 mv key add -r "$R2" --machine "$T/m.key"
cmp -s "$T/m.key" "$T/m.copy" || fail "an existing key file was overwritten"
ln -s "$T/nowhere" "$T/link.key"
expect_exit 2 mv key add -r "$R2" --machine "$T/link.key"
[ ! -e "$T/nowhere" ] || fail "key add followed a symbolic link"
# it unlocks with no password source and no terminal
nopw() { env -u MEDVAULT_PASSWORD_FILE -u MEDVAULT_PASSWORD setsid "$MV_BIN" "$@" </dev/null; }
expect_exit 0 nopw -r "$R2" --key-file "$T/m.key" backup "$T/src"
expect_exit 0 env MEDVAULT_KEY_FILE="$T/m.key" bash -c \
	'exec env -u MEDVAULT_PASSWORD_FILE setsid "$0" -r "$1" snapshots </dev/null' "$MV_BIN" "$R2"
expect_exit 0 nopw -r "$R2" --key-file "$T/m.key" check
# without it there is no password source: exit 1, not a hang
expect_exit 1 nopw -r "$R2" snapshots
# a key file that is not one, and one with the key flipped (exit 12)
echo "not a key" >"$T/bad.key" && chmod 600 "$T/bad.key"
expect_exit 1 nopw -r "$R2" --key-file "$T/bad.key" snapshots
grep -q "not a medvault machine key file" "$T/err" || fail "bad key file message"
sed 's/^[0-9a-f]/0/;s/^0/1/' "$T/m.key" | grep -v '^#' >"$T/wrong.key" && chmod 600 "$T/wrong.key"
cmp -s <(grep -v '^#' "$T/m.key") "$T/wrong.key" && fail "test key not changed"
expect_exit 12 nopw -r "$R2" --key-file "$T/wrong.key" snapshots
# loose permissions: refused with the chmod to run (exit 1), nothing read
for mode in 644 640 604 660; do
	chmod "$mode" "$T/m.key"
	expect_exit 1 nopw -r "$R2" --key-file "$T/m.key" snapshots
	grep -q "chmod 600 $T/m.key" "$T/err" || fail "mode $mode: no chmod hint"
done
chmod 400 "$T/m.key"
expect_exit 0 nopw -r "$R2" --key-file "$T/m.key" snapshots
chmod 600 "$T/m.key"
# another owner: refused with the chown to run
if [ "$(id -u)" = 0 ] && id nobody >/dev/null 2>&1; then
	chown nobody "$T/m.key"
	expect_exit 1 nopw -r "$R2" --key-file "$T/m.key" snapshots
	grep -q "belongs to user nobody.*chown root $T/m.key" "$T/err" || fail "no chown hint"
	chown root "$T/m.key"
fi
# --key-file with a password option is a usage error
expect_exit 2 mv -r "$R2" --key-file "$T/m.key" --password-file "$T/pw" snapshots
# removed, the machine key opens nothing (exit 12)
mid=$(python3 -c 'import json,sys; print([k["id"] for k in json.load(open(sys.argv[1])) if k["kind"]=="machine"][0])' \
	<(env -u MEDVAULT_PASSWORD_FILE "$MV_BIN" -r "$R2" --key-file "$T/m.key" key list --json))
expect_exit 0 mv key remove -r "$R2" --password-file "$T/pw" "$mid"
expect_exit 12 nopw -r "$R2" --key-file "$T/m.key" snapshots

# kill -9 at each write of key add and key remove (strace stops the process
# at its Nth rename or unlink): the repository opens with the old keys,
# check passes (stale lock removed first), and the next key command
# finishes the change
if command -v strace >/dev/null; then
	R3="$T/repo3"
	expect_exit 0 mv init -r "$R3" --recovery-key-file "$T/rk3"
	kill_at() { # SYSCALL N medvault-args...
		local sc=$1 n=$2
		shift 2
		set +e
		(strace -f -qq -o /dev/null -e trace="$sc" -e inject="$sc":signal=KILL:when="$n" \
			"$MV_BIN" "$@" >/dev/null 2>&1) 2>/dev/null
		set -e
	}
	after_kill() {
		expect_exit 0 mv unlock -r "$R3" --password-file "$T/pw"
		expect_exit 0 mv snapshots -r "$R3" --password-file "$T/pw"
		expect_exit 0 mv check -r "$R3" --password-file "$T/pw"
		# the kill points hit changes under way (else this tests nothing)
		if grep -q 'key change.* interrupted' "$T/out"; then pending=$((pending + 1)); fi
		expect_exit 0 mv key list -r "$R3" --password-file "$T/pw"
		grep -q '(unlisted)' "$T/out" && fail "$1: a slot looks planted"
		true
	}
	pending=0
	for n in 2 3 4; do
		kill_at rename "$n" key add -r "$R3" --password-file "$T/pw" --new-password-file "$T/pw2"
		after_kill "add, rename $n"
		# the next key command settles it: the new password opens or is gone
		expect_exit 0 mv key add -r "$R3" --password-file "$T/pw" --machine "$T/m3-$n.key"
		expect_exit 0 mv key list -r "$R3" --password-file "$T/pw"
		grep -q '(adding)\|(removing)' "$T/out" && fail "add, rename $n: not settled"
		expect_exit 0 mv check -r "$R3" --password-file "$T/pw"
	done
	for sc in unlink rename; do
		expect_exit 0 mv key list -r "$R3" --password-file "$T/pw" --json
		victim=$(python3 -c 'import json,sys; print([k["id"] for k in json.load(open(sys.argv[1])) if k["kind"]=="machine"][0])' "$T/out")
		# unlink 1 is the old key list, 2 the slot; rename 2 the list
		# naming it as removed, 3 the list without it
		for n in 2 3; do
			kill_at "$sc" "$n" key remove -r "$R3" --password-file "$T/pw" "$victim"
			after_kill "remove, $sc $n"
		done
		expect_exit 0 mv key list -r "$R3" --password-file "$T/pw"
		if grep -q "${victim:0:16}" "$T/out"; then
			expect_exit 0 mv key remove -r "$R3" --password-file "$T/pw" "$victim"
		fi
		[ ! -e "$R3/keys/$victim" ] || fail "remove ($sc): slot still there"
		expect_exit 0 mv check -r "$R3" --password-file "$T/pw"
	done
	[ "$pending" -ge 4 ] || fail "only $pending kill points left a key change under way"
fi
echo "t_key: ok"
