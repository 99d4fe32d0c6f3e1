# Shared setup of the findings' reproducers: sourced, not run.
# MEDVAULT: the binary (default: build/medvault of this worktree).
# Each reproducer exits 1 when the bug is present, 0 when it is not, 77 when it cannot run.
set -uo pipefail
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
MVB=$(realpath "${MEDVAULT:-$HERE/../build/medvault}")
T=$(mktemp -d /tmp/mvtrial.XXXXXX)
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
# written PID: bytes the process has written to storage (its /proc/PID/io),
# 0 once it is gone. The file being wiped is not opened to see whether its
# overwrite began: wipe holds a lease on it, so an open would wait.
written() {
	awk '/^write_bytes:/ {print $2; f=1} END {if (!f) print 0}' "/proc/$1/io" 2>/dev/null || echo 0
}

# start_until_overwrite FILE OUT ARGS...: runs medvault ARGS in the background
# (output to OUT) and returns once it has written 16 MiB (the overwrite of a
# big file began) or ended; BG_PID is its pid.
start_until_overwrite() {
	local out=$2
	shift 2
	"$MVB" "$@" >"$out" 2>&1 &
	BG_PID=$!
	for _ in $(seq 1 1200); do
		sleep 0.05
		kill -0 $BG_PID 2>/dev/null || return 0
		[ "$(written $BG_PID)" -gt $((16 << 20)) ] && return 0
	done
}
