#!/usr/bin/env bash
# Argon2id caps (issue 8 item 16): a key slot planted in keys/ that asks
# Argon2id for more than the caps (here 2^32-1 passes over 4 GiB) is skipped
# with a warning naming it, never run: the right password still opens within
# seconds, a wrong one fails with exit 12. init refuses parameters beyond the
# caps (exit 2).
. "$(dirname "$0")/lib.sh"

# a copy of the golden repository (made by an earlier medvault), so that the
# same script runs against older builds too
R="$T/repo"
cp -a "$SRC/tests/golden/v1/repo" "$R"
cp "$SRC/tests/golden/v1/password" "$T/pw" && chmod 600 "$T/pw"
mkdir -p "$T/src" && echo hello >"$T/src/a.txt"

# plant_slot T MEM_BYTES: a well-formed password slot (FORMAT.md section 4)
# with those Argon2id parameters, named by the BLAKE2b-256 of its bytes;
# prints its name.
plant_slot() {
	python3 - "$R/keys" "$1" "$2" <<'PY'
import hashlib, os, struct, sys
d, t, m = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
slot = b"MVKEYSL1" + bytes([1, 1, 0, 0]) + struct.pack("<IQ", t, m) + os.urandom(16 + 24 + 48)
assert len(slot) == 112
name = hashlib.blake2b(slot, digest_size=32).hexdigest()
with open(os.path.join(d, name), "wb") as f:
    f.write(slot)
os.chmod(os.path.join(d, name), 0o600)
print(name)
PY
}
huge1=$(plant_slot 4294967295 $((4 << 30)))
huge2=$(plant_slot 3 $((4 << 30)))
huge3=$(plant_slot 1000 $((64 << 20)))

printf 'Wrong-Horse-Battery-9\n' >"$T/wrong" && chmod 600 "$T/wrong"
start=$(date +%s)
expect_exit 12 timeout -k 5 30 "$MV_BIN" snapshots -r "$R" --password-file "$T/wrong"
[ $(($(date +%s) - start)) -lt 20 ] || fail "a wrong password took $(($(date +%s) - start)) s"

start=$(date +%s)
expect_exit 0 timeout -k 5 30 "$MV_BIN" snapshots -r "$R"
[ $(($(date +%s) - start)) -lt 20 ] || fail "opening with planted slots took $(($(date +%s) - start)) s"
grep -q "key slot ${huge1:0:16}\|key slot ${huge2:0:16}\|key slot ${huge3:0:16}" "$T/err" ||
	fail "the slot beyond the caps is not named: $(cat "$T/err")"
grep -q "caps" "$T/err" || fail "the warning does not say why: $(cat "$T/err")"
# the warning is shown even with -q (a planted slot is worth knowing)
expect_exit 0 timeout -k 5 30 "$MV_BIN" snapshots -q -r "$R"
grep -q "caps" "$T/err" || fail "-q hid the warning about the planted slot"

# the commands that write work too (backup, then restore of what it saved)
expect_exit 0 timeout -k 5 60 "$MV_BIN" backup -r "$R" "$T/src"
expect_exit 0 timeout -k 5 60 "$MV_BIN" restore -r "$R" latest --target "$T/out1"
cmp "$T/src/a.txt" "$T/out1$T/src/a.txt" || fail "restore after planted slots differs"

# check names each planted slot (beyond the caps, and not in the key list)
expect_exit 4 timeout -k 5 60 "$MV_BIN" check -r "$R"
for h in "$huge1" "$huge2" "$huge3"; do
	grep -q "keys/$h: .*caps" "$T/out" || fail "check does not name $h: $(cat "$T/out")"
done

# init refuses parameters beyond the caps (exit 2) before writing anything
expect_exit 2 mv init -r "$T/r2" --recovery-key-file "$(keyfile)" --kdf-iterations 9
grep -q "from 3 to 8" "$T/err" || fail "--kdf-iterations cap not explained: $(cat "$T/err")"
expect_exit 2 mv init -r "$T/r3" --recovery-key-file "$(keyfile)" --kdf-memory 4096
grep -q "from 64 to 2048" "$T/err" || fail "--kdf-memory cap not explained: $(cat "$T/err")"
[ ! -e "$T/r2" ] && [ ! -e "$T/r3" ] || fail "a refused init wrote a repository"
# the caps themselves are accepted (8 passes over 64 MiB: quick)
expect_exit 0 mv init -r "$T/r4" --recovery-key-file "$(keyfile)" --kdf-iterations 8
expect_exit 0 mv snapshots -r "$T/r4"
pass
