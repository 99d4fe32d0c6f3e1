#!/usr/bin/env bash
# A lost pack: the next backup of the intact originals stores its blobs again
# (it never saves a snapshot that depends on a lost pack), after which check
# passes and every snapshot restores byte-exact. A blob lost from the source
# as well stays lost, but only for the old snapshot. With --force, a backup
# stores again the blobs it cannot read back intact.
#
# The source lives on a private tmpfs at /var/tmp (a mount namespace of this
# test): the snapshots' root trees hold the metadata of every parent folder,
# and /tmp changes while other tests run.
if [ -z "${MV_HEAL_NS:-}" ]; then
	exec unshare -m env MV_HEAL_NS=1 bash "$0" "$@"
fi
. "$(dirname "$0")/lib.sh"

mount --make-rprivate / 2>/dev/null || true
mount -t tmpfs -o mode=1777 tmpfs /var/tmp
S=/var/tmp/mvheal
R="$T/repo"
two_files_src "$S" 2000000 x.bin y.bin s.txt
init_backup "$R" "$S"
first=$(basename "$(find "$R/snapshots" -type f)")
[ "$(find "$R/data" -type f | wc -l)" = 1 ] || fail "expected one pack"
cp -a "$R" "$T/pristine"

# 1. The only pack is lost. backup (no --force) stores every blob again.
rm "$R"/data/*/*
expect_exit 0 mv backup -r "$R" "$S"
added=$(dir_size "$R/data")
[ "$added" -gt 4000000 ] || fail "backup did not store the lost blobs again ($added bytes in data/)"
grep -q "stored again" "$T/err" || fail "backup did not say it stored blobs again"
expect_exit 0 mv check -r "$R" --read-data
grep -q "pack is missing, but every blob an index places in it has a copy" "$T/out" ||
	fail "check did not explain the missing pack"
for snap in latest "$first"; do
	rm -rf "$T/r"
	expect_exit 0 mv restore -r "$R" "$snap" --target "$T/r"
	compare_trees "$S" "$T/r$S" || fail "snapshot $snap differs after the heal"
done

# 2. A file gone from the source too: the new snapshot is whole, the old one
#    names what it lost (and only that).
rm -rf "$R" && cp -a "$T/pristine" "$R"
rm "$R"/data/*/*
mv_y=$(mktemp "$T/y.XXXXXX")
cp -p "$S/b/y.bin" "$mv_y"
rm "$S/b/y.bin"
expect_exit 0 mv backup -r "$R" "$S"
expect_exit 4 mv check -r "$R"
grep "^snapshot" "$T/out" | grep -qv "^snapshot ${first:0:8}" &&
	fail "check finds damage in the new snapshot: $(cat "$T/out")"
grep -q "^snapshot ${first:0:8}" "$T/out" || fail "check did not name the old snapshot"
rm -rf "$T/r"
expect_exit 0 mv restore -r "$R" latest --target "$T/r"
compare_trees "$S" "$T/r$S" || fail "the new snapshot differs"
cp -p "$mv_y" "$S/b/y.bin"

# 3. A damaged pack: backup without --force trusts the index, --force reads
#    every blob it deduplicates against back and stores the damaged ones
#    again.
rm -rf "$R" && cp -a "$T/pristine" "$R"
pack=$(find "$R/data" -type f)
python3 -c '
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read()); b[1000] ^= 0x40; open(p, "wb").write(b)' "$pack"
before=$(dir_size "$R/data")
expect_exit 0 mv backup -r "$R" --force "$S"
[ "$(dir_size "$R/data")" -gt "$before" ] || fail "backup --force stored nothing again"
grep -q "1 blob whose pack is missing or damaged was stored again" "$T/err" ||
	fail "backup --force did not say it stored the damaged blob again: $(cat "$T/err")"
rm -rf "$T/r"
expect_exit 0 mv restore -r "$R" latest --target "$T/r"
compare_trees "$S" "$T/r$S" || fail "restore after backup --force differs"
rm -rf "$T/r"
expect_exit 0 mv restore -r "$R" "$first" --target "$T/r"
for f in a/x.bin b/y.bin b/s.txt; do # (b's mtime changed in part 2)
	cmp -s "$S/$f" "$T/r$S/$f" || fail "the first snapshot's $f differs after backup --force"
done
expect_exit 0 mv check -r "$R"
# the damaged bytes stay in their pack (named), but no file is affected
expect_exit 4 mv check -r "$R" --read-data
grep -q "no file is affected" "$T/out" || fail "check --read-data: $(cat "$T/out")"
grep -q "damage affects" "$T/out" && fail "check --read-data names affected files"

# 4. A pack the snapshot uses disappears while the backup runs (stopped as
#    soon as its first new pack is stored): no snapshot is saved.
rm -rf "$R" && cp -a "$T/pristine" "$R"
old_pack=$(find "$R/data" -type f)
mkdir -p "$S/big"
head -c 80000000 /dev/urandom >"$S/big/f.bin"
nsnap=$(find "$R/snapshots" -type f | wc -l)
set +e
python3 - "$MV_BIN" "$R" "$S" "$old_pack" >"$T/race" 2>&1 <<'PY'
import glob, os, signal, subprocess, sys, time
mv, repo, src, old_pack = sys.argv[1:]
before = set(glob.glob(repo + "/data/*/*"))
p = subprocess.Popen([mv, "backup", "-r", repo, src], stdout=subprocess.PIPE,
                     stderr=subprocess.PIPE)
while p.poll() is None:
    if set(glob.glob(repo + "/data/*/*")) - before:
        os.kill(p.pid, signal.SIGSTOP)
        os.remove(old_pack)
        os.kill(p.pid, signal.SIGCONT)
        break
    time.sleep(0.002)
else:
    sys.exit(77)  # the backup ended first: nothing shown
out, err = p.communicate()
sys.stdout.write(err.decode())
sys.exit(p.returncode)
PY
got=$?
set -e
[ "$got" = 77 ] && { echo "backup ended before its first pack was seen"; exit 77; }
[ "$got" = 4 ] || fail "backup exited $got after a pack it uses vanished: $(cat "$T/race")"
grep -q "no snapshot was written" "$T/race" || fail "unclear message: $(cat "$T/race")"
[ "$(find "$R/snapshots" -type f | wc -l)" = "$nsnap" ] || fail "a snapshot was saved"
expect_exit 0 mv backup -r "$R" "$S"
rm -rf "$T/r"
expect_exit 0 mv restore -r "$R" latest --target "$T/r"
compare_trees "$S" "$T/r$S" || fail "the backup after the vanished pack differs"
pass
