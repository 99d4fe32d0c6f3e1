#!/usr/bin/env bash
# The rollback record (SECURITY.md 1.4, FORMAT.md 15): a repository swapped
# for an older copy of itself is reported by the next command (a warning,
# with --json an object on stderr; check exits 4) until a newer snapshot is
# saved; a normal history (backups, an old snapshot forgotten) is not; a
# removed key slot put back is reported; a forged record is named and
# replaced.
. "$(dirname "$0")/lib.sh"

R="$T/repo"
mkdir -p "$T/src"
echo one >"$T/src/a.txt"
init_backup "$R" "$T/src"
expect_exit 0 mv snapshots -r "$R"
grep -q "rolled back\|rollback" "$T/err" && fail "fresh repository reported: $(cat "$T/err")"
cp -a "$R" "$T/old"

# A normal sequence: backups, then the oldest snapshot forgotten (its file
# deleted): no warning.
echo two >"$T/src/b.txt"
expect_exit 0 mv backup -r "$R" "$T/src"
echo three >"$T/src/c.txt"
expect_exit 0 mv backup -r "$R" "$T/src"
oldest=$(ls -tr "$R/snapshots" | head -1)
command rm "$R/snapshots/$oldest"
expect_exit 0 mv snapshots -r "$R"
grep -q "back in time" "$T/err" && fail "forget of an old snapshot reported: $(cat "$T/err")"
expect_exit 0 mv check -r "$R"
grep -q "back in time" "$T/err" && fail "check reported a rollback: $(cat "$T/err")"

# The old copy swapped in: every command says so; check exits 4.
cp -a "$R" "$T/new"
command rm -rf "$R"
cp -a "$T/old" "$R"
expect_exit 0 mv snapshots -r "$R"
grep -q "gone back in time (rolled back)" "$T/err" || fail "rollback not reported: $(cat "$T/err")"
expect_exit 0 mv snapshots -r "$R" -q
grep -q "gone back in time" "$T/err" || fail "rollback not reported with -q"
expect_exit 4 mv check -r "$R"
grep -q "gone back in time" "$T/out" || fail "check's summary does not say it: $(cat "$T/out")"
expect_exit 4 mv check -r "$R" --json
python3 - "$T/out" "$T/err" <<'PY' || fail "JSON: $(cat "$T/out" "$T/err")"
import json, sys
out = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
err = [json.loads(l) for l in open(sys.argv[2]) if l.strip().startswith("{")]
assert out[-1]["message_type"] == "summary" and out[-1]["rolled_back"] is True, out
w = [e for e in err if e.get("code") == "rollback"]
assert w and w[0]["message_type"] == "warning" and len(w[0]["recorded_snapshot"]) == 64, err
PY
expect_exit 0 mv snapshots -r "$R" --json
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/out" ||
	fail "snapshots --json is no longer one document"
# a new backup is newer than what was recorded: it warns once, then no more
expect_exit 0 mv backup -r "$R" "$T/src"
grep -q "gone back in time" "$T/err" || fail "backup into the old copy did not warn"
expect_exit 0 mv check -r "$R"

# A removed key slot put back: reported.
rec=$(python3 - "$R/keys" <<'PY'
import os, sys
d = sys.argv[1]
print(next(n for n in sorted(os.listdir(d)) if open(os.path.join(d, n), "rb").read()[8] == 2))
PY
)
command mv "$R/keys/$rec" "$T/slot"
expect_exit_in "0 4" mv snapshots -r "$R"
grep -q "back in time" "$T/err" && fail "a removed slot reported as a rollback: $(cat "$T/err")"
command mv "$T/slot" "$R/keys/$rec"
expect_exit 0 mv snapshots -r "$R"
grep -q "key slot ${rec:0:16}, removed earlier, is back" "$T/err" ||
	fail "a removed key slot put back was not reported: $(cat "$T/err")"
expect_exit 4 mv check -r "$R"

# A record changed by someone without the key: named, and replaced.
state=$(ls "$XDG_STATE_HOME"/medvault/rollback-* | grep -v '\.lock$')
printf 'forged' | dd of="$state" bs=1 seek=30 conv=notrunc 2>/dev/null
expect_exit 0 mv snapshots -r "$R"
grep -q "rollback record .* does not open" "$T/err" || fail "forged record not named: $(cat "$T/err")"
expect_exit 0 mv snapshots -r "$R"
grep -q "does not open" "$T/err" && fail "forged record not replaced"

# The record is keyed by the repository: another repository has its own.
init_backup "$T/other" "$T/src"
[ "$(ls "$XDG_STATE_HOME"/medvault/rollback-* | grep -vc '\.lock$')" -eq 2 ] ||
	fail "one record per repository expected: $(ls "$XDG_STATE_HOME"/medvault)"
pass
