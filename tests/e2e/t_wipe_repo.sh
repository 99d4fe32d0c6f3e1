#!/usr/bin/env bash
# medvault wipe --repository (issue 10, crypto-erase): a repository on a
# loop-mounted ext4 image loses every key slot; afterwards neither the
# password nor the recovery key opens it (exit 10 or 12), and no key slot's
# bytes (saved outside the image before) remain anywhere in the raw image.
# The certificate verifies. Needs root (loop mount); skipped otherwise.
. "$(dirname "$0")/lib.sh"

loop_mount 64M
cd "$T"
R="$T/mnt/backup"
RK="$T/recovery-key"
mkdir -p "$T/src"
head -c 500000 /dev/urandom >"$T/src/IM000001.dcm"
expect_exit 0 mv init -r "$R" --recovery-key-file "$RK"
expect_exit 0 mv backup -r "$R" "$T/src"
mkdir "$T/slots"
cp "$R"/keys/* "$T/slots/"
[ "$(ls "$T/slots" | wc -l)" -ge 2 ] || fail "expected a password and a recovery slot"
for s in "$T/slots"/*; do [ "$(stat -c %s "$s")" = 112 ] || fail "slot $s is not 112 bytes"; done
# the recovery key opens it before
expect_exit 0 mv snapshots -r "$R" --password-file "$RK"

# without --yes and without a terminal: refused, nothing erased
set +e
mv wipe --repository -r "$R" </dev/null >"$T/out" 2>&1
rc=$?
set -e
[ "$rc" != 0 ] || fail "crypto-erase went on without confirmation"
expect_exit 0 mv snapshots -r "$R"

# the command line of --repository has no --accept-unreliable-medium; where
# the host's medium is flagged (exit 1, naming the flag), go on with it
set +e
mv wipe --repository -r "$R" --yes --certificate "$T/erase.json" </dev/null >"$T/out" 2>"$T/err"
rc=$?
set -e
if [ "$rc" = 1 ] && grep -q -- "--accept-unreliable-medium" "$T/out" "$T/err"; then
	[ ! -e "$T/erase.json" ] || fail "a refused crypto-erase wrote a certificate"
	expect_exit 0 mv snapshots -r "$R" # the refusal erased nothing
	expect_exit 0 mv wipe --repository -r "$R" --yes --accept-unreliable-medium --certificate "$T/erase.json"
elif [ "$rc" != 0 ]; then
	cat "$T/out" "$T/err"
	fail "crypto-erase exited $rc"
fi
expect_exit 0 mv wipe --verify-certificate "$T/erase.json"
[ -z "$(find "$R/keys" -type f 2>/dev/null)" ] || fail "key slots left: $(ls "$R/keys")"
expect_exit_in "10 12" mv snapshots -r "$R"
expect_exit_in "10 12" mv snapshots -r "$R" --password-file "$RK"
expect_exit_in "10 12" mv restore -r "$R" latest --target "$T/restore" --password-file "$RK"

# no slot's bytes, whole or in part (salt, nonce, sealed master key), remain
unmount_image
args=()
for s in "$T/slots"/*; do
	h=$(xxd -p "$s" | tr -d '\n')
	args+=("hex:$h" "hex:${h:48:32}" "hex:${h:80:48}" "hex:${h:128:96}")
done
wt count "$T/disk.img" "${args[@]}" >"$T/counts"
awk '$1 != 0' "$T/counts" | grep -q . && fail "key slot bytes remain in the raw image: $(awk '$1 != 0' "$T/counts")"
# the search can find a slot: the saved copy, written into a copy of the image
cp "$T/disk.img" "$T/probe.img"
s=$(ls "$T/slots"/* | head -1)
dd if="$s" of="$T/probe.img" bs=1 seek=123457 conv=notrunc status=none
read -r n _ < <(wt count "$T/probe.img" "hex:$(xxd -p "$s" | tr -d '\n')")
[ "$n" = 1 ] || fail "the search for slot bytes is broken"
pass
