#!/usr/bin/env bash
# Restore and its target: a full or read-only disk is a clear error (exit 1,
# not 4) that leaves no incomplete file under a real name, and the re-run
# after space was freed completes; a folder that cannot be written fails
# only its files; a conflict is named and the rest restored; hard links,
# paths longer than PATH_MAX, files unreadable at backup time, device nodes
# and set-user-id bits.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || { echo "SKIP: needs root (mount -o loop, mknod, chattr)"; exit 77; }
command -v mkfs.ext4 >/dev/null || { echo "SKIP: no mkfs.ext4"; exit 77; }

R="$T/repo"
mkdir -p "$T/src/imaging" "$T/src/other"
for i in $(seq 1 14); do head -c 1000000 /dev/urandom >"$T/src/imaging/IM$i.dcm"; done
echo "small" >"$T/src/other/small.txt"
expect_exit 0 mv init -r "$R" --recovery-key-file "$(keyfile)"
expect_exit 0 mv backup -r "$R" "$T/src"
expect_exit 0 mv snapshots -r "$R" --json
SNAP1=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["id"])' "$T/out")

# every file under its real name is complete
complete_or_absent() {
	local dst=$1 f
	while read -r f; do
		cmp -s "$f" "${f#"$dst"}" || fail "incomplete file under its real name: $f"
	done < <(find "$dst" -type f)
}

# --- a full target: 14 MB onto a disk with about 5 MB free
truncate -s 24M "$T/disk.img"
mkfs.ext4 -q -F -m 0 "$T/disk.img"
mkdir -p "$T/mnt"
mount -o loop "$T/disk.img" "$T/mnt" || { echo "SKIP: mount -o loop not permitted"; exit 77; }
MOUNTS=("$T/mnt")
avail=$(df -B1 --output=avail "$T/mnt" | tail -1)
head -c $((avail - 5000000)) /dev/zero >"$T/mnt/filler" 2>/dev/null || true
expect_exit 1 mv restore -r "$R" latest --target "$T/mnt/restore"
grep -q "No space left on device" "$T/err" || fail "a full disk not named as such"
grep -q "$T/mnt/restore" "$T/err" || fail "the target not named"
grep -qi "damaged" "$T/err" && fail "a full target reported as damage"
complete_or_absent "$T/mnt/restore"
[ -z "$(find "$T/mnt/restore" -name '.medvault-*')" ] || fail "temporary files left on the full disk"
# the re-run says the same, not "all is well"
expect_exit 1 mv restore -r "$R" latest --target "$T/mnt/restore"
grep -q "No space left on device" "$T/err" || fail "re-run on a full disk hid the error"
rm -f "$T/mnt/filler"
expect_exit 0 mv restore -r "$R" latest --target "$T/mnt/restore"
compare_trees "$T/src" "$T/mnt/restore$T/src" || fail "re-run after freeing space differs"

# --- a read-only target
rm -rf "$T/mnt/restore"
mount -o remount,ro "$T/mnt"
expect_exit 1 mv restore -r "$R" latest --target "$T/mnt/restore"
grep -q "Read-only file system" "$T/err" || fail "read-only target not named as such"
mount -o remount,rw "$T/mnt"

# --- a folder that cannot be written (immutable): its files are named, the rest restored
mkdir -p "$T/mnt/r2$T/src/imaging"
if chattr +i "$T/mnt/r2$T/src/imaging" 2>/dev/null; then
	expect_exit 1 mv restore -r "$R" latest --target "$T/mnt/r2"
	grep -q "IM1.dcm" "$T/err" || fail "files of an unwritable folder not named"
	cmp -s "$T/src/other/small.txt" "$T/mnt/r2$T/src/other/small.txt" || fail "other files not restored"
	chattr -i "$T/mnt/r2$T/src/imaging"
fi
umount "$T/mnt"
MOUNTS=()

# --- a conflict: a file where the snapshot has a folder; the rest is restored
mkdir -p "$T/r3$T/src"
echo "in the way" >"$T/r3$T/src/imaging"
expect_exit 1 mv restore -r "$R" latest --target "$T/r3"
grep -q "imaging" "$T/err" || fail "conflict not named"
cmp -s "$T/src/other/small.txt" "$T/r3$T/src/other/small.txt" || fail "conflict stopped the restore"
grep -q "in the way" "$T/r3$T/src/imaging" || fail "conflicting file replaced"

# --- hard links, device nodes, set-user-id bits
mkdir -p "$T/s2/a" "$T/s2/b"
head -c 100000 /dev/urandom >"$T/s2/a/x.bin"
ln "$T/s2/a/x.bin" "$T/s2/b/y.bin"
ln "$T/s2/a/x.bin" "$T/s2/a/z.bin"
mknod "$T/s2/null" c 1 3
echo '#!/bin/sh' >"$T/s2/tool" && chmod 4755 "$T/s2/tool"
expect_exit 0 mv backup -r "$R" "$T/s2"
expect_exit 0 mv restore -r "$R" latest --target "$T/r4"
[ "$(stat -c %i "$T/r4$T/s2/a/x.bin")" = "$(stat -c %i "$T/r4$T/s2/b/y.bin")" ] || fail "hard link restored as a copy"
[ "$(stat -c %h "$T/r4$T/s2/a/x.bin")" = 3 ] || fail "hard link count wrong"
cmp -s "$T/s2/a/x.bin" "$T/r4$T/s2/b/y.bin" || fail "hard link content differs"
[ ! -e "$T/r4$T/s2/null" ] || fail "device node made without --devices"
grep -q "null" "$T/err" || fail "device node left out without a word"
[ "$(stat -c %a "$T/r4$T/s2/tool")" = 755 ] || fail "set-user-id bit restored without --setuid"
expect_exit 0 mv restore -r "$R" latest --target "$T/r4" # re-run: links kept
# --overwrite if-changed trusts size and time: a first name replaced by other
# bytes with the same time is kept, and the intact links are not replaced by
# links to it; an equal file gets its mode back
cp "$T/r4$T/s2/a/x.bin" "$T/x.bad" && printf 'X' | dd of="$T/x.bad" bs=1 seek=10 conv=notrunc 2>/dev/null
touch -r "$T/r4$T/s2/a/x.bin" "$T/x.bad" && command mv "$T/x.bad" "$T/r4$T/s2/a/x.bin"
chmod 4777 "$T/r4$T/s2/tool"
expect_exit 0 mv restore -r "$R" latest --target "$T/r4" --overwrite if-changed
cmp -s "$T/s2/b/y.bin" "$T/r4$T/s2/b/y.bin" || fail "if-changed replaced an intact hard link"
cmp -s "$T/s2/a/z.bin" "$T/r4$T/s2/a/z.bin" || fail "if-changed replaced an intact hard link"
[ "$(stat -c %a "$T/r4$T/s2/tool")" = 755 ] || fail "if-changed left a set-user-id world-writable file"
expect_exit 0 mv restore -r "$R" latest --target "$T/r5" --devices --setuid
[ -c "$T/r5$T/s2/null" ] || fail "device node not made with --devices"
[ "$(stat -c %a "$T/r5$T/s2/tool")" = 4755 ] || fail "set-user-id bit not restored with --setuid"

# --- a path longer than PATH_MAX in the target: restored through folder handles
python3 - "$T/s3" <<'PY'
import os, sys
os.makedirs(sys.argv[1])
fd = os.open(sys.argv[1], os.O_RDONLY)
for i in range(18):
    n = ("d%02d" % i) + "x" * 196
    os.mkdir(n, dir_fd=fd)
    nfd = os.open(n, os.O_RDONLY, dir_fd=fd); os.close(fd); fd = nfd
f = os.open("deep.txt", os.O_WRONLY | os.O_CREAT, 0o644, dir_fd=fd)
os.write(f, b"deep content\n"); os.close(f)
PY
expect_exit 0 mv backup -r "$R" "$T/s3"
long="$T/$(printf 'L%.0s' $(seq 1 250))/$(printf 'M%.0s' $(seq 1 250))"
expect_exit 0 mv restore -r "$R" latest --target "$long"
got=$(cd "$long" && find . -name deep.txt -printf '%s\n')
[ "$got" = 13 ] || fail "file below PATH_MAX not restored ($got)"

# --- a file unreadable when backed up: named, not restored, not damage
mkdir -p "$T/s4" && echo "readable" >"$T/s4/ok.txt" && echo "secret" >"$T/s4/locked.txt"
chmod 000 "$T/s4/locked.txt"
cp -r "$R" "$T/repo4" && chown -R nobody "$T/repo4" "$T/s4"
cp "$T/pw" "$T/pw4" && chown nobody "$T/pw4" && chmod 600 "$T/pw4"
set +e
setpriv --reuid=nobody --regid=nogroup --clear-groups env MEDVAULT_PASSWORD_FILE="$T/pw4" \
	"$MV_BIN" backup -r "$T/repo4" "$T/s4" >"$T/out" 2>"$T/err"
code=$?
set -e
[ "$code" = 3 ] || { cat "$T/err"; fail "backup with an unreadable file exited $code, expected 3"; }
expect_exit 3 mv restore -r "$T/repo4" latest --target "$T/r6"
grep -q "locked.txt" "$T/err" || fail "unreadable file not named"
grep -q "not readable when it was backed up" "$T/err" || fail "unreadable file not explained"
grep -qi "damaged" "$T/err" && fail "unreadable file called damaged"
[ ! -e "$T/r6$T/s4/locked.txt" ] || fail "unreadable file restored (empty)"
cmp -s "$T/s4/ok.txt" "$T/r6$T/s4/ok.txt" || fail "readable file not restored"

# --- a target reached through a link that another user planted: refused
mkdir -p "$T/share" "$T/rootonly" && chown nobody "$T/share"
ln -s "$T/rootonly" "$T/share/dupont" && chown -h nobody "$T/share/dupont"
expect_exit 2 mv restore -r "$R" latest --target "$T/share/dupont"
grep -q "symbolic link" "$T/err" || fail "planted link on the target path not explained"
[ -z "$(ls -A "$T/rootonly")" ] || fail "restore followed a link planted by another user"
# in a sticky world-writable folder (like /tmp) a link of another user is
# refused, one of root's is followed (only its owner could replace it)
mkdir -p "$T/sticky" && chmod 1777 "$T/sticky"
ln -s "$T/rootonly" "$T/sticky/theirs" && chown -h nobody "$T/sticky/theirs"
expect_exit 2 mv restore -r "$R" "$SNAP1:$T/src/other" --target "$T/sticky/theirs"
[ -z "$(ls -A "$T/rootonly")" ] || fail "restore followed another user's link in a sticky folder"
ln -s "$T/rootonly" "$T/sticky/mine"
expect_exit 0 mv restore -r "$R" "$SNAP1:$T/src/other" --target "$T/sticky/mine"
rm -f "$T/rootonly/small.txt"
# a link of root's that leads through a folder another user can change: refused
rm -rf "$T/share/dd" && ln -s "$T/rootonly" "$T/share/dd" && chown -h nobody "$T/share/dd"
ln -s "$T/share/dd" "$T/via"
expect_exit 2 mv restore -r "$R" "$SNAP1:$T/src/other" --target "$T/via/x"
[ -z "$(ls -A "$T/rootonly")" ] || fail "restore followed a trusted link through another user's folder"
# leftovers that look like restore's but belong to another user are kept
mkdir -p "$T/lo2" && chmod 1777 "$T/lo2"
printf 'precious' >"$T/lo2/.medvault-0123456789abcdef.part" && chown nobody "$T/lo2/.medvault-0123456789abcdef.part"
expect_exit 0 mv restore -r "$R" "$SNAP1:$T/src/other" --target "$T/lo2"
[ -e "$T/lo2/.medvault-0123456789abcdef.part" ] || fail "another user's file removed as a leftover"
# a link in a folder only root can change is followed (the user's own choice)
ln -s "$T/rootonly" "$T/mine"
expect_exit 0 mv restore -r "$R" "$SNAP1:$T/src/other" --target "$T/mine"
cmp -s "$T/src/other/small.txt" "$T/rootonly/small.txt" || fail "trusted link on the target path not followed"

# --- a pack that cannot be read (an I/O error, here EACCES): its files are
# named and not restored, exit 1; that is not damage (exit 4)
rm -rf "$T/repo5" && cp -r "$R" "$T/repo5" && mkdir -p "$T/r7" && chown -R nobody "$T/repo5" "$T/r7"
# the largest pack holds file data (a tree pack would stop the restore at its
# start, exit 1 too)
chmod 000 "$(find "$T/repo5/data" -type f -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2)"
set +e
setpriv --reuid=nobody --regid=nogroup --clear-groups env MEDVAULT_PASSWORD_FILE="$T/pw4" \
	"$MV_BIN" restore -r "$T/repo5" "$SNAP1:$T/src" --target "$T/r7" >"$T/out" 2>"$T/err"
code=$?
set -e
[ "$code" = 1 ] || { cat "$T/err"; fail "restore with an unreadable pack exited $code, expected 1"; }
grep -q "Permission denied" "$T/err" || { cat "$T/err"; fail "unreadable pack not explained"; }
grep -qi "damaged" "$T/err" && fail "an unreadable pack called damage"
pass
