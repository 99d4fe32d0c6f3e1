#!/usr/bin/env bash
# forget end to end, on a history of backups with forged times (backup
# --time): --dry-run changes nothing; the real run removes exactly the
# snapshots it listed and no other; kept snapshots restore byte-identical;
# check passes; the report of what would be in no remaining snapshot names
# the files and the patient (with --list-patients) that only removed
# snapshots hold, in text and JSON; a policy removing every snapshot is
# refused with nothing removed; bad command lines are usage errors;
# explicit snapshot ids; a second writer's lock is respected.
. "$(dirname "$0")/lib.sh"

export TZ=UTC
R="$T/repo"
S="$T/src"
expect_exit 0 mv init -r "$R" --recovery-key-file "$(keyfile)"

snaps() { ls "$R/snapshots" | sort; }

# Day N of January 2026: the source changes, is backed up at 10:00 (and on
# day 9 again at 18:00), and a copy of it is kept to compare restores with.
mkdir -p "$S"
backup_day() { # DAY HH
	expect_exit 0 mv backup -q -r "$R" --time "2026-01-0$1 $2:00:00" "$S"
	local id
	id=$(mv snapshots -r "$R" --json | python3 -c '
import json, sys
print(max(json.load(sys.stdin), key=lambda s: s["time"])["id"])')
	cp -a "$S" "$T/state-$id"
}
echo "kept from the start" >"$S/always.txt"
# day 5: a patient whose images leave the source after this day, and a file
python3 "$SRC/tests/e2e/mkdicom.py" "$S/dicom/doe" 2 3000 1 "DOE^JANE" PID-OLD 1.2.826.9.1
python3 "$SRC/tests/e2e/mkdicom.py" "$S/dicom/roe" 2 3000 2 "ROE^RICHARD" PID-STAY 1.2.826.9.2
echo "only on day 5" >"$S/day5-only.txt"
backup_day 5 10
rm -r "$S/dicom/doe" "$S/day5-only.txt"
for d in 6 7 8 9; do
	echo "journal of day $d" >"$S/journal.txt"
	backup_day "$d" 10
done
echo "evening" >"$S/journal.txt"
backup_day 9 18
[ "$(snaps | wc -l)" = 6 ] || fail "expected 6 snapshots"
# backup --time takes a real local time only
expect_exit 2 mv backup -q -r "$R" --time "2026-02-30 10:00:00" "$S"
expect_exit 2 mv backup -q -r "$R" --time "2026-01-05" "$S"
[ "$(snaps | wc -l)" = 6 ] || fail "a refused --time made a snapshot"

# ---- bad command lines ---------------------------------------------------
expect_exit 2 mv forget -r "$R"
grep -q "no policy given" "$T/err" || fail "no message for a missing policy"
expect_exit 2 mv forget -r "$R" --keep-daily 2 "$(snaps | head -1 | cut -c1-8)"
expect_exit 2 mv forget -r "$R" --keep-daily two
expect_exit 2 mv forget -r "$R" --keep-within 3x
expect_exit 2 mv forget -r "$R" --keep-daily 2 --group-by colour
[ "$(snaps | wc -l)" = 6 ] || fail "a usage error removed snapshots"

# ---- a policy that would remove everything is refused ---------------------
snaps >"$T/before"
expect_exit 2 mv forget -r "$R" --keep-tag no-such-tag
grep -q "would remove every snapshot" "$T/err" || fail "refusal not explained"
snaps | cmp -s - "$T/before" || fail "the refused policy removed snapshots"

# ---- dry run: what would go, what would be lost, nothing removed -----------
# keep-daily 3: the newest of days 9, 8, 7; days 5 and 6, and the morning
# of day 9, are removed
expect_exit 0 mv forget -r "$R" --keep-daily 3 --dry-run --list-patients
cp "$T/out" "$T/dry.txt"
snaps | cmp -s - "$T/before" || fail "--dry-run removed snapshots"
grep -q "keep 3 snapshots" "$T/dry.txt" || fail "dry run: no keep list"
grep -q "remove 3 snapshots" "$T/dry.txt" || fail "dry run: no remove list"
grep -q "daily snapshot" "$T/dry.txt" || fail "dry run: no reasons"
grep -q "day5-only.txt" "$T/dry.txt" || fail "dry run: the file only in removed snapshots not named"
grep -q "/dicom/doe/IM0000.dcm" "$T/dry.txt" || fail "dry run: the patient's file not named"
grep -q "always.txt" "$T/dry.txt" && fail "dry run: a file still kept named as lost"
grep -q "DICOM: 1 patient and 1 study would be in no remaining snapshot" "$T/dry.txt" ||
	fail "dry run: patients and studies not counted"
grep -q "DOE^JANE" "$T/dry.txt" || fail "dry run: the patient only in removed snapshots not named"
grep -q "PID-OLD" "$T/dry.txt" || fail "dry run: the patient ID not shown"
grep -q "ROE^RICHARD" "$T/dry.txt" && fail "dry run: a patient still kept named as lost"
grep -q "would remove 3 of 6 snapshots" "$T/dry.txt" || fail "dry run: no summary"
# -q: no lists, but what would be lost is never silent
expect_exit 0 mv forget -q -r "$R" --keep-daily 3 --dry-run
grep -q "keep 3 snapshots" "$T/out" && fail "forget -q listed the snapshots"
grep -q "day5-only.txt" "$T/out" || fail "forget -q hid the files that would be lost"
grep -q "DICOM: 1 patient" "$T/out" || fail "forget -q hid the patient that would be lost"
# without --list-patients, no names
expect_exit 0 mv forget -r "$R" --keep-daily 3 --dry-run
grep -q "DOE" "$T/out" && fail "patient name shown without --list-patients"
grep -q "add --list-patients" "$T/out" || fail "no hint to --list-patients"

# the same in JSON: it parses, and says the same
expect_exit 0 mv forget -r "$R" --keep-daily 3 --dry-run --json --list-patients
python3 -m json.tool "$T/out" >/dev/null || fail "forget --json does not parse"
cp "$T/out" "$T/dry.json"
python3 - "$T/dry.json" "$T/remove.ids" "$T/keep.ids" <<'EOF' || fail "forget --json content"
import json, sys
j = json.load(open(sys.argv[1]))
assert j["message_type"] == "forget" and j["dry_run"] is True and j["removed"] == 0, j
g = j["groups"]
assert len(g) == 1 and g[0]["group_key"]["hostname"], g
keep = [s["id"] for s in g[0]["keep"]]
remove = [s["id"] for s in g[0]["remove"]]
assert len(keep) == 3 and len(remove) == 3, (keep, remove)
assert all("daily snapshot" in s["reasons"] for s in g[0]["keep"]), g[0]["keep"]
loss = j["not_in_remaining_snapshots"]
assert loss["patients"] == 1 and loss["studies"] == 1, loss
assert [p["patient_id"] for p in loss["patient_list"]] == ["PID-OLD"], loss
assert any(p.endswith("/day5-only.txt") for p in loss["paths"]), loss
assert not any(p.endswith("/always.txt") for p in loss["paths"]), loss
# journal.txt of day 6 and of the morning of day 9 too: 4 paths, 5 contents
assert loss["files"] == 4 and loss["contents"] == 5 and loss["bytes"] > 6000, loss
open(sys.argv[2], "w").write("\n".join(sorted(remove)) + "\n")
open(sys.argv[3], "w").write("\n".join(sorted(keep)) + "\n")
EOF

# ---- the real run removes exactly the listed snapshots ---------------------
expect_exit 0 mv forget -r "$R" --keep-daily 3
grep -q "DICOM: 1 patient and 1 study are in no remaining snapshot" "$T/out" ||
	fail "real run: no loss report"
grep -q "removed 3 of 6 snapshots" "$T/out" || fail "real run: no summary"
snaps >"$T/after"
comm -23 "$T/before" "$T/after" | cmp -s - "$T/remove.ids" || fail "removed other snapshots than listed"
cmp -s "$T/after" "$T/keep.ids" || fail "kept other snapshots than listed"
expect_exit 0 mv check -r "$R" --read-data
for id in $(cat "$T/keep.ids"); do
	rm -rf "$T/restore"
	expect_exit 0 mv restore -r "$R" "$id" --target "$T/restore"
	compare_trees "$T/state-$id" "$T/restore$S" || fail "kept snapshot $id restores differently"
done

# the same policy again: nothing more to remove
expect_exit 0 mv forget -r "$R" --keep-daily 3
grep -q "removed 0 of 3 snapshots" "$T/out" || fail "a second run removed more"
expect_exit 0 mv forget -q -r "$R" --keep-daily 3
[ ! -s "$T/out" ] || fail "forget -q printed although nothing was removed"

# ---- explicit snapshots ----------------------------------------------------
oldest=$(head -1 "$T/keep.ids")
expect_exit 0 mv forget -r "$R" --dry-run "${oldest:0:8}"
[ "$(snaps | wc -l)" = 3 ] || fail "--dry-run with an id removed it"
expect_exit 0 mv forget -r "$R" --json "${oldest:0:8}"
python3 -c 'import json,sys; j=json.load(open(sys.argv[1])); assert j["removed"] == 1, j' \
	"$T/out" || fail "forget ID --json"
[ ! -e "$R/snapshots/$oldest" ] || fail "forget ID did not remove it"
[ "$(snaps | wc -l)" = 2 ] || fail "forget ID removed more than it"
expect_exit 1 mv forget -r "$R" deadbeef
expect_exit 0 mv check -r "$R"

# ---- run again after an interruption: a deletion done by hand stands for a
# forget killed half-way; the next run removes the rest, check passes
for d in 1 2 3 4; do
	echo "more $d" >"$S/journal.txt"
	expect_exit 0 mv backup -q -r "$R" --time "2026-02-0$d 10:00:00" "$S"
done
expect_exit 0 mv forget -r "$R" --keep-last 2 --dry-run --json
python3 -c '
import json, sys
for s in json.load(open(sys.argv[1]))["groups"][0]["remove"]: print(s["id"])' "$T/out" >"$T/remove.ids"
[ "$(wc -l <"$T/remove.ids")" = 4 ] || fail "expected 4 to remove"
command rm "$R/snapshots/$(head -1 "$T/remove.ids")"
expect_exit 0 mv check -r "$R"
expect_exit 0 mv forget -r "$R" --keep-last 2
grep -q "removed 3 of 5 snapshots" "$T/out" || fail "the run after an interruption"
[ "$(snaps | wc -l)" = 2 ] || fail "not 2 snapshots left"
expect_exit 0 mv check -r "$R"

# ---- a kill -9 at any moment leaves a repository that check passes --------
for d in 1 2 3 4 5 6; do
	echo "march $d" >"$S/journal.txt"
	expect_exit 0 mv backup -q -r "$R" --time "2026-03-0$d 10:00:00" "$S"
done
"$MV_BIN" forget -r "$R" --keep-last 1 >/dev/null 2>&1 &
pid=$!
sleep 0.3
kill -9 "$pid" 2>/dev/null || true
wait "$pid" 2>/dev/null || true
expect_exit 0 mv check -r "$R"
expect_exit 0 mv forget -r "$R" --keep-last 1
[ "$(snaps | wc -l)" = 1 ] || fail "forget after a kill did not finish the job"
expect_exit 0 mv check -r "$R"

# ---- a backup holding its lock: forget (exclusive) exits 11, removes nothing
for i in $(seq 1 30); do head -c 3000000 /dev/urandom >"$S/big$i.bin"; done
"$MV_BIN" backup -r "$R" "$S" >/dev/null 2>&1 &
pid=$!
wait_for_lock "$R"
snaps >"$T/before"
expect_exit 11 mv forget -r "$R" --keep-last 1
snaps | cmp -s - "$T/before" || fail "forget removed snapshots without the lock"
kill -9 "$pid"
wait "$pid" 2>/dev/null || true

# ---- --prune: the data only removed snapshots used goes; a dry run keeps all
rm -f "$S"/big*.bin
for d in 1 2; do
	head -c 4000000 /dev/urandom >"$S/night$d.bin"
	expect_exit 0 mv backup -q -r "$R" --time "2026-04-0$d 10:00:00" "$S"
	rm -f "$S/night$d.bin"
done
size0=$(du -sb "$R/data" | cut -f1)
expect_exit 0 mv forget -r "$R" --keep-last 1 --prune --dry-run
[ "$(du -sb "$R/data" | cut -f1)" = "$size0" ] || fail "forget --prune --dry-run changed the data"
grep -q "not run in a dry run" "$T/out" || fail "forget --prune --dry-run does not say prune did not run"
# the password from MEDVAULT_PASSWORD, which is removed from the environment
# once read: prune (a second open in the same run) must still open
pw=$(cat "$MEDVAULT_PASSWORD_FILE")
expect_exit 0 env -u MEDVAULT_PASSWORD_FILE MEDVAULT_PASSWORD="$pw" "$MV_BIN" forget -r "$R" \
	--keep-last 1 --prune
grep -q "prune" "$T/out" || fail "forget --prune printed nothing of the prune: $(cat "$T/out")"
size1=$(du -sb "$R/data" | cut -f1)
[ "$size1" -lt $((size0 - 3000000)) ] || fail "forget --prune freed too little: $size0 -> $size1"
expect_exit 0 mv check -r "$R" --read-data
pass
