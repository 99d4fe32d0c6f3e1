#!/usr/bin/env bash
# 'latest' narrowed by --host and --path (as restic's), and a catalog
# selection that matches nothing in the snapshot named says in which
# snapshots it does match (issue 8 item 5): after another folder was backed
# up, 'restore latest --patient' of a patient of the first folder names the
# first folder's snapshot, and '--path' reaches it.
. "$(dirname "$0")/lib.sh"

R="$T/repo"
mkdir -p "$T/old" "$T/new" "$T/other"
python3 "$SRC/tests/e2e/mkdicom.py" "$T/old/buc" 3 4000 1 "BUC^JEROME"
python3 "$SRC/tests/e2e/mkdicom.py" "$T/old/roy" 2 4000 2 "ROY^ANNE"
python3 "$SRC/tests/e2e/mkdicom.py" "$T/new/martin" 2 4000 3 "MARTIN^PAUL"
python3 "$SRC/tests/e2e/mkdicom.py" "$T/other/x" 1 4000 4 "OTHER^HOST"
expect_exit 0 mv init -r "$R" --recovery-key-file "$(keyfile)"
expect_exit 0 mv backup -r "$R" "$T/old"
old_id=$(mv snapshots -r "$R" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["id"][:8])')
sleep 1
expect_exit 0 mv backup -r "$R" "$T/new"
new_id=$(mv snapshots -r "$R" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["id"][:8])')
sleep 1
expect_exit 0 mv backup -r "$R" --host laptop "$T/other"
other_id=$(mv snapshots -r "$R" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[-1]["id"][:8])')
[ "$old_id" != "$new_id" ] && [ "$new_id" != "$other_id" ] || fail "snapshot ids"
host=$(mv snapshots -r "$R" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["host"])')

# the patient is not in 'latest': exit 1, and the message names the
# snapshot that holds the patient, with the command to run
expect_exit 1 mv restore -r "$R" latest --patient "Buc Jérôme" --target "$T/r0"
grep -q "no DICOM file of snapshot $other_id matches" "$T/err" || fail "snapshot named not said"
grep -q "matches in snapshot $old_id (.*$T/old.*): medvault restore $old_id" "$T/err" ||
	fail "the snapshot holding the patient is not named: $(cat "$T/err")"
! grep -q "matches in snapshot $new_id" "$T/err" || fail "a snapshot without the patient named"
[ ! -e "$T/r0" ] || [ -z "$(find "$T/r0" -type f)" ] || fail "files restored"
expect_exit 1 mv dump -r "$R" latest --patient-id PID001 --study 9.9.9
grep -q "no other snapshot matches" "$T/err" || fail "no match anywhere not said"

# --path narrows latest (a relative or unclean path too)
expect_exit 0 mv restore -r "$R" latest --path "$T/old/" --patient "Buc Jérôme" --target "$T/r1"
for f in IM0000 IM0001 IM0002; do
	cmp "$T/old/buc/$f.dcm" "$T/r1$T/old/buc/$f.dcm" || fail "$f differs"
done
[ "$(find "$T/r1" -type f | wc -l)" = 3 ] || fail "other files restored"
(cd "$T" && expect_exit 0 mv ls -r "$R" latest --path ./new/../old)
grep -q "^$T/old/roy/IM0001.dcm$" "$T/out" || fail "ls latest --path: wrong snapshot"
! grep -q "$T/new" "$T/out" || fail "ls latest --path lists another snapshot"

# --host: the newest snapshot of that host (repeatable: any of them)
expect_exit 0 mv ls -r "$R" latest --host "$host"
grep -q "^$T/new/martin/IM0000.dcm$" "$T/out" || fail "ls latest --host: wrong snapshot"
expect_exit 0 mv ls -r "$R" latest --host nosuch --host laptop
grep -q "^$T/other/x/IM0000.dcm$" "$T/out" || fail "ls latest --host laptop"
expect_exit 0 mv ls -r "$R" latest --host "$host" --path "$T/old"
grep -q "^$T/old/buc/IM0000.dcm$" "$T/out" || fail "ls latest --host --path"
# nothing matches: exit 1, said
expect_exit 1 mv ls -r "$R" latest --host laptop --path "$T/old"
grep -q "no snapshot matches" "$T/err" || fail "no match not said"
# an id is taken as named (the filters narrow 'latest' only)
expect_exit 0 mv ls -r "$R" "$new_id" --path "$T/old"
grep -q "^$T/new/martin" "$T/out" || fail "an id with --path"

# dump and impact take them too (impact's --path is a path inside the
# snapshot: there it is --snapshot-path)
mv dump -r "$R" latest --path "$T/old" --patient roy >"$T/d.tar" 2>"$T/err" || fail "dump --path"
tar -tf "$T/d.tar" >"$T/d.list"
grep -q "old/roy/IM0000.dcm" "$T/d.list" || fail "dump latest --path: wrong files"
! grep -q "buc" "$T/d.list" || fail "dump --patient took others"
expect_exit 0 mv impact -r "$R" latest --snapshot-path "$T/old" --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["files"]==5, d' \
	"$T/out" || fail "impact latest --snapshot-path: wrong snapshot"
expect_exit 0 mv impact -r "$R" latest --host laptop --json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["files"]==1, d' \
	"$T/out" || fail "impact latest --host: wrong snapshot"
pass
