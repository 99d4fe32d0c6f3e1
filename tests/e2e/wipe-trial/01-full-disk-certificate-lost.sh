#!/usr/bin/env bash
# The certificate's folder is on a full filesystem. Its names are reserved
# before the wipe (make_excl), but not its space: every file is wiped, then
# writing the certificate fails with ENOSPC, the reserved empty files are
# removed, and the run exits 1 -- which the help defines as "the medium is
# unreliable (nothing touched)". The provider is left with wiped data and no
# signed certificate; the repository keeps a record (wipe --history) but no
# command gives the signed certificate back.
# Expected: refuse before touching anything (exit 2, "nothing was wiped"),
# e.g. by writing/preallocating the certificate room first, or else write the
# certificate elsewhere / make it recoverable, and not exit 1.
# cli/cmd_wipe.c reserve_cert (make_excl loop) and certify().
. "$(dirname "$0")/common.sh"
mount_ext4 64M
D="$MNT/IMG"; mkdir -p "$D"
for i in 1 2 3; do head -c 100000 /dev/urandom >"$D/f$i.dcm"; done
R="$T/repo"; init_backup "$R" "$D"
F="$T/full"; mkdir -p "$F"
truncate -s 8M "$T/full.img"; mkfs.ext4 -q -F "$T/full.img" >/dev/null 2>&1 || exit 77
mount -o loop "$T/full.img" "$F" || exit 77
trap 'r=$?; umount -l "$F" 2>/dev/null; (exit $r); cleanup' EXIT
dd if=/dev/zero of="$F/fill" bs=1M 2>/dev/null
i=0; while head -c 1024 /dev/zero >"$F/s$i" 2>/dev/null && [ $i -lt 5000 ]; do i=$((i+1)); done
rm -f "$F/s$i"
mvt "${WIPE[@]}" -r "$R" --snapshot latest --certificate "$F/cert.json" "$D" >"$T/o" 2>&1; rc=$?
cat "$T/o"
left=$(ls "$D" 2>/dev/null | wc -l)
if [ "$left" -lt 3 ]; then
	[ -s "$F/cert.json" ] && mvt wipe --verify-certificate "$F/cert.json" -r "$R" >/dev/null 2>&1 &&
		ok "files wiped and the certificate written"
	bug "files wiped (exit $rc) but no certificate on the full filesystem"
fi
# refused before wiping: a failure (1) or a usage error (2), saying so
{ [ $rc = 1 ] || [ $rc = 2 ]; } && grep -q 'nothing was wiped' "$T/o" ||
	bug "nothing wiped but exit $rc without saying that nothing was wiped"
ok "refused before wiping"
