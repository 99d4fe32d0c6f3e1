#!/usr/bin/env bash
# prune after snapshots were forgotten: --dry-run changes nothing; prune
# deletes unused packs and repacks partly used ones, the repository shrinks,
# check (and check --read-data) passes and every kept snapshot restores
# byte-identical; a second prune has nothing to do; damage (an index file,
# a pack a snapshot uses) makes it refuse with exit 4 and delete nothing; a
# backup started during a prune exits 11.
. "$(dirname "$0")/lib.sh"
. "$(dirname "$0")/prunelib.sh"

R="$T/repo"
prune_history "$R"

# nothing forgotten: nothing to do, nothing changed
repo_files "$R" >"$T/files0"
expect_exit 0 mv prune -r "$R"
grep -q "nothing to do" "$T/out" || fail "prune of a fully used repository did work: $(cat "$T/out")"
repo_files "$R" >"$T/files1"
cmp -s "$T/files0" "$T/files1" || fail "prune with nothing to do changed the repository"

forget_snapshots "$R" 2 3
before=$(dir_size "$R/data")

# --dry-run: names the packs, changes nothing
repo_files "$R" >"$T/files0"
expect_exit 0 mv prune -r "$R" --dry-run
grep -q "to delete" "$T/out" || fail "dry run names no pack to delete: $(cat "$T/out")"
grep -q "to repack" "$T/out" || fail "dry run names no pack to repack: $(cat "$T/out")"
grep -q "dry run, nothing changed" "$T/out" || fail "dry run summary missing"
repo_files "$R" >"$T/files1"
cmp -s "$T/files0" "$T/files1" || fail "--dry-run changed the repository"
expect_exit 0 mv prune -r "$R" --dry-run --json
python3 -c '
import json, sys
s = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
assert s["message_type"] == "summary" and s["dry_run"] is True, s
assert s["packs_to_delete"] >= 1 and s["packs_to_repack"] >= 1, s
assert s["packs_deleted"] == 0 and s["packs_written"] == 0, s
' "$T/out" || fail "dry run JSON summary wrong: $(cat "$T/out")"

# --max-unused unlimited: unused packs deleted, nothing repacked
cp -a "$R" "$T/repo-unlimited"
expect_exit 0 mv prune -r "$T/repo-unlimited" --max-unused unlimited --json
python3 -c '
import json, sys
s = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
assert s["packs_deleted"] >= 1 and s["packs_repacked"] == 0 and s["packs_written"] == 0, s
' "$T/out" || fail "--max-unused unlimited repacked: $(cat "$T/out")"
expect_exit 0 mv check -r "$T/repo-unlimited" --read-data
rm -rf "$T/repo-unlimited"

# the prune
expect_exit 0 mv prune -r "$R"
grep -q "^prune: deleted [1-9]" "$T/out" || fail "no summary line: $(cat "$T/out")"
after=$(dir_size "$R/data")
# snapshots 2 and 3 alone held 13 MB (b/big, b/tmp)
[ "$after" -lt $((before - 12000000)) ] || fail "repository did not shrink: $before -> $after"
expect_exit 0 mv check -r "$R"
grep -q "pack is in no index" "$T/out" && fail "prune left a pack in no index"
expect_exit 0 mv check -r "$R" --read-data
restore_kept "$R" 1 4 5
expect_exit 0 mv prune -r "$R"
grep -q "nothing to do" "$T/out" || fail "second prune was not idle: $(cat "$T/out")"

# a backup after the prune deduplicates against what was kept
expect_exit 0 mv backup -r "$R" "$T/src"
expect_exit 0 mv check -r "$R" --read-data

# a damaged index file: refused, nothing deleted
forget_snapshots "$R" 4
idx=$(ls "$R/index" | head -1)
chmod u+w "$R/index/$idx"
printf 'X' | dd of="$R/index/$idx" bs=1 seek=40 conv=notrunc status=none
repo_files "$R" >"$T/files0"
expect_exit 4 mv prune -r "$R"
grep -q "run 'medvault check'" "$T/err" || fail "refusal does not say to run check: $(cat "$T/err")"
repo_files "$R" >"$T/files1"
cmp -s "$T/files0" "$T/files1" || fail "prune changed a repository with a damaged index"
expect_exit 4 mv prune -r "$R" --dry-run

# a pack that a kept snapshot uses is missing: refused, nothing deleted
rm -rf "$R"
SNAPS=()
rm -rf "$T/src" "$T/state"
prune_history "$R"
forget_snapshots "$R" 2
victim=$(ls -tr "$R"/data/*/* | head -1) # snapshot 1's first pack: all later ones use it
rm "$victim"
repo_files "$R" >"$T/files0"
expect_exit 4 mv prune -r "$R"
grep -q "missing.*run .medvault check" "$T/err" || fail "refusal does not name the missing pack: $(cat "$T/err")"
repo_files "$R" >"$T/files1"
cmp -s "$T/files0" "$T/files1" || fail "prune changed a repository with a missing pack"

# a backup started while a prune holds the lock exits 11; the prune then
# completes
rm -rf "$R" "$T/src" "$T/state"
SNAPS=()
prune_history "$R"
forget_snapshots "$R" 2 3
MEDVAULT_TEST_PRUNE_ABORT=stop:after-packs "$MV_BIN" prune -r "$R" >"$T/prune.out" 2>&1 &
pid=$!
for _ in $(seq 1 300); do
	[ "$(ps -o stat= -p "$pid" 2>/dev/null | cut -c1)" = T ] && break
	sleep 0.1
done
[ "$(ps -o stat= -p "$pid" | cut -c1)" = T ] || fail "prune did not reach after-packs"
expect_exit 11 mv backup -r "$R" "$T/src"
kill -CONT "$pid"
wait "$pid" || fail "prune failed after the pause: $(cat "$T/prune.out")"
expect_exit 0 mv check -r "$R" --read-data
restore_kept "$R" 1 4 5
pass
