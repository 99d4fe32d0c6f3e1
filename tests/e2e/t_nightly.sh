#!/usr/bin/env bash
# medvault-nightly, the script the systemd units and the cron line run: a
# backup from the settings file restores byte-identical; a bad setting, a
# missing repository (the disk not mounted) or a unit for another repository
# is a clear non-zero exit, never a success; the settings are data, not shell
# code; --release says whether the disk may be unplugged.
. "$(dirname "$0")/lib.sh"

NIGHTLY="$SRC/scripts/nightly/medvault-nightly"
export MEDVAULT="$MV_BIN"
unset MEDVAULT_PASSWORD_FILE INVOCATION_ID CREDENTIALS_DIRECTORY MEDVAULT_KEY_FILE
# wall and logger recorded, not sent to this machine's terminals and syslog
mkdir "$T/bin"
printf '#!/bin/sh\ncat >>"%s/wall.log"\n' "$T" >"$T/bin/wall"
printf '#!/bin/sh\necho "$@" >>"%s/logger.log"\n' "$T" >"$T/bin/logger"
chmod +x "$T/bin/wall" "$T/bin/logger"
export PATH="$T/bin:$PATH"
nightly() { bash "$NIGHTLY" "$@"; }

mkdir -p "$T/src/a b" "$T/src2"
head -c 300000 /dev/urandom >"$T/src/a b/one.dcm"
echo two >"$T/src2/two.txt"
mv init -r "$T/repo" --password-file "$T/pw" --recovery-key-file "$(keyfile)" >/dev/null
conf() {
	cat >"$T/nightly.conf" <<EOC
# a comment
MEDVAULT_REPOSITORY=$T/repo
BACKUP_PATHS=$T/src $T/src2
MEDVAULT_PASSWORD_FILE="$T/pw"
BACKUP_OPTIONS=--exclude *.tmp --tag nightly
CHECK_OPTIONS=--read-data
$1
EOC
}
snapshots() { MEDVAULT_PASSWORD_FILE="$T/pw" mv -r "$T/repo" snapshots --json | grep -o '"id"' | wc -l; }

conf ""
touch "$T/src/skip.tmp"
expect_exit 0 nightly --config "$T/nightly.conf"
grep -q "done in" "$T/out" || fail "no summary line: $(cat "$T/out")"
[ "$(snapshots)" = 1 ] || fail "no snapshot"
MEDVAULT_PASSWORD_FILE="$T/pw" mv -r "$T/repo" restore latest --target "$T/r" >/dev/null
cmp "$T/src/a b/one.dcm" "$T/r$T/src/a b/one.dcm" || fail "restore differs"
cmp "$T/src2/two.txt" "$T/r$T/src2/two.txt" || fail "restore differs (second path)"
[ ! -e "$T/r$T/src/skip.tmp" ] || fail "BACKUP_OPTIONS' --exclude was not applied"
# the environment (systemd's EnvironmentFile=) instead of --config; the
# unit's repository (--repo %f) must be the settings' one
expect_exit 0 env MEDVAULT_REPOSITORY="$T/repo" BACKUP_PATHS="$T/src" \
	MEDVAULT_PASSWORD_FILE="$T/pw" INVOCATION_ID=x bash "$NIGHTLY" --repo "$T/repo/"
[ "$(snapshots)" = 2 ] || fail "no second snapshot"
expect_exit 2 nightly --config "$T/nightly.conf" --repo "$T/other"
grep -q "systemd-escape -p" "$T/out" || fail "no hint for a unit of another repository"
[ "$(snapshots)" = 2 ] || fail "a snapshot taken for another unit's repository"

# the machine key as systemd hands it over (a credential, mode 0400) and the
# retention: no password anywhere, forget keeps the newest snapshot
mv key add --machine "$T/machine.key" -r "$T/repo" --password-file "$T/pw" >/dev/null
mkdir -m 700 "$T/cred"
cp "$T/machine.key" "$T/cred/nightly.key"
chmod 400 "$T/cred/nightly.key"
conf "FORGET_OPTIONS=--keep-last 1 --group-by host
PRUNE_OPTIONS=--no-such-option"
sed -i '/^MEDVAULT_PASSWORD_FILE=/d' "$T/nightly.conf"
# (a prune refused, here for a bad option, is the run's exit code)
expect_exit 2 env CREDENTIALS_DIRECTORY="$T/cred" bash "$NIGHTLY" --config "$T/nightly.conf"
[ "$(snapshots)" = 1 ] || fail "FORGET_OPTIONS not applied: $(snapshots) snapshots"
grep -q "^medvault-nightly: prune: exit code 2" "$T/out" || fail "prune was not run"
sed -i '/^PRUNE_OPTIONS=/d' "$T/nightly.conf"
expect_exit 0 env CREDENTIALS_DIRECTORY="$T/cred" bash "$NIGHTLY" --config "$T/nightly.conf"
[ "$(snapshots)" = 1 ] || fail "FORGET_OPTIONS not applied: $(snapshots) snapshots"
# without the credential and without a key or password: a clear failure
expect_exit_in "1 2 12" env MEDVAULT_PASSWORD_FILE= bash "$NIGHTLY" --config "$T/nightly.conf"
grep -q FAILED "$T/out" || fail "no failure line without a key"
# the conf's MEDVAULT_KEY_FILE (the cron line's way)
conf "MEDVAULT_KEY_FILE=$T/machine.key"
sed -i '/^MEDVAULT_PASSWORD_FILE=/d' "$T/nightly.conf"
expect_exit 0 nightly --config "$T/nightly.conf"

# the disk is not mounted: medvault's exit code (10: no repository), FAILED, syslog
command mv "$T/repo" "$T/repo.away"
expect_exit 10 nightly --config "$T/nightly.conf"
grep -q "FAILED with exit code 10" "$T/out" || fail "no failure line"
grep -q "FAILED with exit code 10" "$T/logger.log" || fail "the failure is not in syslog"
command mv "$T/repo.away" "$T/repo"
# a wrong password: 12, and no check after a failed backup
echo wrong-password-here >"$T/pw2"
chmod 600 "$T/pw2"
conf "MEDVAULT_PASSWORD_FILE=$T/pw2"
expect_exit 12 nightly --config "$T/nightly.conf"
! grep -q "^medvault-nightly: check" "$T/out" || fail "check ran after a failed backup"
# damaged data found by the check after the backup: 4
conf ""
for p in "$T"/repo/data/*/*; do
	printf 'X' | dd of="$p" bs=1 seek=200 conv=notrunc 2>/dev/null
done
expect_exit 4 nightly --config "$T/nightly.conf"

# settings are data: shell code in a value is not run, a line that is not
# NAME=value is refused
conf "BACKUP_OPTIONS=\$(touch $T/pwned)"
expect_exit_in "1 2 4" nightly --config "$T/nightly.conf"
[ ! -e "$T/pwned" ] || fail "a setting was run as shell code"
conf "touch $T/pwned2"
expect_exit 2 nightly --config "$T/nightly.conf"
[ ! -e "$T/pwned2" ] || fail "a line of the settings was run"
expect_exit 2 nightly --config "$T/missing.conf"
conf "BACKUP_PATHS="
expect_exit 2 nightly --config "$T/nightly.conf"
grep -q "set BACKUP_PATHS" "$T/out" || fail "no word on the missing paths"
# --disk: only a mounted disk
conf ""
expect_exit 2 nightly --config "$T/nightly.conf" --disk "$T/src"
grep -q "is not a mounted disk" "$T/out" || fail "--disk on a plain folder"

# --release (ExecStopPost of medvault-disk@): nothing mounted there, the
# outcome of the service, said to the terminals
expect_exit 0 env SERVICE_RESULT=success bash "$NIGHTLY" --release "$T/src" 1234-ABCD
grep -q "finished; the disk is unmounted and may be unplugged now" "$T/wall.log" ||
	fail "no unplug notice: $(cat "$T/wall.log")"
expect_exit 0 env SERVICE_RESULT=exit-code EXIT_STATUS=3 bash "$NIGHTLY" --release "$T/src" 1234-ABCD
grep -q "1234-ABCD FAILED (exit 3" "$T/wall.log" || fail "a failed backup announced as done"
echo "ok"
