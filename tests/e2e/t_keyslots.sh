#!/usr/bin/env bash
# check verifies every key slot (issue 8 item 11): a byte flipped anywhere in
# the recovery slot (its sealed master key included) is found with the
# password alone; a missing, planted or damaged slot and a damaged or
# missing key list are named, exit 4; check says which slot opened the
# repository; a repository made before the key list is upgraded by its
# first backup, and check says plainly (exit 0) that it has no list yet.
. "$(dirname "$0")/lib.sh"

# a repository made before the key list (the golden one) still has each
# slot's bytes checked against its name: a flipped byte in its recovery slot
# is found with the password alone
cp -a "$SRC/tests/golden/v1/repo" "$T/g0"
cp "$SRC/tests/golden/v1/password" "$T/gpw" && chmod 600 "$T/gpw"
g0rec=$(python3 - "$T/g0/keys" <<'PY'
import os, sys
d = sys.argv[1]
print(next(n for n in sorted(os.listdir(d)) if open(os.path.join(d, n), "rb").read()[8] == 2))
PY
)
python3 - "$T/g0/keys/$g0rec" <<'PY'
import sys
p = sys.argv[1]; b = bytearray(open(p, "rb").read()); b[100] ^= 1; open(p, "wb").write(b)
PY
expect_exit 4 mv check -r "$T/g0" --password-file "$T/gpw"
grep -q "keys/$g0rec: .*damaged" "$T/out" || fail "old repository: damaged recovery slot not named"

R="$T/repo"
mkdir -p "$T/src" && echo hello >"$T/src/a.txt"
expect_exit 0 mv init -r "$R" --recovery-key-file "$T/rk"
expect_exit 0 mv backup -r "$R" "$T/src"
[ -n "$(ls "$R/keylist")" ] || fail "init wrote no key list"

# slot_of KIND REPO: the file of the slot of that kind (byte 8)
slot_of() {
	python3 - "$2/keys" "$1" <<'PY'
import os, sys
d, kind = sys.argv[1], int(sys.argv[2])
print(next(os.path.join(d, n) for n in sorted(os.listdir(d))
           if open(os.path.join(d, n), "rb").read()[8] == kind))
PY
}
flip() { # flip FILE OFFSET
	python3 - "$1" "$2" <<'PY'
import sys
p, o = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, "rb").read()); b[o] ^= 0x01; open(p, "wb").write(b)
PY
}

# a clean repository: exit 0, the slot that opened it named, both slots checked
expect_exit 0 mv check -r "$R"
pw=$(basename "$(slot_of 1 "$R")") rec=$(basename "$(slot_of 2 "$R")")
grep -q "opened with the password key slot ${pw:0:16} ('password')" "$T/out" ||
	fail "check does not say which slot opened: $(cat "$T/out")"
grep -q "checked 2 key slots against the key list" "$T/out" || fail "slots not checked: $(cat "$T/out")"
expect_exit 0 mv check -r "$R" --password-file "$T/rk"
grep -q "opened with the recovery key slot ${rec:0:16} ('recovery')" "$T/out" ||
	fail "check with the recovery key does not say so: $(cat "$T/out")"
expect_exit 0 mv check -r "$R" --json
python3 - "$T/out" "$pw" <<'PY' || fail "check --json: $(tail -1 "$T/out")"
import json, sys
s = json.loads(open(sys.argv[1]).read().splitlines()[-1])
assert s["opened_with_slot"] == sys.argv[2] and s["opened_with_kind"] == "password", s
assert s["key_slots"] == 2 and s["key_list"] is True and s["num_errors"] == 0, s
PY

# one byte flipped anywhere in the recovery slot, each offset a fresh copy:
# found with the password alone, the slot named, exit 4
for off in 0 8 12 20 30 50 70 100 111; do
	rm -rf "$T/r1" && cp -a "$R" "$T/r1"
	flip "$T/r1/keys/$rec" "$off"
	expect_exit 4 mv check -r "$T/r1"
	grep -q "keys/$rec: .*damaged.*recovery" "$T/out" ||
		fail "flipped byte $off of the recovery slot not named: $(cat "$T/out")"
	grep -q "1 error found" "$T/out" || fail "byte $off: $(cat "$T/out")"
done

# the recovery slot deleted: named as missing from the list
rm -rf "$T/r2" && cp -a "$R" "$T/r2" && rm "$T/r2/keys/$rec"
expect_exit 4 mv check -r "$T/r2"
grep -q "keys/$rec: .*recovery.*missing" "$T/out" || fail "missing slot not named: $(cat "$T/out")"

# a planted slot (well-formed, named by its hash): named as unlisted
rm -rf "$T/r3" && cp -a "$R" "$T/r3"
planted=$(python3 - "$T/r3/keys" <<'PY'
import hashlib, os, struct, sys
slot = b"MVKEYSL1" + bytes([1, 1, 0, 0]) + struct.pack("<IQ", 3, 64 << 20) + os.urandom(88)
n = hashlib.blake2b(slot, digest_size=32).hexdigest()
open(os.path.join(sys.argv[1], n), "wb").write(slot)
print(n)
PY
)
expect_exit 4 mv check -r "$T/r3"
grep -q "keys/$planted: .*not in the key list" "$T/out" || fail "planted slot not named: $(cat "$T/out")"
# a slot replaced by another one of the same kind under the old name
rm -rf "$T/r4" && cp -a "$R" "$T/r4" && cp "$T/r3/keys/$planted" "$T/r4/keys/$pw"
expect_exit 4 mv check -r "$T/r4" --password-file "$T/rk"
grep -q "keys/$pw: .*damaged.*password" "$T/out" || fail "replaced slot not named: $(cat "$T/out")"
expect_exit 12 mv check -r "$T/r4"
# the key list damaged, or missing from a repository made with one
rm -rf "$T/r5" && cp -a "$R" "$T/r5" && flip "$(ls -d "$T"/r5/keylist/* | head -1)" 40
expect_exit 4 mv check -r "$T/r5"
grep -q "^keylist" "$T/out" || fail "damaged key list not reported: $(cat "$T/out")"
rm -rf "$T/r6" && cp -a "$R" "$T/r6" && rm -r "$T/r6/keylist"
expect_exit 4 mv check -r "$T/r6"
grep -q "key list is missing" "$T/out" || fail "missing key list not reported: $(cat "$T/out")"

# a repository made before the key list (config compat bit clear, no
# keylist/, as the golden repository): check says so, exit 0; the first
# backup writes the list, and from then on a damaged slot is found
cp -a "$SRC/tests/golden/v1/repo" "$T/golden"
expect_exit 0 mv check -r "$T/golden" --password-file "$T/gpw"
grep -q "no key list yet" "$T/out" || fail "old repository not explained: $(cat "$T/out")"
[ ! -e "$T/golden/keylist" ] || fail "check wrote a key list"
expect_exit 0 mv backup -r "$T/golden" --password-file "$T/gpw" "$T/src"
[ -n "$(ls "$T/golden/keylist")" ] || fail "the first backup did not write the key list"
expect_exit 0 mv check -r "$T/golden" --password-file "$T/gpw"
grep -q "checked 2 key slots against the key list" "$T/out" || fail "upgraded list: $(cat "$T/out")"
grec=$(slot_of 2 "$T/golden")
flip "$grec" 90
expect_exit 4 mv check -r "$T/golden" --password-file "$T/gpw"
grep -q "keys/$(basename "$grec"): .*damaged" "$T/out" || fail "upgraded repository: $(cat "$T/out")"
pass
