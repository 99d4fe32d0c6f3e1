#!/usr/bin/env bash
# dump: a snapshot, a folder and a file as tar and zip archives, extracted
# by other tools (GNU tar, Python's zipfile, 7-Zip) and compared with the
# source byte for byte, with modes and mtimes (tar: to the nanosecond, zip:
# to the second) and names that are not UTF-8; an AES-256 zip that 7-Zip
# opens with the right password only, whose one member is a tar holding
# every name (nothing personal readable without the password); selection by patient and study
# through the DICOM catalog; refusals (terminal, --encrypt with tar, weak or
# exposed archive passwords); a flipped byte in a pack: exit 4, the damaged
# file named and left out, the rest intact.
. "$(dirname "$0")/lib.sh"

command -v 7z >/dev/null || fail "7z not found: scripts/deps installs p7zip-full"

R="$T/repo"
make_tree "$T/src" --big 2
expect_exit 0 mv init -r "$R" --recovery-key-file "$(keyfile)"
expect_exit 0 mv backup -r "$R" "$T/src"

# check_zip ZIP ROOT [aes]: every entry of ZIP matches the file of the same
# path on disk (kind, mode, mtime to the second, content or link target,
# name bytes, UTF-8 flag exactly on non-ASCII UTF-8 names), and every file,
# link and directory below ROOT is in ZIP (fifos are not). With "aes",
# every non-empty file is WinZip AES-256 encrypted (its content is checked
# with 7z instead).
check_zip() {
	python3 - "$@" <<'PY'
import os, stat, struct, sys, zipfile
zpath, root = sys.argv[1], os.fsencode(sys.argv[2])
aes = len(sys.argv) > 3 and sys.argv[3] == "aes"
errors, seen = [], set()

def ut_mtime(extra):
    i = 0
    while i + 4 <= len(extra):
        hid, size = struct.unpack("<HH", extra[i:i + 4])
        body = extra[i + 4:i + 4 + size]
        if hid == 0x5455 and body and body[0] & 1:
            return struct.unpack("<i", body[1:5])[0]
        i += 4 + size
    return None

def aes_strength(extra):
    i = 0
    while i + 4 <= len(extra):
        hid, size = struct.unpack("<HH", extra[i:i + 4])
        if hid == 0x9901:
            return extra[i + 4 + 4]
        i += 4 + size
    return None

z = zipfile.ZipFile(zpath)
for zi in z.infolist():
    utf8_flag = bool(zi.flag_bits & 0x800)
    raw = zi.filename.encode("utf-8" if utf8_flag else "cp437")
    try:
        raw.decode("ascii")
        want_flag = False
    except UnicodeDecodeError:
        try:
            raw.decode("utf-8"); want_flag = True
        except UnicodeDecodeError:
            want_flag = False
    if utf8_flag != want_flag:
        errors.append(f"UTF-8 flag {utf8_flag} on {raw!r}")
    path = b"/" + raw.rstrip(b"/")
    seen.add(path)
    if not (path == root or path.startswith(root + b"/")):
        # a folder on the way to ROOT: it has changed since the backup
        if not raw.endswith(b"/") or not (root + b"/").startswith(path + b"/"):
            errors.append(f"outside {root!r}: {raw!r}")
        continue
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        errors.append(f"not in the source: {raw!r}"); continue
    mode = zi.external_attr >> 16
    if stat.S_IFMT(mode) != stat.S_IFMT(st.st_mode):
        errors.append(f"kind differs: {raw!r} {oct(mode)} {oct(st.st_mode)}"); continue
    if not stat.S_ISLNK(st.st_mode) and stat.S_IMODE(mode) != stat.S_IMODE(st.st_mode):
        errors.append(f"mode differs: {raw!r} {oct(mode)} {oct(st.st_mode)}")
    if ut_mtime(zi.extra) != st.st_mtime_ns // 10**9:
        errors.append(f"mtime differs: {raw!r} {ut_mtime(zi.extra)} {st.st_mtime_ns}")
    if aes:
        if stat.S_ISREG(st.st_mode) and st.st_size > 0:
            if zi.compress_type != 99 or not zi.flag_bits & 1 or aes_strength(zi.extra) != 3:
                errors.append(f"not AES-256 encrypted: {raw!r}")
        continue
    if stat.S_ISREG(st.st_mode):
        if z.read(zi) != open(path, "rb").read():
            errors.append(f"content differs: {raw!r}")
    elif stat.S_ISLNK(st.st_mode):
        if z.read(zi) != os.readlink(path):
            errors.append(f"link target differs: {raw!r}")
for dp, dns, fns in os.walk(root):
    for n in dns + fns:
        p = os.path.join(dp, n)
        st = os.lstat(p)
        if stat.S_ISFIFO(st.st_mode):
            if p in seen:
                errors.append(f"fifo in a zip: {p!r}")
        elif p not in seen:
            errors.append(f"missing from the zip: {p!r}")
for e in errors[:30]:
    print(e)
sys.exit(1 if errors else 0)
PY
}

# ---- tar: the whole snapshot, extracted by GNU tar ----------------------
expect_exit 0 mv dump -r "$R" latest --format tar
cp "$T/out" "$T/all.tar"
[ ! -s "$T/err" ] || fail "dump to a file printed on stderr: $(cat "$T/err")"
mkdir "$T/xt"
tar -xpf "$T/all.tar" -C "$T/xt" || fail "GNU tar cannot extract the dump"
compare_trees "$T/src" "$T/xt$T/src" || fail "tar dump differs from the source"
# nanosecond mtimes come from pax headers
python3 - "$T/all.tar" <<'PY' || fail "no pax mtime with nanoseconds"
import sys, tarfile
t = tarfile.open(sys.argv[1])
assert t.pax_headers is not None
ok = any(m.pax_headers.get("mtime", "").endswith(".123456789") for m in t.getmembers())
assert ok, [m.pax_headers for m in t.getmembers()][:5]
PY
# tar is the default format; a SNAPSHOT:PATH argument works as restore's
expect_exit 0 mv dump -r "$R" "latest:$T/src/notes.txt"
tar -tf "$T/out" >"$T/list" || fail "single-file tar unreadable"
[ "$(cat "$T/list")" = "${T#/}/src/notes.txt" ] || fail "single-file tar holds: $(cat "$T/list")"

# ---- tar of a folder ----------------------------------------------------
expect_exit 0 mv dump -r "$R" latest "$T/src/patients" --format tar --json
mkdir "$T/xs"
tar -xpf "$T/out" -C "$T/xs" || fail "GNU tar cannot extract the folder dump"
compare_trees "$T/src/patients" "$T/xs$T/src/patients" || fail "folder dump differs"
[ ! -e "$T/xs$T/src/notes.txt" ] || fail "folder dump holds files outside the folder"
python3 - "$T/err" <<'PY' || fail "bad --json summary on stderr"
import json, sys
s = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
assert s["message_type"] == "summary", s
assert s["files"] == 9 and s["dirs"] == 13 and s["files_damaged"] == 0, s
assert s["format"] == "tar" and s["encrypted"] is False, s
PY

# ---- zip: the whole snapshot, read by Python's zipfile --------------------
expect_exit 0 mv dump -r "$R" latest --format zip
cp "$T/out" "$T/all.zip"
check_zip "$T/all.zip" "$T/src" || fail "zip dump differs from the source"
unzip -tq "$T/all.zip" >/dev/null || fail "unzip -t finds errors in the zip"
grep -q "fifo" "$T/err" || fail "the fifo left out of the zip was not named"

# ---- encrypted zip: AES-256 around one tar, so that names are encrypted too -
# Without the password, `unzip -l`, `7z l` and `strings` show no path
# component and no patient name: only the neutral member medvault-export.tar.
# With it, 7z extracts the tar, and tar gives the files byte for byte (and
# modes, mtimes, links, as the tar dump does).
ZPW='Zip-Password-For-Dr-Martin-42'
printf '%s\n' "$ZPW" >"$T/zpw"
chmod 600 "$T/zpw"
mkdir -p "$T/src/patients/DUPONT_Jean_19580312"
head -c 200000 /dev/urandom >"$T/src/patients/DUPONT_Jean_19580312/CT_thorax.dcm"
ln -s CT_thorax.dcm "$T/src/patients/DUPONT_Jean_19580312/link_to_CT_thorax"
expect_exit 0 mv backup -r "$R" "$T/src"
expect_exit 0 mv dump -r "$R" latest "$T/src/patients" --encrypt --archive-password-file "$T/zpw"
cp "$T/out" "$T/enc.zip"
# (listed from inside $T, so that the listing does not hold $T's own name)
(cd "$T" && unzip -l enc.zip) >"$T/enc.unzip-l" 2>&1 || fail "unzip cannot list the encrypted zip"
(cd "$T" && LC_ALL=C.UTF-8 7z l enc.zip) >"$T/enc.7z-l" 2>&1 || fail "7z cannot list the encrypted zip"
grep -q "medvault-export.tar" "$T/enc.unzip-l" || fail "no medvault-export.tar in: $(cat "$T/enc.unzip-l")"
[ "$(grep -c "medvault-export.tar" "$T/enc.unzip-l")" = 1 ] || fail "more than one member"
grep -q "1 file" "$T/enc.unzip-l" || fail "the encrypted zip has more than one member"
if grep -qi "warning" "$T/enc.7z-l"; then fail "7z warns about the encrypted zip: $(cat "$T/enc.7z-l")"; fi
strings -n 4 "$T/enc.zip" >"$T/enc.strings"
for word in DUPONT_Jean_19580312 DUPONT MARTIN MÜLLER 19580312 CT_thorax patients study0 IM0000 \
	"$(basename "$T")" notes.txt link_to; do
	for f in enc.unzip-l enc.7z-l enc.strings; do
		if grep -qiF -- "$word" "$T/$f"; then
			fail "'$word' readable without the password ($f): $(grep -iF -- "$word" "$T/$f" | head -3)"
		fi
	done
done
python3 - "$T/enc.zip" <<'PY' || fail "the encrypted zip is not one AES-256 member"
import struct, sys, zipfile
z = zipfile.ZipFile(sys.argv[1])
zi = z.infolist()
assert [i.filename for i in zi] == ["medvault-export.tar"], [i.filename for i in zi]
i = zi[0]
assert i.compress_type == 99 and i.flag_bits & 1, (i.compress_type, i.flag_bits)
e, k = i.extra, 0
while k + 4 <= len(e):
    hid, size = struct.unpack("<HH", e[k:k + 4])
    if hid == 0x9901:
        assert e[k + 8] == 3, "not AES-256"
        break
    k += 4 + size
else:
    raise SystemExit("no AES extra field")
PY
LC_ALL=C.UTF-8 7z x -y -p"$ZPW" -o"$T/z7" "$T/enc.zip" >"$T/7z.log" 2>&1 ||
	{ cat "$T/7z.log"; fail "7z cannot open the encrypted zip with its password"; }
[ "$(ls "$T/z7")" = "medvault-export.tar" ] || fail "7z extracted: $(ls "$T/z7")"
# as the help says: Info-ZIP's unzip cannot decrypt WinZip AES
if unzip -tq -P "$ZPW" "$T/enc.zip" >/dev/null 2>&1; then
	fail "unzip opened the AES zip: the help's advice (use 7-Zip) is out of date"
fi
mkdir "$T/z7t"
tar -xpf "$T/z7/medvault-export.tar" -C "$T/z7t" || fail "tar cannot extract the inner tar"
compare_trees "$T/src/patients" "$T/z7t$T/src/patients" || fail "encrypted dump differs from the source"
cmp -s "$T/src/patients/DUPONT_Jean_19580312/CT_thorax.dcm" \
	"$T/z7t$T/src/patients/DUPONT_Jean_19580312/CT_thorax.dcm" || fail "CT_thorax.dcm differs"
if LC_ALL=C.UTF-8 7z x -y -p'Wrong-Password-123456' -o"$T/zbad" "$T/enc.zip" >/dev/null 2>&1; then
	fail "7z opened the encrypted zip with a wrong password"
fi
# the password from the environment; a readable password file is refused;
# a weak password is refused unless forced
export MEDVAULT_ARCHIVE_PASSWORD="$ZPW"
expect_exit 0 mv dump -r "$R" latest "$T/src/notes.txt" --encrypt
unset MEDVAULT_ARCHIVE_PASSWORD
cp "$T/out" "$T/env.zip"
LC_ALL=C.UTF-8 7z x -y -p"$ZPW" -so "$T/env.zip" 2>/dev/null | tar -xf - -C "$T" --one-top-level=z8 ||
	fail "7z cannot open the zip made with MEDVAULT_ARCHIVE_PASSWORD"
cmp -s "$T/src/notes.txt" "$T/z8$T/src/notes.txt" || fail "env-password zip content differs"
chmod 644 "$T/zpw"
expect_exit 1 mv dump -r "$R" latest --encrypt --archive-password-file "$T/zpw"
grep -q "readable by other users" "$T/err" || fail "readable password file not refused"
[ ! -s "$T/out" ] || fail "an archive was written with a refused password"
printf 'short\n' >"$T/weak" && chmod 600 "$T/weak"
expect_exit 1 mv dump -r "$R" latest --encrypt --archive-password-file "$T/weak"
grep -q "too weak" "$T/err" || fail "weak archive password not refused"
expect_exit 0 mv dump -r "$R" latest "$T/src/notes.txt" --encrypt --archive-password-file "$T/weak" \
	--insecure-password

# ---- usage errors ---------------------------------------------------------
expect_exit 2 mv dump -r "$R" latest --format tar --encrypt
expect_exit 2 mv dump -r "$R" latest --format rar
expect_exit 2 mv dump -r "$R"
expect_exit 2 mv dump -r "$R" latest --archive-password-file "$T/zpw"
expect_exit 1 mv dump -r "$R" latest "$T/src/no-such-file"
grep -q "not in the snapshot" "$T/err" || fail "missing path not reported"
expect_exit 0 mv dump --help
grep -q "encrypt" "$T/out" || fail "dump --help lacks --encrypt"

# ---- a terminal: no binary on it; a warning on stderr for plain archives ---
if script -qec true /dev/null >/dev/null 2>&1; then
	set +e
	script -qec "'$MV_BIN' dump -r '$R' latest" /dev/null >"$T/tty.out" 2>&1
	got=$?
	set -e
	[ "$got" = 2 ] || fail "dump to a terminal exited $got, expected 2"
	grep -q "redirect it to a file" "$T/tty.out" || fail "no advice when refusing the terminal"
	script -qec "'$MV_BIN' dump -r '$R' latest '$T/src/notes.txt' >'$T/w.tar'" /dev/null \
		>"$T/tty.out" 2>&1 || fail "dump with stderr on a terminal failed"
	grep -q "NOT encrypted" "$T/tty.out" || fail "no warning about an unencrypted archive"
	tar -tf "$T/w.tar" >/dev/null || fail "archive written with stderr on a terminal is bad"
else
	echo "note: script(1) cannot make a terminal here; terminal checks skipped"
fi

# ---- selection through the DICOM catalog ---------------------------------
mkdir -p "$T/dcm"
python3 - "$T/dcm" <<'PY'
import os, struct, sys
root = sys.argv[1]
def el(g, e, vr, v):
    if len(v) % 2:
        v += b"\0" if vr in ("UI", "OB", "OW") else b" "
    if vr in ("OB", "OW"):
        return struct.pack("<HH2sHI", g, e, vr.encode(), 0, len(v)) + v
    return struct.pack("<HH2sH", g, e, vr.encode(), len(v)) + v
def dcm(rel, patient, pid, study, series, sop):
    cls = b"1.2.840.10008.5.1.4.1.1.7"
    meta = (el(2, 1, "OB", b"\0\1") + el(2, 2, "UI", cls) + el(2, 3, "UI", sop) +
            el(2, 0x10, "UI", b"1.2.840.10008.1.2.1"))
    meta = el(2, 0, "UL", struct.pack("<I", len(meta))) + meta
    ds = (el(8, 0x16, "UI", cls) + el(8, 0x18, "UI", sop) + el(8, 0x60, "CS", b"OT") +
          el(0x10, 0x10, "PN", patient) + el(0x10, 0x20, "LO", pid) +
          el(0x20, 0x0d, "UI", study) + el(0x20, 0x0e, "UI", series) +
          el(0x7fe0, 0x10, "OW", os.urandom(2048)))
    p = os.path.join(root, rel)
    os.makedirs(os.path.dirname(p), exist_ok=True)
    open(p, "wb").write(b"\0" * 128 + b"DICM" + meta + ds)
dcm("a/IM1.dcm", b"DUPONT^MARIE", b"P1", b"1.2.3.1", b"1.2.3.1.1", b"1.2.3.1.1.1")
dcm("a/IM2.dcm", b"DUPONT^MARIE", b"P1", b"1.2.3.1", b"1.2.3.1.2", b"1.2.3.1.2.1")
dcm("b/IM1.dcm", b"MARTIN^JEAN", b"P2", b"1.2.3.2", b"1.2.3.2.1", b"1.2.3.2.1.1")
open(os.path.join(root, "readme.txt"), "w").write("not dicom\n")
PY
expect_exit 0 mv backup -r "$R" "$T/dcm"
expect_exit 0 mv dump -r "$R" latest --patient "dupont" --format tar
tar -tf "$T/out" | grep -v '/$' >"$T/list"
printf '%s\n' "${T#/}/dcm/a/IM1.dcm" "${T#/}/dcm/a/IM2.dcm" | cmp -s - "$T/list" ||
	fail "--patient selected: $(cat "$T/list")"
mkdir "$T/xp" && tar -xpf "$T/out" -C "$T/xp"
cmp -s "$T/dcm/a/IM2.dcm" "$T/xp$T/dcm/a/IM2.dcm" || fail "--patient file differs"
expect_exit 0 mv dump -r "$R" latest --study 1.2.3.2 --format tar
tar -tf "$T/out" | grep -v '/$' >"$T/list"
[ "$(cat "$T/list")" = "${T#/}/dcm/b/IM1.dcm" ] || fail "--study selected: $(cat "$T/list")"
expect_exit 0 mv dump -r "$R" latest "$T/dcm/b" --patient-id P1 --format tar
[ -z "$(tar -tf "$T/out")" ] || fail "selection outside PATH was dumped"
expect_exit 1 mv dump -r "$R" latest --patient "nobody" --format tar

# ---- damage: one flipped byte in a pack -------------------------------------
R2="$T/repo2"
two_files_src "$T/s2" 3000000 victim.bin intact.bin small.txt
init_backup "$R2" "$T/s2"
pack=$(find "$R2/data" -type f | head -1)
python3 -c '
import sys
p, off = sys.argv[1], int(sys.argv[2])
b = bytearray(open(p, "rb").read()); b[off] ^= 0x40; open(p, "wb").write(b)' "$pack" 1000
expect_exit 4 mv dump -r "$R2" latest --format tar
damaged=$(grep -o "damaged: '[^']*'" "$T/err" | grep -o "[ab]/[a-z]*\.bin" | head -1)
[ -n "$damaged" ] || fail "dump did not name the damaged file: $(cat "$T/err")"
tar -tf "$T/out" >"$T/list" || fail "the archive with a damaged file is unreadable"
if grep -q "$damaged" "$T/list"; then fail "the damaged file is in the archive"; fi
mkdir "$T/xd" && tar -xpf "$T/out" -C "$T/xd"
cmp -s "$T/s2/b/small.txt" "$T/xd$T/s2/b/small.txt" || fail "intact small file differs"
for f in a/victim.bin b/intact.bin; do
	[ "$f" = "$damaged" ] && continue
	cmp -s "$T/s2/$f" "$T/xd$T/s2/$f" || fail "undamaged $f differs"
done
expect_exit 4 mv dump -r "$R2" latest --format zip
unzip -tq "$T/out" >/dev/null || fail "the zip with a damaged file left out is invalid"
pass
