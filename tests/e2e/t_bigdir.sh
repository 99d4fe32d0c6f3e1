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

expect_exit 0 mv init -r "$R"
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
pass
