# Shared helpers of the end-to-end tests. Each t_*.sh sources this file; it
# runs the real binary ($MEDVAULT) in a fresh temporary directory.
set -euo pipefail

MV_BIN=${MEDVAULT:?set MEDVAULT to the medvault binary}
SRC=${MEDVAULT_TEST_SRC:?set MEDVAULT_TEST_SRC to the source tree}
# absolute, so that a test may change its current folder
case "$MV_BIN" in */*) MV_BIN=$(realpath "$MV_BIN") ;; *) MV_BIN=$(command -v "$MV_BIN") ;; esac
SRC=$(realpath "$SRC")
T=$(mktemp -d /tmp/mvtest.XXXXXX)
chmod 755 "$T"
cleanup() {
	local rc=$?
	for m in "${MOUNTS[@]:-}"; do [ -n "$m" ] && umount -l "$m" 2>/dev/null || true; done
	for l in "${LOOPS[@]:-}"; do [ -n "$l" ] && losetup -d "$l" 2>/dev/null || true; done
	rm -rf "$T"
	exit $rc
}
MOUNTS=()
LOOPS=() # loop devices (losetup) detached at exit
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

# expect_exit_in "CODE..." cmd...: as expect_exit, for any of the CODEs
# (where a correct program may answer either); the code is left in $RC.
expect_exit_in() {
	local want=$1
	shift
	set +e
	"$@" >"$T/out" 2>"$T/err"
	RC=$?
	set -e
	case " $want " in *" $RC "*) return 0 ;; esac
	echo "--- stdout"; cat "$T/out"; echo "--- stderr"; cat "$T/err"
	fail "'$*' exited $RC, expected one of $want"
}

# Builds a tree with every file kind medvault stores.
make_tree() { python3 "$SRC/tests/e2e/mktree.py" "$@"; }

# Compares two trees: contents, kinds, modes, mtimes (ns), symlink targets,
# sizes; exits non-zero and prints the differences if any.
compare_trees() { python3 "$SRC/tests/e2e/treecmp.py" "$@"; }

# loop_mount SIZE MKFS-OPTIONS...: an ext4 file system of SIZE (as truncate
# takes it) mounted at $T/mnt (unmounted at exit); exits 77 (skip) where
# that cannot be done (not root, no mkfs.ext4, loop mounts refused).
loop_mount() {
	local size=$1
	shift
	[ "$(id -u)" = 0 ] || { echo "SKIP: needs root for mount -o loop"; exit 77; }
	command -v mkfs.ext4 >/dev/null || { echo "SKIP: no mkfs.ext4"; exit 77; }
	truncate -s "$size" "$T/disk.img"
	mkfs.ext4 -q -F "$@" "$T/disk.img"
	mkdir -p "$T/mnt"
	if ! mount -o loop "$T/disk.img" "$T/mnt" 2>/dev/null; then
		echo "SKIP: mount -o loop not permitted here"
		exit 77
	fi
	MOUNTS=("$T/mnt")
}

# unmount_image: unmounts $T/mnt (made by loop_mount) and detaches its loop
# device, so that $T/disk.img holds every byte written and can be searched.
unmount_image() {
	sync
	umount "$T/mnt"
	MOUNTS=()
	local l
	for l in $(losetup -j "$T/disk.img" -O NAME -n 2>/dev/null); do losetup -d "$l" 2>/dev/null || true; done
}

# The wipe tests' Python helpers (tests/e2e/wipetool.py: markers, marker files,
# searching a raw image, certificate items, tree hashes, byte flips).
wt() { python3 "$SRC/tests/e2e/wipetool.py" "$@"; }

# two_files_src DIR SIZE A B SMALL: DIR/a/A and DIR/b/B of SIZE random bytes
# (each in a pack of its own) and DIR/b/SMALL holding "small".
two_files_src() {
	mkdir -p "$1/a" "$1/b"
	head -c "$2" /dev/urandom >"$1/a/$3"
	head -c "$2" /dev/urandom >"$1/b/$4"
	echo "small" >"$1/b/$5"
}

# init_backup REPO PATHS...: a new repository and a first backup into it.
init_backup() {
	local r=$1
	shift
	expect_exit 0 mv init -r "$r" --recovery-key-file "$(keyfile)"
	expect_exit 0 mv backup -r "$r" "$@"
}

# dcm_image_tail STUDY_UID SERIES_UID LAST: the end of a dump2dcm data set
# dump: birth date, sex, study and series, a 2x2 16-bit image whose last
# pixel value is LAST (hex).
dcm_image_tail() {
	cat <<EOF
(0010,0030) DA [19530412]
(0010,0040) CS [F]
(0020,000d) UI [$1]
(0020,000e) UI [$2]
(0028,0002) US 1
(0028,0004) CS [MONOCHROME2]
(0028,0010) US 2
(0028,0011) US 2
(0028,0100) US 16
(0028,0101) US 12
(0028,0102) US 11
(0028,0103) US 0
(7fe0,0010) OW 0001\\0002\\0003\\$3
EOF
}

dir_size() { du -sb "$1" | cut -f1; }

# wait_for_lock REPO: waits up to 5 s for a lock file in REPO/locks (a
# command started in the background took its lock); fails when none comes.
wait_for_lock() {
	for _ in $(seq 1 100); do
		[ -n "$(ls "$1/locks")" ] && return 0
		sleep 0.05
	done
	fail "no lock was taken in $1"
}

# put_back COPY REPO: REPO replaced by an older copy of itself, on purpose
# (a test's fixture): this machine's rollback record (SECURITY.md 1.4) is
# dropped too, else every command would rightly report a rollback.
put_back() {
	rm -rf "$2" && cp -a "$1" "$2"
	find "$XDG_STATE_HOME" -name 'rollback-*' -delete 2>/dev/null || true
}

pass() { echo "PASS: $(basename "$0")"; }
