# Shared helpers of the end-to-end tests. Each t_*.sh sources this file; it
# runs the real binary ($MEDVAULT) in a fresh temporary directory.
set -euo pipefail

MV_BIN=${MEDVAULT:?set MEDVAULT to the medvault binary}
SRC=${MEDVAULT_TEST_SRC:?set MEDVAULT_TEST_SRC to the source tree}
T=$(mktemp -d /tmp/mvtest.XXXXXX)
chmod 755 "$T"
cleanup() {
	local rc=$?
	for m in "${MOUNTS[@]:-}"; do [ -n "$m" ] && umount -l "$m" 2>/dev/null || true; done
	rm -rf "$T"
	exit $rc
}
MOUNTS=()
trap cleanup EXIT

# A strong password in a 0600 file; the tests use it unless they say otherwise.
printf 'Correct-Horse-Battery-9\n' >"$T/pw"
chmod 600 "$T/pw"
export MEDVAULT_PASSWORD_FILE="$T/pw"
unset MEDVAULT_PASSWORD MEDVAULT_REPOSITORY
# `check` records its runs for `audit`; keep the tests' records to themselves
export XDG_STATE_HOME="$T/state"

mv() { "$MV_BIN" "$@"; }

# A fresh name for `init --recovery-key-file` (init prints the key only on a
# terminal, and refuses a file that exists).
keyfile() { mktemp -u "$T/recovery-key.XXXXXX"; }

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

# expect_exit CODE cmd...: runs cmd, fails unless it exits with CODE.
# Its stdout and stderr are kept in $T/out and $T/err.
expect_exit() {
	local want=$1
	shift
	set +e
	"$@" >"$T/out" 2>"$T/err"
	local got=$?
	set -e
	if [ "$got" != "$want" ]; then
		echo "--- stdout"; cat "$T/out"; echo "--- stderr"; cat "$T/err"
		fail "'$*' exited $got, expected $want"
	fi
}

# Builds a tree with every file kind medvault stores.
make_tree() { python3 "$SRC/tests/e2e/mktree.py" "$@"; }

# Compares two trees: contents, kinds, modes, mtimes (ns), symlink targets,
# sizes; exits non-zero and prints the differences if any.
compare_trees() { python3 "$SRC/tests/e2e/treecmp.py" "$@"; }

dir_size() { du -sb "$1" | cut -f1; }

pass() { echo "PASS: $(basename "$0")"; }
