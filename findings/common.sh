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
