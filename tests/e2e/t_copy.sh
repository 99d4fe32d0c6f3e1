#!/usr/bin/env bash
# copy between repositories with different keys: then check passes on both
# sides and restores from the destination are byte-identical; a re-run
# copies nothing; copy into the same repository is refused; a destination
# made with init --copy-chunker-params-from copies chunks without cutting
# again and a backup into it stores no file data again; a destination with
# its own chunker gets the files cut again; kill -9 during a copy, then a
# re-run completes and check passes; the DICOM catalog comes along.
. "$(dirname "$0")/lib.sh"

S="$T/src"
A="$T/a"
B="$T/b"
C="$T/c"
mkdir -p "$S/big" "$S/small" "$S/dcm"
for i in 1 2 3; do head -c $((3000000 + i)) /dev/urandom >"$S/big/f$i.bin"; done
cp "$S/big/f1.bin" "$S/big/copy-of-f1.bin"
: >"$S/small/empty"
echo hello >"$S/small/hello.txt"
ln -s hello.txt "$S/small/link"
python3 "$SRC/tests/e2e/mkdicom.py" "$S/dcm" 3 20000 7 "Doe^Jane"
export MEDVAULT_FROM_PASSWORD_FILE="$T/pw2"
printf 'Another-Strong-Pass-77\n' >"$T/pw2"
chmod 600 "$T/pw2"

# the source, with its own password; two snapshots
MEDVAULT_PASSWORD_FILE="$T/pw2" init_backup "$A" "$S"
echo changed >"$S/small/hello.txt"
MEDVAULT_PASSWORD_FILE="$T/pw2" expect_exit 0 mv backup -r "$A" "$S" --tag nightly
ids=$(MEDVAULT_PASSWORD_FILE="$T/pw2" mv snapshots -r "$A" --json |
	python3 -c 'import json,sys; print(" ".join(s["id"] for s in json.load(sys.stdin)))')

# the destination: its own keys and chunker
expect_exit 0 mv init -r "$B" --recovery-key-file "$(keyfile)"
expect_exit 0 mv copy --from-repo "$A" -r "$B" --json
python3 - "$T/out" <<'EOF'
import json, sys
d = [json.loads(l) for l in open(sys.argv[1])][-1]
assert d["snapshots_copied"] == 2 and d["snapshots_skipped"] == 0 and d["rechunked"], d
EOF
expect_exit 0 mv check -r "$B" --read-data
MEDVAULT_PASSWORD_FILE="$T/pw2" expect_exit 0 mv check -r "$A" --read-data

# every snapshot: the same time, host, paths, tags (plus original=ID), and
# byte-identical restores
MEDVAULT_PASSWORD_FILE="$T/pw2" mv snapshots -r "$A" --json >"$T/a.json"
mv snapshots -r "$B" --json >"$T/b.json"
python3 - "$T/a.json" "$T/b.json" <<'EOF'
import json, sys
a = json.load(open(sys.argv[1])); b = json.load(open(sys.argv[2]))
assert len(a) == len(b) == 2, (a, b)
for x, y in zip(a, b):
    assert x["time"] == y["time"] and x["host"] == y["host"] and x["paths"] == y["paths"], (x, y)
    assert y["tags"] == x["tags"] + ["original=" + x["id"]], (x["tags"], y["tags"])
    assert x["id"] != y["id"] and x["tree"] != y["tree"]
EOF
for id in $ids; do
	bid=$(python3 -c "import json; print([s['id'] for s in json.load(open('$T/b.json')) if 'original=$id' in s['tags']][0])")
	rm -rf "$T/ra" "$T/rb"
	MEDVAULT_PASSWORD_FILE="$T/pw2" expect_exit 0 mv restore -r "$A" "$id" --target "$T/ra"
	expect_exit 0 mv restore -r "$B" "$bid" --target "$T/rb"
	compare_trees "$T/ra" "$T/rb" || fail "restores of $id differ"
done
compare_trees "$S" "$T/rb$S" || fail "the latest copy differs from the source tree"
# the catalog came along
expect_exit 0 mv find -r "$B" --patient "Doe^Jane"
[ "$(grep -c 'IM000' "$T/out")" -ge 3 ] || fail "catalog not copied: $(cat "$T/out")"

# a re-run copies nothing, and writes nothing
before=$(find "$B" -type f -not -path '*/locks/*' | sort | md5sum)
expect_exit 0 mv copy --from-repo "$A" -r "$B"
grep -q '0 snapshots copied, 2 already there' "$T/out" || fail "re-run: $(cat "$T/out")"
after=$(find "$B" -type f -not -path '*/locks/*' | sort | md5sum)
[ "$before" = "$after" ] || fail "a re-run wrote files"

# into the same repository: refused, nothing written
MEDVAULT_PASSWORD_FILE="$T/pw2" expect_exit 1 mv copy --from-repo "$A" -r "$A"
grep -q 'same repository' "$T/err" || fail "same repository: $(cat "$T/err")"
# no source, wrong source password
expect_exit 2 mv copy -r "$B"
MEDVAULT_FROM_PASSWORD_FILE="$T/pw" expect_exit 12 mv copy --from-repo "$A" -r "$B"

# the same chunker: chunks are re-sealed, not cut again; a backup of the
# same files into the copy stores no file data
expect_exit 0 mv init -r "$C" --recovery-key-file "$(keyfile)" --copy-chunker-params-from "$A"
expect_exit 0 mv copy --from-repo "$A" -r "$C" --json
python3 -c "import json; d=[json.loads(l) for l in open('$T/out')][-1]; assert not d['rechunked'] and d['snapshots_copied'] == 2, d"
expect_exit 0 mv check -r "$C" --read-data
rm -rf "$T/rc"
expect_exit 0 mv restore -r "$C" latest --target "$T/rc"
compare_trees "$S" "$T/rc$S" || fail "restore from the same-chunker copy differs"
expect_exit 0 mv backup -r "$C" "$S" --json
python3 -c "import json; d=[json.loads(l) for l in open('$T/out')][-1]; assert d['data_blobs'] == 0, d"
# B's files were cut again by B's own chunker: a backup into B of the same
# files finds every chunk there too
expect_exit 0 mv backup -r "$B" "$S" --json
python3 -c "import json; d=[json.loads(l) for l in open('$T/out')][-1]; assert d['data_blobs'] == 0, d"
# a config with the sealed chunker key is refused by a reader that does not
# know it: incompatible feature bit 0 is set
python3 - "$C/config" <<'EOF'
import struct, sys
b = open(sys.argv[1], "rb").read()
assert struct.unpack_from("<I", b, 12)[0] & 1, "incompatible bit 0 not set"
EOF

# kill -9 during a copy, then a re-run completes
D="$T/d"
expect_exit 0 mv init -r "$D" --recovery-key-file "$(keyfile)"
for i in 1 2 3 4 5 6; do head -c 4000000 /dev/urandom >"$S/big/more$i.bin"; done
MEDVAULT_PASSWORD_FILE="$T/pw2" expect_exit 0 mv backup -r "$A" "$S"
killed=0
for delay in 0.3 0.6 1.0; do
	"$MV_BIN" copy --from-repo "$A" -r "$D" >/dev/null 2>&1 &
	pid=$!
	sleep "$delay"
	if kill -9 "$pid" 2>/dev/null; then killed=$((killed + 1)); fi
	wait "$pid" 2>/dev/null || true
	expect_exit 0 mv check -r "$D"
done
echo "copies killed: $killed of 3"
[ "$killed" -gt 0 ] || echo "note: every copy ended before the kill"
expect_exit 0 mv copy --from-repo "$A" -r "$D"
expect_exit 0 mv check -r "$D" --read-data
[ "$(mv snapshots -r "$D" --json | python3 -c 'import json,sys; print(len(json.load(sys.stdin)))')" = 3 ] ||
	fail "not every snapshot copied after the kills"
rm -rf "$T/rd"
expect_exit 0 mv restore -r "$D" latest --target "$T/rd"
compare_trees "$S" "$T/rd$S" || fail "restore after the kills differs"
pass
