#!/usr/bin/env bash
# A repository on a write-protected or full disk can be read (issue 8 item
# 9): restore, check, ls, find, dump, impact and scan -r work (exit 0) on a
# loop-mounted ext4 image mounted read-only, then on the same image full;
# where they would take a lock they say that they go on without one, and
# --no-lock skips the attempt silently. backup still fails, clearly.
. "$(dirname "$0")/lib.sh"

loop_mount 32M -m 0
R="$T/mnt/repo"
S="$T/src"
python3 "$SRC/tests/e2e/mkdicom.py" "$S/dicom/buc" 3 4000 1 "BUC^JEROME"
head -c 300000 /dev/urandom >"$S/data.bin"
echo hello >"$S/hello.txt"
expect_exit 0 mv init -r "$R" --recovery-key-file "$(keyfile)"
expect_exit 0 mv backup -r "$R" "$S"

# reads_work LABEL: every reading command exits 0 on the repository as it is
reads_work() {
	local label=$1
	rm -rf "$T/r" "$T/r2"
	expect_exit 0 mv restore -r "$R" latest --target "$T/r"
	grep -q "without a lock" "$T/err" || fail "$label: restore does not say it has no lock"
	compare_trees "$S" "$T/r$S" || fail "$label: restore differs"
	expect_exit 0 mv restore -r "$R" latest --target "$T/r2" --no-lock
	! grep -q "lock" "$T/err" || fail "$label: --no-lock still tries to lock"
	compare_trees "$S" "$T/r2$S" || fail "$label: restore --no-lock differs"
	expect_exit 0 mv check -r "$R" --read-data
	grep -q "without a lock" "$T/err" || fail "$label: check does not say it has no lock"
	expect_exit 0 mv ls -r "$R" latest
	grep -q "^$S/hello.txt$" "$T/out" || fail "$label: ls"
	grep -q "without a lock" "$T/err" || fail "$label: ls does not say it has no lock"
	expect_exit 0 mv find -r "$R" --patient buc
	grep -q "3 images found" "$T/out" || fail "$label: find"
	grep -q "without a lock" "$T/err" || fail "$label: find does not say it has no lock"
	mv dump -r "$R" latest "$S/hello.txt" >"$T/d.tar" 2>"$T/err" || fail "$label: dump failed"
	tar -xOf "$T/d.tar" | cmp - "$S/hello.txt" || fail "$label: dump content"
	grep -q "without a lock" "$T/err" || fail "$label: dump does not say it has no lock"
	expect_exit 0 mv impact -r "$R" latest --json
	python3 -c 'import json,sys; assert json.load(open(sys.argv[1]))["files"] == 3' "$T/out" ||
		fail "$label: impact"
	expect_exit 0 mv scan -r "$R" "$S/dicom"
	grep -q "without a lock" "$T/err" || fail "$label: scan does not say it has no lock"
	expect_exit 0 mv ls -r "$R" latest --no-lock -q
	[ ! -s "$T/err" ] || fail "$label: ls --no-lock -q is not quiet: $(cat "$T/err")"
}

# backup_fails LABEL PATTERN: backup exits non-zero and says why
backup_fails() {
	echo more >"$S/more.txt"
	set +e
	mv backup -r "$R" "$S" >"$T/out" 2>"$T/err"
	local rc=$?
	set -e
	[ "$rc" != 0 ] || fail "$1: backup exited 0"
	grep -qi "$2" "$T/err" || fail "$1: backup does not say why: $(cat "$T/err")"
	rm "$S/more.txt"
}

# write-protected
umount "$T/mnt"
mount -o loop,ro "$T/disk.img" "$T/mnt"
reads_work "read-only"
backup_fails "read-only" "read-only file system"

# full
umount "$T/mnt"
mount -o loop "$T/disk.img" "$T/mnt"
dd if=/dev/zero of="$T/mnt/fill" bs=64k 2>/dev/null || true
for i in $(seq 1 500); do head -c 1024 /dev/zero >"$T/mnt/fill.$i" 2>/dev/null || break; done
sync
[ "$(df --output=avail "$T/mnt" | tail -1 | tr -d ' ')" = 0 ] || fail "the image is not full"
reads_work "full"
backup_fails "full" "no space"
expect_exit 0 mv check -r "$R"
pass
