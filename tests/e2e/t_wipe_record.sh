#!/usr/bin/env bash
# Two edges of the secure wipe (issue 10). The repository cannot keep the
# wipe's record after the files were destroyed (its wipes/ folder made
# immutable: what a full disk or a read-only remount at that moment does):
# the wipe exits 1, says the record is missing and that the certificate is
# the only proof, and that certificate is written and verifies against the
# repository's key; `--history` lists nothing. An empty folder: removed,
# exit 0, with a certificate of no item. Needs root (loop mount, chattr).
. "$(dirname "$0")/lib.sh"

loop_mount 64M
command -v chattr >/dev/null || { echo "SKIP: no chattr (e2fsprogs)"; exit 77; }
W="$T/mnt/IMAGERIE"
mkdir -p "$W/DUPONT^JEAN_1961" "$W/EMPTY"
head -c 300000 /dev/urandom >"$W/DUPONT^JEAN_1961/IM000001.dcm"
head -c 5000 /dev/urandom >"$W/DUPONT^JEAN_1961/IM000002.dcm"
R="$T/mnt/repo"
init_backup "$R" "$W"

# an empty folder
expect_exit 0 mv wipe -r "$R" --snapshot latest --yes --accept-unreliable-medium \
	--certificate "$T/empty.json" "$W/EMPTY"
[ ! -e "$W/EMPTY" ] || fail "the empty folder is still there"
grep -q '"wiped": 0' "$T/empty.json" || fail "the certificate of an empty folder lists items"

# the record cannot be kept once the files are destroyed
mkdir -p "$R/wipes"
chattr +i "$R/wipes"
trap 'chattr -i "$R/wipes" 2>/dev/null; cleanup' EXIT
expect_exit 1 mv wipe -r "$R" --snapshot latest --yes --accept-unreliable-medium \
	--certificate "$T/c.json" "$W/DUPONT^JEAN_1961"
chattr -i "$R/wipes"
[ ! -e "$W/DUPONT^JEAN_1961" ] || fail "the files were not wiped"
grep -q "record could not be kept" "$T/err" || fail "no word of the missing record: $(cat "$T/err")"
grep -q "keep the certificate" "$T/err" || fail "the user is not told to keep the certificate"
grep -q '"wiped": 2' "$T/c.json" || fail "the certificate does not list the two files"
expect_exit 0 mv wipe --verify-certificate "$T/c.json" -r "$R"
grep -q "this repository's key" "$T/out" || fail "the certificate is not verified against the repository"
expect_exit 0 mv wipe --history -r "$R"
[ "$(grep -c " wiped " "$T/out")" = 1 ] || fail "the history should list the empty folder's wipe alone: $(cat "$T/out")"
expect_exit 0 mv check -r "$R"
pass
