# Shared setup of the findings' reproducers: sourced, not run.
# MEDVAULT: the binary (default: build/medvault of this worktree).
# Each reproducer exits 1 when the bug is present, 0 when it is not, 77 when it cannot run.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MVB=$(realpath "${MEDVAULT:-$HERE/../build/medvault}")
T=$(mktemp -d /tmp/mvfind.XXXXXX)
chmod 755 "$T"
MNT="$T/mnt"
cd "$T" # certificates written to the current folder stay here
cleanup() {
	local rc=$?
	umount -l "$MNT" 2>/dev/null
	rm -rf "$T"
	exit $rc
}
trap cleanup EXIT
printf 'Correct-Horse-Battery-9\n' >"$T/pw"
chmod 600 "$T/pw"
export MEDVAULT_PASSWORD_FILE="$T/pw" XDG_STATE_HOME="$T/state"
unset MEDVAULT_PASSWORD MEDVAULT_REPOSITORY
mvt() { "$MVB" "$@"; }
bug() { echo "BUG: $*" >&2; exit 1; }
ok() { echo "OK: $*"; exit 0; }
# ext4 loop image of SIZE mounted at $MNT
mount_ext4() {
	[ "$(id -u)" = 0 ] || { echo "SKIP: needs root"; exit 77; }
	truncate -s "${1:-64M}" "$T/disk.img"
	mkfs.ext4 -q -F "$T/disk.img" >/dev/null 2>&1 || exit 77
	mkdir -p "$MNT"
	mount -o loop "$T/disk.img" "$MNT" || { echo "SKIP: cannot mount"; exit 77; }
}
# init_backup REPO PATH...
init_backup() {
	local r=$1; shift
	mvt init -r "$r" --recovery-key-file "$(mktemp -u "$T/rk.XXXXXX")" >/dev/null 2>&1 || bug "init failed"
	mvt backup -r "$r" -q "$@" >/dev/null 2>&1 || bug "backup failed"
}
WIPE=(wipe --yes --accept-unreliable-medium)
# first_block_sum FILE: the hash of its first 4 KiB as on the medium
first_block_sum() { dd if="$1" bs=4096 count=1 iflag=direct 2>/dev/null | sha256sum; }
# start_until_overwrite FILE OUT ARGS...: runs medvault ARGS in the background
# (output to OUT) and returns once FILE's first block changed (its overwrite
# began) or medvault ended; BG_PID is its pid.
start_until_overwrite() {
	local f=$1 out=$2 orig
	shift 2
	orig=$(head -c 4096 "$f" | sha256sum)
	"$MVB" "$@" >"$out" 2>&1 &
	BG_PID=$!
	for _ in $(seq 1 1200); do
		sleep 0.05
		kill -0 $BG_PID 2>/dev/null || return 0
		[ "$(first_block_sum "$f")" != "$orig" ] && return 0
	done
}
