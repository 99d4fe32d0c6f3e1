#!/usr/bin/env bash
# A directory of more entries than a tree part holds (FORMAT.md section 9.2):
# backed up as a split tree, listed, restored byte-identical, checked; the
# next backup reuses every unchanged file through the parent's parts, and
# sees a changed and a new file in different parts.
. "$(dirname "$0")/lib.sh"

R="$T/repo"
python3 - "$T/src" <<'PY'
import os, sys
root = sys.argv[1]
big = os.path.join(root, "big")
os.makedirs(big)
# 20,000 files (three parts of at most 8,192 nodes), a subdirectory between
# them (walked while a part is half full), and names needing bytewise order
for i in range(20000):
    with open(os.path.join(big, "f%05d" % i), "wb") as f:
        f.write(b"content of %d\n" % i * (i % 5))
os.makedirs(os.path.join(big, "f10000.d", "inner"))
open(os.path.join(big, "f10000.d", "inner", "x"), "wb").write(b"x")
open(os.path.join(big, b"f19999\xe9".decode("utf-8", "surrogateescape")), "wb").write(b"latin-1 name")
open(os.path.join(root, "small"), "wb").write(b"small")
PY

expect_exit 0 mv init -r "$R" --recovery-key-file "$(keyfile)"
expect_exit 0 mv backup -r "$R" "$T/src" --json
python3 - "$T/out" <<'PY'
import json, sys
s = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")][-1]
assert s["files_new"] == 20003, s
# trees: the root, tmp, mvtest.X, src, big (a list of 3 parts and the 3
# parts), f10000.d, inner: 10 blobs (7 if big were not split)
assert s["tree_blobs"] == 10, s
PY

expect_exit 0 mv ls -r "$R" latest
n=$(grep -c "^$T/src/big/" "$T/out")
[ "$n" = 20004 ] || fail "ls lists $n entries under big, expected 20004"
grep -q "^$T/src/big/f10000.d/inner/x$" "$T/out" || fail "ls misses the nested file"

expect_exit 0 mv restore -r "$R" latest --target "$T/restore"
compare_trees "$T/src" "$T/restore$T/src" || fail "restore differs from the source"
expect_exit 0 mv restore -r "$R" latest --target "$T/one" --include "$T/src/big/f19998"
[ "$(find "$T/one" -type f | wc -l)" = 1 ] || fail "--include restored more than one file"
cmp "$T/src/big/f19998" "$T/one$T/src/big/f19998" || fail "--include restore differs"
expect_exit 0 mv check -r "$R" --read-data
# dump and scan -r read the split tree too
mv dump -r "$R" latest "$T/src/big" --format tar >"$T/big.tar" || fail "dump of the split tree failed"
python3 - "$T/big.tar" <<'PY'
import sys, tarfile
n = sum(1 for m in tarfile.open(sys.argv[1]) if m.isfile())
assert n == 20002, n
PY
expect_exit 0 mv scan -r "$R" "$T/src" --json
python3 - "$T/out" <<'PY'
import json, sys
files = [json.loads(l) for l in open(sys.argv[1]) if '"message_type":"file"' in l]
assert len(files) == 20003 and all(f["status"] == "backed_up" for f in files), len(files)
PY

# unchanged: nothing read, nothing added
expect_exit 0 mv backup -r "$R" "$T/src" --json
python3 - "$T/out" <<'PY'
import json, sys
s = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")][-1]
assert s["files_unmodified"] == 20003 and s["files_new"] == 0 and s["files_changed"] == 0, s
# only the trees above src (whose mtimes the restores changed) are new
assert s["data_blobs"] == 0 and s["tree_blobs"] <= 2, s
PY

# a change in the first part, a new file in the last one
echo changed >>"$T/src/big/f00100"
echo new >"$T/src/big/f19000.new"
expect_exit 0 mv backup -r "$R" "$T/src" --json
python3 - "$T/out" <<'PY'
import json, sys
s = [json.loads(l) for l in open(sys.argv[1]) if l.startswith("{")][-1]
assert s["files_changed"] == 1 and s["files_new"] == 1, s
assert s["files_unmodified"] == 20002, s
PY
rm -rf "$T/restore"
expect_exit 0 mv restore -r "$R" latest --target "$T/restore"
compare_trees "$T/src" "$T/restore$T/src" || fail "restore of the third snapshot differs"
expect_exit 0 mv check -r "$R"

# a directory whose entries after its first full part are all skipped (here a
# name whose full path is longer than PATH_MAX, which cannot be stat'ed): the
# directory is that one part, no empty part is written
python3 - "$T/deep" <<'PY'
import os, sys
d = os.path.join(sys.argv[1], *(["d" * 200] * 19))
os.makedirs(d)
for i in range(8192):
    open(os.path.join(d, "f%04d" % i), "wb").close()
fd = os.open(d, os.O_RDONLY)
name = "z" * 255
if len(d) + 1 + len(name) < 4096:
    sys.exit("path not long enough for the test")
os.close(os.open(name, os.O_CREAT | os.O_WRONLY, 0o644, dir_fd=fd))
os.close(fd)
PY
expect_exit 3 mv backup -r "$R" "$T/deep"
grep -q "1 file could not be read" "$T/err" || fail "the unstatable entry was not reported"
expect_exit 0 mv ls -r "$R" latest
[ "$(grep -c "/f[0-9]\{4\}$" "$T/out")" = 8192 ] || fail "ls of the one-part directory is not 8192 entries"
expect_exit 0 mv check -r "$R" --read-data

# one damaged part loses only the entries it held: a first backup stores
# 8,192 entries as one tree (its pack holds nothing else but the trees above
# it); the second, with 8,192 more entries, reuses that tree as its first part
R2="$T/repo2"
mkdir -p "$T/two/d"
python3 -c '
import os, sys
for i in range(8192):
    open(os.path.join(sys.argv[1], "a%04d" % i), "wb").close()' "$T/two/d"
expect_exit 0 mv init -r "$R2" --recovery-key-file "$(keyfile)"
expect_exit 0 mv backup -r "$R2" "$T/two"
pack1=$(find "$R2/data" -type f)
[ "$(echo "$pack1" | wc -l)" = 1 ] || fail "expected one pack after the first backup"
python3 -c '
import os, sys
for i in range(8192):
    open(os.path.join(sys.argv[1], "b%04d" % i), "wb").close()' "$T/two/d"
expect_exit 0 mv backup -r "$R2" "$T/two" --json
grep -q '"tree_blobs":[0-9]' "$T/out" || fail "no summary"
python3 - "$pack1" <<'PY'
import sys
p = sys.argv[1]
b = bytearray(open(p, "rb").read())
b[100] ^= 1  # inside the first blob: the tree of d (the deepest, stored first)
open(p, "wb").write(b)
PY
expect_exit 4 mv restore -r "$R2" latest --target "$T/r2"
grep -q "part of this directory cannot be read" "$T/err" || fail "damaged part not reported: $(cat "$T/err")"
[ "$(find "$T/r2" -name 'b*' -type f | wc -l)" = 8192 ] || fail "entries of the intact part were not restored"
[ "$(find "$T/r2" -name 'a*' -type f | wc -l)" = 0 ] || fail "entries of the damaged part were restored"
expect_exit 4 mv check -r "$R2" --read-data
grep -q "part of the directory's contents lost: .*/two/d" "$T/out" || fail "check did not map the damaged part"
pass
