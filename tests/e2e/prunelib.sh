# Helpers of the prune tests (t_prune.sh, t_prune_kill.sh), sourced after
# lib.sh.

# prune_history REPO: a new repository and five backups of $T/src with
# changes between them (files changed, added, removed); the source as each
# backup saw it is kept in $T/state/N and the snapshot's id in SNAPS[N]
# (N = 1..5). Snapshot 2 alone holds b/big (9 MB, in a pack with a/f1 that
# later snapshots keep), snapshot 3 alone b/tmp (4 MB, in a pack of its
# own), snapshots 4 and 5 b/mid.
SNAPS=()
prune_history() {
	local r=$1 i before
	mkdir -p "$T/src/a" "$T/src/b" "$T/state"
	for i in 1 2 3 4 5 6; do head -c 2500000 /dev/urandom >"$T/src/a/f$i"; done
	echo small >"$T/src/b/note.txt"
	expect_exit 0 mv init -r "$r" --recovery-key-file "$(keyfile)"
	for i in 1 2 3 4 5; do
		case $i in
		2)
			head -c 2500000 /dev/urandom >"$T/src/a/f1"
			head -c 9000000 /dev/urandom >"$T/src/b/big"
			;;
		3)
			head -c 4000000 /dev/urandom >"$T/src/b/tmp"
			rm "$T/src/b/big"
			;;
		4)
			rm "$T/src/b/tmp"
			head -c 2500000 /dev/urandom >"$T/src/a/f2"
			head -c 6000000 /dev/urandom >"$T/src/b/mid"
			head -c 2500000 /dev/urandom >"$T/src/a/f3"
			;;
		5)
			rm "$T/src/a/f4"
			echo changed >>"$T/src/b/note.txt"
			;;
		esac
		before=$(ls "$r/snapshots")
		expect_exit 0 mv backup -r "$r" "$T/src"
		SNAPS[i]=$(comm -13 <(echo "$before") <(ls "$r/snapshots"))
		[ -n "${SNAPS[i]}" ] || fail "backup $i wrote no snapshot"
		cp -a "$T/src" "$T/state/$i"
	done
}

# forget_snapshots REPO N...: deletes the snapshot files of SNAPS[N] (what
# forget does).
forget_snapshots() {
	local r=$1 i
	shift
	for i in "$@"; do rm "$r/snapshots/${SNAPS[i]}"; done
}

# restore_kept REPO N...: restores SNAPS[N] for each N and compares it with
# the source it was made from.
restore_kept() {
	local r=$1 i
	shift
	for i in "$@"; do
		rm -rf "$T/restore"
		expect_exit 0 mv restore -r "$r" "${SNAPS[i]}" --target "$T/restore"
		compare_trees "$T/state/$i" "$T/restore$T/src" || fail "snapshot $i differs after prune"
	done
	rm -rf "$T/restore"
}

# repo_files REPO: every file of the repository but the locks, with its
# checksum, one a line (to show that nothing changed).
repo_files() {
	(cd "$1" && find . -type f ! -path './locks/*' -print0 | sort -z | xargs -0 md5sum)
}

count_files() { find "$1" -type f | wc -l; }
