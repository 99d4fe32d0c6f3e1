#!/usr/bin/env bash
# Fault campaign on restore (with t_restore_target.sh for a full target and
# t_restore_attack.sh for a racing local user): 30 restores interrupted at
# random moments (SIGINT, and kill -9 one time in four), each followed by
# the natural re-run of the same command, sometimes itself interrupted
# first. After every interruption no file under its real name may be
# incomplete; after every completed re-run the target must equal the
# snapshot and hold no temporary file. MEDVAULT_CAMPAIGN_SEED replays a run.
. "$(dirname "$0")/lib.sh"

seed=${MEDVAULT_CAMPAIGN_SEED:-$(od -An -N2 -tu2 /dev/urandom | tr -d ' ')}
echo "campaign seed $seed (MEDVAULT_CAMPAIGN_SEED=$seed replays it)"
RANDOM=$seed
rounds=30

R="$T/repo"
mkdir -p "$T/src"
python3 - "$T/src" "$seed" <<'PY'
import os, random, sys
root, rnd = sys.argv[1], random.Random(int(sys.argv[2]))
for p in range(8):
    d = os.path.join(root, "PATIENT_%02d" % p, "study%d" % (p % 3))
    os.makedirs(d, exist_ok=True)
    for i in range(rnd.randint(20, 60)):
        size = rnd.choice([0, 100, 5000, 60000, 200000, 600000])
        with open(os.path.join(d, "IM%04d.dcm" % i), "wb") as f:
            f.write(os.urandom(size))
os.makedirs(os.path.join(root, "empty", "folder"), exist_ok=True)
PY
expect_exit 0 mv init -r "$R" --recovery-key-file "$(keyfile)"
expect_exit 0 mv backup -r "$R" "$T/src"

# how long an uninterrupted restore takes, to spread the interrupts over it
start=$(date +%s%N)
expect_exit 0 mv restore -r "$R" latest --target "$T/full"
ms=$((($(date +%s%N) - start) / 1000000))
[ "$ms" -gt 50 ] || ms=50
compare_trees "$T/src" "$T/full$T/src" || fail "uninterrupted restore differs"

complete_or_absent() {
	local dst=$1 f
	while read -r f; do
		cmp -s "$f" "${f#"$dst"}" || fail "round $2: incomplete file under its real name: $f"
	done < <(find "$dst" -type f ! -name '.medvault-*.part')
}

# interrupt CMD... : starts the command, interrupts it after a random moment
# within the restore's duration; returns its exit code in $code
interrupt() {
	local sig=INT delay
	[ $((RANDOM % 4)) = 0 ] && sig=KILL
	delay=$((RANDOM % ms))
	"$MV_BIN" "$@" >/dev/null 2>"$T/int.err" &
	local pid=$!
	sleep "$(printf '0.%03d' "$delay")"
	kill -s "$sig" "$pid" 2>/dev/null || true
	set +e
	wait "$pid"
	code=$?
	set -e
	case "$sig:$code" in
	INT:130 | INT:0 | KILL:137 | KILL:0) ;;
	*) cat "$T/int.err"; fail "round $round: restore stopped by SIG$sig exited $code" ;;
	esac
	# a SIGINT removes its own temporary files; those of an earlier kill -9
	# go when a later run passes through their folders
	if [ "$sig:$code" = INT:130 ] && [ "$killed" = 0 ] && [ -d "$T/dst" ] &&
		[ -n "$(find "$T/dst" -name '.medvault-*.part')" ]; then
		fail "round $round: SIGINT left temporary files"
	fi
	[ "$sig:$code" = KILL:137 ] && killed=1
	return 0
}

killed=0
for round in $(seq 1 $rounds); do
	[ $((RANDOM % 3)) = 0 ] || { rm -rf "$T/dst"; killed=0; }
	interrupt restore -r "$R" latest --target "$T/dst"
	[ -d "$T/dst" ] && complete_or_absent "$T/dst" "$round"
	if [ $((RANDOM % 3)) = 0 ]; then
		interrupt restore -r "$R" latest --target "$T/dst"
		[ -d "$T/dst" ] && complete_or_absent "$T/dst" "$round"
	fi
	expect_exit 0 mv restore -r "$R" latest --target "$T/dst"
	compare_trees "$T/src" "$T/dst$T/src" || fail "round $round: re-run did not complete the restore"
	[ -z "$(find "$T/dst" -name '.medvault-*')" ] || fail "round $round: temporary files after the re-run"
	killed=0
done
echo "$rounds interrupted restores completed by their re-run"
pass
