#!/usr/bin/env bash
# Repository files that are not regular files (issue 8 item 15): a fifo in
# place of config, a key slot, a snapshot, an index or a pack, a symbolic
# link in place of config pointing to a valid config elsewhere. The local
# backend never follows nor opens them: every command ends within seconds
# (a fifo used to block every read) with a non-zero exit and a message naming
# the file. docs/SECURITY.md: such a file is damage, exit 4.
. "$(dirname "$0")/lib.sh"

R="$T/repo"
mkdir -p "$T/src/d"
head -c 200000 /dev/urandom >"$T/src/d/a.bin"
echo "small" >"$T/src/d/small.txt"
expect_exit 0 mv init -r "$R" --recovery-key-file "$(keyfile)"
expect_exit 0 mv backup -r "$R" "$T/src"
cp -a "$R" "$T/pristine"
fresh() { put_back "$T/pristine" "$R"; }

# run CODE ARGS...: the real binary under a 20 s timeout (124 = it hung).
run() {
	local want=$1
	shift
	expect_exit "$want" timeout 20 "$MV_BIN" "$@"
}
# names FILE KIND: stderr names the file (by its base name) and what it is.
names() {
	grep -q "$(basename "$1")" "$T/err" || fail "message does not name '$1': $(cat "$T/err")"
	grep -q "is $2, not a regular file" "$T/err" ||
		fail "message does not say '$1' is $2: $(cat "$T/err")"
}
fifo_for() { rm -f "$1" && mkfifo "$1"; }
# check_names FILE KIND [ARGS...]: check ARGS exits 4, naming the file (by its
# base name) and what it is.
check_names() {
	local f=$1 kind=$2
	shift 2
	run 4 check -r "$R" "$@"
	grep -q "$(basename "$f")" "$T/out" "$T/err" || fail "check $* did not name '$f'"
	grep -q "is $kind, not a regular file" "$T/out" "$T/err" ||
		fail "check $* did not say '$f' is $kind"
}

# config: a fifo, then a symbolic link to a valid copy elsewhere
fresh
fifo_for "$R/config"
run 4 snapshots -r "$R"
names "$R/config" "a fifo"
run 4 check -r "$R"
names "$R/config" "a fifo"

fresh
mkdir "$T/elsewhere"
cp "$R/config" "$T/elsewhere/config"
rm "$R/config"
ln -s "$T/elsewhere/config" "$R/config"
run 4 snapshots -r "$R"
names "$R/config" "a symbolic link"
run 4 restore -r "$R" latest --target "$T/restore"
names "$R/config" "a symbolic link"
[ ! -e "$T/restore" ] || fail "restore wrote files through a symlinked config"

# key slots: every slot a fifo (none can be read: the password cannot be
# tried, and it is not called a wrong password)
fresh
for k in "$R"/keys/*; do fifo_for "$k"; done
run 4 snapshots -r "$R"
grep -q "keys/" "$T/err" || fail "no key slot named: $(cat "$T/err")"
grep -q "is a fifo, not a regular file" "$T/err" || fail "fifo slot not explained: $(cat "$T/err")"
if grep -q "wrong password" "$T/err"; then fail "a fifo slot reported as a wrong password"; fi

# a snapshot file
fresh
snap=$(find "$R/snapshots" -type f | head -1)
fifo_for "$snap"
run 4 snapshots -r "$R"
names "$snap" "a fifo"
run 4 check -r "$R"
grep -q "$(basename "$snap")" "$T/out" "$T/err" || fail "check did not name the snapshot file"

# an index file
fresh
idx=$(find "$R/index" -type f | head -1)
fifo_for "$idx"
check_names "$idx" "a fifo"

# a pack: check names it; restore ends (non-zero) instead of blocking
fresh
pack=$(find "$R/data" -type f | head -1)
fifo_for "$pack"
check_names "$pack" "a fifo"
run 4 check -r "$R" --read-data
grep -q "$(basename "$pack")" "$T/out" "$T/err" || fail "check --read-data did not name the pack"
run 4 restore -r "$R" latest --target "$T/restore2"

# a pack replaced by a symbolic link to an intact copy is refused as well
fresh
cp "$pack" "$T/elsewhere/pack"
rm "$pack"
ln -s "$T/elsewhere/pack" "$pack"
check_names "$pack" "a symbolic link" --read-data

# a fifo no index names is listed, never opened: a backup finishes, and
# check finishes too, naming it as damage (packs are renamed into place
# whole, so anything else in data/ was not written by medvault)
fresh
mkfifo "$R/data/00/0000000000000000000000000000000000000000000000000000000000000000" 2>/dev/null ||
	{ mkdir -p "$R/data/00" &&
		mkfifo "$R/data/00/0000000000000000000000000000000000000000000000000000000000000000"; }
echo "new" >"$T/src/d/new.txt"
run 0 backup -r "$R" "$T/src"
run 4 check -r "$R"
grep -q "is a fifo, not a regular file" "$T/out" "$T/err" || fail "check did not name the fifo in data/"

# a fifo among the lock files is never opened (no hang), and is a damaged
# lock of unknown holder: writers and readers exit 11 naming it (FORMAT.md
# 10: a damaged lock is never ignored nor removed by itself), --no-lock
# readers go on, and once it is deleted the backup runs
fresh
lk="$R/locks/1111111111111111111111111111111111111111111111111111111111111111"
mkfifo "$lk"
run 11 backup -r "$R" "$T/src"
grep -q "is a fifo, not a regular file" "$T/err" || fail "the fifo lock is not named: $(cat "$T/err")"
run 11 restore -r "$R" latest --target "$T/restore2"
run 0 restore -r "$R" latest --target "$T/restore2" --no-lock
run 0 unlock -r "$R"
[ -p "$lk" ] || fail "unlock removed a damaged lock by itself"
rm -f "$lk"
run 0 backup -r "$R" "$T/src"
run 0 restore -r "$R" latest --target "$T/restore3"
cmp -s "$T/src/d/a.bin" "$T/restore3$T/src/d/a.bin" || fail "restore with a fifo lock differs"
pass
