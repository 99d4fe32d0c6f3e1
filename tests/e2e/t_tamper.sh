#!/usr/bin/env bash
# One flipped byte in a pack: check --read-data exits 4 and names the file;
# restore names the damaged file, restores the others intact, exits 4.
# Damaged index, snapshot, key and truncated pack files are detected too.
. "$(dirname "$0")/lib.sh"

R="$T/repo"
two_files_src "$T/src" 3000000 victim.bin intact.bin small.txt
init_backup "$R" "$T/src"
expect_exit 0 mv check -r "$R" --read-data
cp -a "$R" "$T/pristine"

# Find the pack and the offset of victim.bin's first blob: flip a byte in the
# middle of the largest pack region that is not the other file. Simplest:
# flip bytes until check reports victim.bin (the packs hold both files).
flip() { python3 -c '
import sys
p, off = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, "rb").read()); b[off] ^= 0x40; open(p, "wb").write(b)' "$1" "$2"; }

pack=$(find "$R/data" -type f | head -1)
flip "$pack" 1000
expect_exit 4 mv check -r "$R" --read-data
grep -q "victim.bin\|intact.bin" "$T/out" "$T/err" || fail "check did not name the damaged file"
damaged=$(grep -ho "[a-z]*/\(victim\|intact\).bin" "$T/out" "$T/err" | head -1)
expect_exit 4 mv restore -r "$R" latest --target "$T/restore"
grep -q "$(basename "$damaged")" "$T/err" || fail "restore did not name the damaged file"
cmp -s "$T/src/b/small.txt" "$T/restore$T/src/b/small.txt" || fail "intact file not restored"
for f in a/victim.bin b/intact.bin; do
	[ "$f" = "$damaged" ] && continue
	cmp -s "$T/src/$f" "$T/restore$T/src/$f" || fail "undamaged $f not restored byte-exact"
done
# the damaged file does not take its real name (no partial content under it),
# and no temporary file stays; a re-run says the same (exit 4), not "all well"
[ ! -e "$T/restore$T/src/$damaged" ] || fail "damaged file left under its real name"
[ -z "$(find "$T/restore" -name '.medvault-*')" ] || fail "temporary file left by a damaged restore"
expect_exit 4 mv restore -r "$R" latest --target "$T/restore"
grep -q "$(basename "$damaged")" "$T/err" || fail "re-run did not name the damaged file"
# without --read-data the structure check still passes a pack with a bad byte
# in blob data (it reads headers only); with read-data it fails (above).

# truncated pack
rm -rf "$R" && cp -a "$T/pristine" "$R"
truncate -s -100 "$pack"
expect_exit 4 mv check -r "$R"

# damaged index file
rm -rf "$R" && cp -a "$T/pristine" "$R"
idx=$(find "$R/index" -type f | head -1)
flip "$idx" 50
expect_exit 4 mv check -r "$R"

# damaged snapshot file
rm -rf "$R" && cp -a "$T/pristine" "$R"
snap=$(find "$R/snapshots" -type f | head -1)
flip "$snap" 30
expect_exit 4 mv check -r "$R"

# a pack swapped for another pack's bytes under its name
rm -rf "$R" && cp -a "$T/pristine" "$R"
expect_exit 0 mv backup -r "$R" "$T/src/b"
p1=$(find "$R/data" -type f | head -1); p2=$(find "$R/data" -type f | tail -1)
if [ "$p1" != "$p2" ]; then
	cp "$p2" "$p1"
	expect_exit 4 mv check -r "$R" --read-data
fi

# a damaged key slot never opens (and never crashes)
rm -rf "$R" && cp -a "$T/pristine" "$R"
for k in "$R"/keys/*; do flip "$k" 70; done
expect_exit 12 mv snapshots -r "$R"
pass
