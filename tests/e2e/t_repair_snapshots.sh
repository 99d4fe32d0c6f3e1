#!/usr/bin/env bash
# repair snapshots: a deleted data pack makes check fail (exit 4); repair
# snapshots --forget writes a repaired snapshot without the files whose
# data is lost, names them, drops them from the DICOM catalog; check then
# passes, every other file restores byte-identical, and a backup of the
# intact originals stores the lost data again. --dry-run changes nothing;
# killed at each commit point and run again, the repair completes without
# a second repaired snapshot.
. "$(dirname "$0")/lib.sh"

R="$T/repo"
S="$T/src"
# d/a.dcm and d/b.bin fill the first pack (16 MiB) with data only; the rest,
# the trees and the catalog go to the second one.
python3 "$SRC/tests/e2e/mkdicom.py" "$T/big" 1 10000000 3 "LOST^PATIENT"
mkdir -p "$S/d"
command mv "$T/big/IM0000.dcm" "$S/d/a.dcm"
head -c 10000000 /dev/urandom >"$S/d/b.bin"
echo "small" >"$S/d/c.txt"
python3 "$SRC/tests/e2e/mkdicom.py" "$S/dcm" 3 4000 5 "KEPT^PATIENT"
touch -d "2026-01-01 00:00" "$S/d" "$S/dcm" "$S"
init_backup "$R" "$S"
orig=$(basename "$(find "$R/snapshots" -type f)")
big=$(find "$R/data" -type f -printf '%s %p\n' | sort -n | tail -1 | cut -d' ' -f2)
[ "$(find "$R/data" -type f | wc -l)" -ge 2 ] || fail "expected two packs"
rm "$big"
cp -a "$R" "$T/damaged"

# 1. check fails; a dry run names the loss and changes nothing.
expect_exit 4 mv check -r "$R"
expect_exit 0 mv repair snapshots -r "$R" --dry-run
grep -q "^snapshot ${orig:0:8}: file dropped, its data is lost: $S/d/a.dcm" "$T/out" ||
	fail "the dry run did not name the lost file: $(cat "$T/out")"
grep -q "1 of 1 snapshot(s) would be repaired" "$T/out" || fail "dry run summary: $(cat "$T/out")"
diff -r "$R" "$T/damaged" >/dev/null || fail "--dry-run changed the repository"

# 2. The repair: the lost files are named, the others kept.
expect_exit 0 mv repair snapshots -r "$R" --forget
grep "file dropped" "$T/out" | sed "s|.*: $S/||" | sort >"$T/lost"
grep -qx "d/a.dcm" "$T/lost" || fail "a.dcm not named as lost: $(cat "$T/out")"
grep -q "^dcm/" "$T/lost" && fail "an intact file was named lost: $(cat "$T/lost")"
grep -q "removed (--forget)" "$T/out" || fail "the original was not removed"
expect_exit 0 mv check -r "$R" --read-data
expect_exit 0 mv snapshots -r "$R"
grep -q "repaired" "$T/out" || fail "the repaired snapshot has no tag 'repaired': $(cat "$T/out")"
[ "$(find "$R/snapshots" -type f | wc -l)" = 1 ] || fail "expected one snapshot"

# every other file restores byte-identical, the lost ones are absent
E="$T/expected"
cp -a "$S" "$E"
while read -r f; do rm "$E/$f"; done <"$T/lost"
touch -d "2026-01-01 00:00" "$E/d"
rm -rf "$T/r"
expect_exit 0 mv restore -r "$R" latest --target "$T/r"
compare_trees "$E" "$T/r$S" || fail "the repaired snapshot differs"

# the catalog keeps the intact DICOM files only
expect_exit 0 mv find -r "$R" --patient kept --json
[ "$(grep -o '"sop_uid"' "$T/out" | wc -l)" = 3 ] || fail "find lost kept images: $(cat "$T/out")"
expect_exit 0 mv find -r "$R" --patient lost --json
grep -q "a.dcm" "$T/out" && fail "the catalog still lists the lost file"

# 3. A backup of the intact originals stores the lost data again.
expect_exit 0 mv backup -r "$R" "$S"
expect_exit 0 mv check -r "$R" --read-data
rm -rf "$T/r"
expect_exit 0 mv restore -r "$R" latest --target "$T/r"
compare_trees "$S" "$T/r$S" || fail "the lost files were not stored again"

# 4. Killed after the trees are written, and after the new snapshot is
#    written (before the original goes): the repository opens, and the
#    repair run again completes with one repaired snapshot.
for point in trees-written snapshot-written; do
	put_back "$T/damaged" "$R"
	set +e
	MEDVAULT_TEST_CRASH_AT=$point mv repair snapshots -r "$R" --forget >"$T/out" 2>"$T/err"
	got=$?
	set -e
	[ "$got" = 137 ] || fail "the repair was not killed at $point (exit $got)"
	expect_exit 0 mv unlock -r "$R"
	expect_exit_in "0 4" mv check -r "$R"
	expect_exit 0 mv repair snapshots -r "$R" --forget
	expect_exit 0 mv check -r "$R" --read-data
	[ "$(find "$R/snapshots" -type f | wc -l)" = 1 ] ||
		fail "after a kill at $point: $(find "$R/snapshots" -type f | wc -l) snapshots"
	rm -rf "$T/r"
	expect_exit 0 mv restore -r "$R" latest --target "$T/r"
	compare_trees "$E" "$T/r$S" || fail "the repaired snapshot differs after a kill at $point"
done

# 5. Without --forget the original stays (check still names it).
put_back "$T/damaged" "$R"
expect_exit 0 mv repair snapshots -r "$R"
grep -q "damaged originals are kept" "$T/out" || fail "no word on the kept original"
[ "$(find "$R/snapshots" -type f | wc -l)" = 2 ] || fail "expected the original and its repair"
expect_exit 4 mv check -r "$R"

# 6. A lost tree: a folder stored by an earlier backup (its tree in the
#    first pack) becomes an empty folder in the later snapshot, and the
#    first snapshot an empty one; both named.
R="$T/repo2"
S2="$T/src2"
mkdir -p "$S2/x" "$S2/y"
echo a >"$S2/x/a.txt"
init_backup "$R" "$S2"
p1=$(find "$R/data" -type f)
head -c 300000 /dev/urandom >"$S2/y/y.bin"
expect_exit 0 mv backup -r "$R" "$S2"
rm "$p1"
expect_exit 0 mv repair snapshots -r "$R" --forget
grep -q "directory emptied, its contents cannot be read: $S2/x$" "$T/out" ||
	fail "the lost folder was not named: $(cat "$T/out")"
grep -q "directory emptied, its contents cannot be read: /$" "$T/out" ||
	fail "the lost root was not named: $(cat "$T/out")"
expect_exit 0 mv check -r "$R" --read-data
rm -rf "$T/r"
expect_exit 0 mv restore -r "$R" latest --target "$T/r"
[ -d "$T/r$S2/x" ] && [ -z "$(ls -A "$T/r$S2/x")" ] || fail "x is not an empty folder"
cmp -s "$S2/y/y.bin" "$T/r$S2/y/y.bin" || fail "y.bin differs"
pass
