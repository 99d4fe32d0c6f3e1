#!/usr/bin/env bash
# cmake --install into a DESTDIR: the binary, the man page, the completion,
# the nightly job's script, units and /etc templates, each in its Debian
# place; the installed units pass systemd-analyze verify (where systemd is
# installed), the udev rule udevadm verify (where it has that command).
. "$(dirname "$0")/lib.sh"

BUILD=$(dirname "$MV_BIN")
[ -f "$BUILD/cmake_install.cmake" ] || { echo "SKIP: $MV_BIN is not in a CMake build folder"; exit 77; }
prefix=$(sed -n 's/^CMAKE_INSTALL_PREFIX:PATH=//p' "$BUILD/CMakeCache.txt")
[ -n "$prefix" ] || fail "no CMAKE_INSTALL_PREFIX in $BUILD/CMakeCache.txt"
D="$T/dest"
DESTDIR="$D" cmake --install "$BUILD" >"$T/install.out" || { cat "$T/install.out"; fail "cmake --install"; }
P="$D$prefix"
for f in bin/medvault share/man/man1/medvault.1 share/bash-completion/completions/medvault \
	lib/medvault/medvault-nightly lib/systemd/system/medvault-backup@.service \
	lib/systemd/system/medvault-backup@.timer lib/systemd/system/medvault-disk@.service \
	share/medvault/nightly.conf share/medvault/medvault.cron share/medvault/99-medvault-disk.rules; do
	[ -f "$P/$f" ] || fail "not installed: $prefix/$f"
done
[ -x "$P/bin/medvault" ] && [ -x "$P/lib/medvault/medvault-nightly" ] || fail "not executable"
# nothing else: a stray file would be a packaging surprise
[ "$(find "$D" -type f | wc -l)" = 10 ] || { find "$D" -type f; fail "unexpected files installed"; }
"$P/bin/medvault" version >/dev/null || fail "the installed binary does not run"
# the generated files are those of the installed binary's help
"$P/bin/medvault" help --man | cmp -s - "$P/share/man/man1/medvault.1" || fail "stale man page"
"$P/bin/medvault" help --bash-completion | cmp -s - "$P/share/bash-completion/completions/medvault" ||
	fail "stale completion"
# the units name the installed paths, no placeholder is left
if grep -n '@[A-Z_]*@' "$P"/lib/systemd/system/* "$P"/share/medvault/* "$P"/lib/medvault/*; then
	fail "a placeholder is left"
fi
grep -q "^ExecStart=$prefix/lib/medvault/medvault-nightly --repo %f\$" \
	"$P/lib/systemd/system/medvault-backup@.service" || fail "ExecStart of the backup unit"
grep -q "$prefix/lib/medvault/medvault-nightly --config /etc/medvault/nightly.conf" \
	"$P/share/medvault/medvault.cron" || fail "the cron line"
grep -q "^MEDVAULT=\${MEDVAULT:-$prefix/bin/medvault}" "$P/lib/medvault/medvault-nightly" ||
	fail "the script does not name the installed binary"
for u in medvault-backup@.service medvault-disk@.service; do
	for k in ProtectSystem=strict PrivateTmp=yes NoNewPrivileges=yes ProtectHome=read-only \
		IOSchedulingClass=idle Nice= EnvironmentFile=/etc/medvault/nightly.conf \
		CapabilityBoundingSet=CAP_DAC_READ_SEARCH ReadWritePaths= LoadCredential=nightly.key:; do
		grep -q "^$k" "$P/lib/systemd/system/$u" || fail "$u lacks $k"
	done
done
grep -q '^Persistent=true' "$P/lib/systemd/system/medvault-backup@.timer" || fail "timer not persistent"

# systemd-analyze verify, on instances of the templates whose ExecStart
# points into DESTDIR (verify checks that the programs exist)
if command -v systemd-analyze >/dev/null; then
	U="$T/units"
	mkdir "$U"
	inst=$(systemd-escape -p /media/backup/medvault)
	for f in "$P"/lib/systemd/system/*; do
		name=$(basename "$f")
		name=${name/@./@$inst.}
		[[ $name == medvault-disk@* ]] && name='medvault-disk@1234\x2dABCD.service'
		sed "s|$prefix/|$P/|g" "$f" >"$U/$name"
	done
	SYSTEMD_LOG_LEVEL=notice systemd-analyze verify --man=no "$U"/* >"$T/verify" 2>&1 ||
		{ cat "$T/verify"; fail "systemd-analyze verify"; }
	[ ! -s "$T/verify" ] || { cat "$T/verify"; fail "systemd-analyze verify warns"; }
else
	echo "note: no systemd-analyze, units not verified"
fi
if command -v udevadm >/dev/null && udevadm verify --help >/dev/null 2>&1; then
	udevadm verify "$P/share/medvault/99-medvault-disk.rules" || fail "udevadm verify"
else
	echo "note: no 'udevadm verify', udev rule not verified"
fi
# the man page and the completion, installed, work
MANWIDTH=100 man -l "$P/share/man/man1/medvault.1" 2>/dev/null | grep -q 'medvault backup' ||
	fail "the installed man page does not render"
bash -c '. "$0"; COMP_WORDS=(medvault ba); COMP_CWORD=1; _medvault; echo "${COMPREPLY[*]}"' \
	"$P/share/bash-completion/completions/medvault" | grep -qx backup || fail "installed completion"
echo "ok"
