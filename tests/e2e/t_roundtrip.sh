#!/usr/bin/env bash
# Backup and byte-identical restore of a tree holding every file kind; a
# second backup of the unchanged tree adds under 1% to the repository; a
# changed file is seen as changed.
. "$(dirname "$0")/lib.sh"

R="$T/repo"
make_tree "$T/src"
expect_exit 0 mv init -r "$R" --recovery-key-file "$T/rk"
grep -Eq '^[0-9a-f]{8}(-[0-9a-f]{8}){7}$' "$T/rk" || fail "init did not write a recovery key"
[ "$(stat -c %a "$R")" = 700 ] || fail "repository directory is not 0700"
[ "$(stat -c %a "$R/config")" = 600 ] || fail "config is not 0600"

expect_exit 0 mv backup -r "$R" "$T/src"
expect_exit 0 mv snapshots -r "$R" --json
python3 - "$T/out" "$T/src" <<'PY'
import json, sys
s = json.load(open(sys.argv[1]))
assert len(s) == 1, s
assert s[0]["paths"] == [sys.argv[2]], s[0]["paths"]
assert len(s[0]["id"]) == 64 and s[0]["short_id"] == s[0]["id"][:8]
PY
size1=$(dir_size "$R")

expect_exit 0 mv restore -r "$R" latest --target "$T/restore"
compare_trees "$T/src" "$T/restore$T/src" || fail "restore differs from the source"
# sparse files come back sparse
used=$(du -k "$T/restore$T/src/sparse.img" | cut -f1)
[ "$used" -lt 1024 ] || fail "sparse file restored with $used KiB allocated"

# structure check and partial read checks
expect_exit 0 mv check -r "$R"
expect_exit 0 mv check -r "$R" --read-data-subset 50%
expect_exit 0 mv check -r "$R" --read-data-subset 1/2
expect_exit 0 mv check -r "$R" --read-data-subset 2/2
expect_exit 2 mv check -r "$R" --read-data-subset 3/2

# ls lists every path
expect_exit 0 mv ls -r "$R" latest
grep -q "$T/src/big/archive.bin" "$T/out" || fail "ls misses a file"
# ls PATH: the path itself and what lies below it, the same lines in order
grep -e "^$T/src/big\$" -e "^$T/src/big/" "$T/out" >"$T/ls_all"
expect_exit 0 mv ls -r "$R" latest "$T//src/big/"
cmp -s "$T/out" "$T/ls_all" || fail "ls PATH differs from the full listing"
expect_exit 0 mv ls -r "$R" latest "$T/src/big/archive.bin"
[ "$(cat "$T/out")" = "$T/src/big/archive.bin" ] || fail "ls FILE lists more than the file"
expect_exit 1 mv ls -r "$R" latest "$T/src/nothere"
grep -q "'$T/src/nothere' is not in the snapshot" "$T/err" || fail "ls of a missing path"

# unchanged: under 1% growth, and the files are not read again
expect_exit 0 mv backup -r "$R" --json "$T/src"
python3 - "$T/out" <<'PY'
import json, sys
lines = [l for l in open(sys.argv[1]) if l.strip()]
s = json.loads(lines[-1])
assert s["message_type"] == "summary", s
assert s["files_new"] == 0 and s["files_changed"] == 0, s
assert s["files_unmodified"] > 10, s
PY
size2=$(dir_size "$R")
growth=$(( (size2 - size1) * 10000 / size1 ))
[ "$growth" -lt 100 ] || fail "unchanged backup grew the repository by $growth/10000"

# a changed file is read again; restore of the new snapshot matches
echo "appended" >>"$T/src/notes.txt"
expect_exit 0 mv backup -r "$R" --json "$T/src"
python3 - "$T/out" <<'PY'
import json, sys
s = json.loads([l for l in open(sys.argv[1]) if l.strip()][-1])
assert s["files_changed"] == 1, s
PY
expect_exit 0 mv restore -r "$R" latest --target "$T/restore2"
compare_trees "$T/src" "$T/restore2$T/src" || fail "second restore differs"

# restore refuses to overwrite, unless told
expect_exit 0 mv restore -r "$R" latest --target "$T/restore2"
cmp -s "$T/src/notes.txt" "$T/restore2$T/src/notes.txt" || fail "file changed by restore"

# include pattern restores only the matching subtree
expect_exit 0 mv restore -r "$R" latest --target "$T/restore3" --include 'DUPONT*'
[ -f "$T/restore3$T/src/patients/DUPONT^MARIE/study0/IM0000.dcm" ] || fail "include missed a file"
[ ! -e "$T/restore3$T/src/notes.txt" ] || fail "include restored too much"
# a link standing where the snapshot has a directory is never written through
mkdir -p "$T/restore4" "$T/elsewhere"
ln -s "$T/elsewhere" "$T/restore4/tmp"
expect_exit 1 mv restore -r "$R" latest --target "$T/restore4"
[ -z "$(ls -A "$T/elsewhere")" ] || fail "restore wrote through a symbolic link"

# nested and prefix-sharing backup paths ("/x/a", "/x/a/b", "/x/a-b")
mkdir -p "$T/n/a/b" "$T/n/a-b" && echo 1 >"$T/n/a/b/f" && echo 2 >"$T/n/a-b/g"
expect_exit 0 mv backup -r "$R" "$T/n/a-b" "$T/n/a" "$T/n/a/b"
expect_exit 0 mv restore -r "$R" latest --target "$T/restore5"
compare_trees "$T/n" "$T/restore5$T/n" --no-dir-times || fail "nested paths restored wrongly"

# a password of 64 hex digits is a password, not a recovery key
printf '%s\n' "$(od -An -N32 -tx1 /dev/urandom | tr -d ' \n')" >"$T/hexpw" && chmod 600 "$T/hexpw"
expect_exit 0 mv init -r "$T/hexrepo" --recovery-key-file "$(keyfile)" --password-file "$T/hexpw"
expect_exit 0 mv snapshots -r "$T/hexrepo" --password-file "$T/hexpw"
pass
