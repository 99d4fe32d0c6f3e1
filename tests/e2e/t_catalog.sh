#!/usr/bin/env bash
# The DICOM catalog end to end: DICOM files made with dcmtk's dump2dcm
# (ASCII, Latin-1 and UTF-8 names), some of them inside a ZIP (python3
# zipfile) and an ISO 9660 image (genisoimage or xorriso), backed up; then
# find with and without accents lists exactly the expected files and archive
# members (checked against the tags that were generated, and against
# dcmdump's reading of a Latin-1 file), find --json has every field, and
# restore --patient / --study / --series restore exactly the chosen files,
# byte-identical, and nothing else. Skips (77) without dcmtk or an ISO tool.
. "$(dirname "$0")/lib.sh"

have() { command -v "$1" >/dev/null; }
if ! have dump2dcm || ! have dcmdump || ! { have genisoimage || have xorriso; }; then
	SUDO=""
	[ "$(id -u)" -ne 0 ] && SUDO="sudo -n"
	DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
		dcmtk genisoimage >/dev/null 2>&1 || true
	if ! have dump2dcm || ! have dcmdump || ! { have genisoimage || have xorriso; }; then
		echo "SKIP: dcmtk or genisoimage/xorriso not installed and cannot be installed"
		exit 77
	fi
fi

S="$T/src"
mkdir -p "$S/imaging" "$S/other" "$S/cd" "$T/gen"
UID_ROOT=1.2.826.0.1.3680043.2.1125.77

# mkdcm FILE CHARSET PATIENT PATIENT_ID STUDY SERIES SOP MODALITY DATE DESC
# CHARSET: ascii, latin1 (ISO_IR 100) or utf8 (ISO_IR 192); PATIENT in UTF-8.
mkdcm() {
	local file=$1 cs=$2 name=$3 pid=$4 study=$5 series=$6 sop=$7 mod=$8 date=$9 desc=${10}
	local csline="" mv_dump
	case $cs in
	latin1) csline="(0008,0005) CS [ISO_IR 100]" ;;
	utf8) csline="(0008,0005) CS [ISO_IR 192]" ;;
	esac
	cat >"$T/gen/dump.txt" <<EOF
$csline
(0008,0016) UI =MRImageStorage
(0008,0018) UI [$UID_ROOT.1.$sop]
(0008,0020) DA [$date]
(0008,0030) TM [101530]
(0008,0050) SH [ACC$sop]
(0008,0060) CS [$mod]
(0008,0080) LO [Clinique du Parc]
(0008,1030) LO [$desc]
(0008,103e) LO [Series $series]
(0010,0010) PN [$name]
(0010,0020) LO [$pid]
$(dcm_image_tail "$UID_ROOT.2.$study" "$UID_ROOT.3.$series" "0$sop")
EOF
	if [ "$cs" = latin1 ]; then
		iconv -f UTF-8 -t ISO-8859-1 "$T/gen/dump.txt" >"$T/gen/dump.l1"
		mv_dump="$T/gen/dump.l1"
	else
		mv_dump="$T/gen/dump.txt"
	fi
	mkdir -p "$(dirname "$file")"
	dump2dcm -q +te "$mv_dump" "$file" || fail "dump2dcm $file"
}

# Patient A: DUPONT^MARIE, two studies (MR 2019 with two series, CT 2020).
mkdcm "$S/imaging/A/s1/1.dcm" ascii "DUPONT^MARIE" PAT-A 1 11 101 MR 20190315 "IRM genou droit"
mkdcm "$S/imaging/A/s1/2.dcm" ascii "DUPONT^MARIE" PAT-A 1 11 102 MR 20190315 "IRM genou droit"
mkdcm "$S/imaging/A/s1/3.dcm" ascii "DUPONT^MARIE" PAT-A 1 12 103 MR 20190315 "IRM genou droit"
mkdcm "$S/imaging/A/s2/1.dcm" ascii "DUPONT^MARIE" PAT-A 2 21 104 CT 20200110 "Scanner thorax"
# Patient B: Lefèvre^Inès in Latin-1.
mkdcm "$S/imaging/B/1.dcm" latin1 "Lefèvre^Inès" PAT-B 3 31 105 MR 20190620 "IRM cheville"
mkdcm "$S/imaging/B/2.dcm" latin1 "Lefèvre^Inès" PAT-B 3 31 106 MR 20190620 "IRM cheville"
# Patient C: DUPOND^JEAN (close, but not dupont); D: Dupont-Laval^Zoé in UTF-8.
mkdcm "$S/imaging/C/1.dcm" ascii "DUPOND^JEAN" PAT-C 4 41 107 CR 20181201 "Radio poignet"
mkdcm "$S/imaging/D/1.dcm" utf8 "Dupont-Laval^Zoé" PAT-D 5 51 108 US 20210301 "Echographie"
echo "not DICOM" >"$S/other/readme.txt"
cp "$S/imaging/A/s1/1.dcm" "$S/other/not-a.zip" # DICOM with a misleading name

# A ZIP export: a new instance of A (US 2021) and patient E.
mkdcm "$T/gen/zip/IM0001" ascii "DUPONT^MARIE" PAT-A 6 61 109 US 20210505 "Echographie abdomen"
mkdcm "$T/gen/zip/IM0002" ascii "MARTIN^LUC" PAT-E 8 81 110 CT 20210505 "Scanner"
python3 - "$S/cd/export.zip" "$T/gen/zip" <<'PY'
import sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
    z.writestr("README.TXT", "exported images\n")
    for name in ("IM0001", "IM0002"):
        z.write(sys.argv[2] + "/" + name, "DICOM/" + name)
PY
# A patient CD: B's third study (MR 2019) and a second instance of A's US study.
mkdcm "$T/gen/iso/DICOM/IM1" latin1 "Lefèvre^Inès" PAT-B 7 71 111 MR 20191105 "IRM genou"
mkdcm "$T/gen/iso/DICOM/IM2" ascii "DUPONT^MARIE" PAT-A 6 61 112 US 20210505 "Echographie abdomen"
if have genisoimage; then
	genisoimage -quiet -R -J -V PATIENTCD -o "$S/cd/cd.iso" "$T/gen/iso" || fail "genisoimage"
else
	xorriso -as mkisofs -quiet -R -J -V PATIENTCD -o "$S/cd/cd.iso" "$T/gen/iso" ||
		fail "xorriso"
fi

R="$T/repo"
expect_exit 0 mv init -r "$R" --recovery-key-file "$(keyfile)"
expect_exit 0 mv backup -r "$R" "$S"
expect_exit 0 mv snapshots -r "$R" --json
SNAP=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[0]["id"])' "$T/out")

# find_paths ARGS...: the sorted "path[member]" list of find --json.
find_paths() {
	expect_exit 0 mv find -r "$R" --json "$@"
	python3 - "$T/out" "$S" <<'PY'
import json, sys
src = sys.argv[2]
out = []
for m in json.load(open(sys.argv[1])):
    p = m["path"]
    assert p.startswith(src + "/"), p
    p = p[len(src) + 1:]
    out.append(p + ("[%s]" % m["member"] if m["member"] is not None else ""))
print(" ".join(sorted(out)))
PY
}

# expect_find "EXPECTED" ARGS...
expect_find() {
	local want=$1
	shift
	local got
	got=$(find_paths "$@")
	[ "$got" = "$want" ] || fail "find $*: got '$got', expected '$want'"
}

DUPONT_MARIE="cd/cd.iso[DICOM/IM2] cd/export.zip[DICOM/IM0001] imaging/A/s1/1.dcm imaging/A/s1/2.dcm imaging/A/s1/3.dcm imaging/A/s2/1.dcm other/not-a.zip"
DUPONT="cd/cd.iso[DICOM/IM2] cd/export.zip[DICOM/IM0001] imaging/A/s1/1.dcm imaging/A/s1/2.dcm imaging/A/s1/3.dcm imaging/A/s2/1.dcm imaging/D/1.dcm other/not-a.zip"
LEFEVRE="cd/cd.iso[DICOM/IM1] imaging/B/1.dcm imaging/B/2.dcm"

# with and without accents, any case, PN separators or spaces
expect_find "$DUPONT" --patient dupont
expect_find "$DUPONT" --patient DUPONT
expect_find "$DUPONT" --patient Dupónt
expect_find "$DUPONT_MARIE" --patient "DUPONT^MARIE"
expect_find "$DUPONT_MARIE" --patient "Dupont Marie"
expect_find "$DUPONT_MARIE" --patient "dupónt  MARIÉ"
expect_find "$LEFEVRE" --patient lefevre
expect_find "$LEFEVRE" --patient "LEFÈVRE^INÈS"
expect_find "imaging/D/1.dcm" --patient "zoe"
expect_find "imaging/C/1.dcm" --patient dupond
expect_find "" --patient nobody
# the other criteria
expect_find "$LEFEVRE" --patient-id PAT-B
expect_find "imaging/A/s1/1.dcm imaging/A/s1/2.dcm other/not-a.zip" --series-uid "$UID_ROOT.3.11"
expect_find "cd/cd.iso[DICOM/IM2] cd/export.zip[DICOM/IM0001]" --study-uid "$UID_ROOT.2.6"
expect_find "cd/cd.iso[DICOM/IM1] imaging/A/s1/1.dcm imaging/A/s1/2.dcm imaging/A/s1/3.dcm imaging/B/1.dcm imaging/B/2.dcm other/not-a.zip" \
	--modality mr
expect_find "cd/cd.iso[DICOM/IM1] imaging/A/s1/1.dcm imaging/A/s1/2.dcm imaging/A/s1/3.dcm imaging/B/1.dcm imaging/B/2.dcm other/not-a.zip" \
	--date 2019-01-01..2019-12-31
expect_find "imaging/B/1.dcm imaging/B/2.dcm" --date 2019-06-01..2019-06-30
expect_find "cd/cd.iso[DICOM/IM2] cd/export.zip[DICOM/IM0001] cd/export.zip[DICOM/IM0002] imaging/D/1.dcm" \
	--date 2021-01-01..
expect_find "imaging/A/s2/1.dcm" --patient dupont --modality ct --date 2020
expect_exit 2 mv find -r "$R"                       # no criterion
expect_exit 2 mv find -r "$R" --date 2019-13-01..    # bad date
expect_exit 2 mv find -r "$R" --patient "^^"         # nothing to search

# --json fields, and the Latin-1 name as dcmdump reads it
dcmdump +U8 "$S/imaging/B/1.dcm" 2>/dev/null | sed -n 's/^(0010,0010) PN \[\(.*\)\].*/\1/p' \
	>"$T/dcmdump_name"
expect_exit 0 mv find -r "$R" --json --patient lefevre
python3 - "$T/out" "$SNAP" "$S" "$UID_ROOT" "$T/dcmdump_name" <<'PY'
import json, sys
res, snap, src, root, dname = sys.argv[1:6]
want_name = open(dname, encoding="utf-8").read().strip()
assert want_name == "Lefèvre^Inès", want_name
ms = json.load(open(res))
assert len(ms) == 3, ms
keys = {"snapshot", "snapshot_time", "path", "member", "size", "patient_name", "patient_id",
        "birth_date", "sex", "study_uid", "series_uid", "sop_uid", "study_date", "modality",
        "study_description", "series_description", "accession", "institution", "matched"}
for m in ms:
    assert keys <= set(m), set(m) ^ keys
    assert m["snapshot"] == snap, m
    assert m["matched"] == ["patient"], m
    assert m["patient_name"] == want_name, m
    assert m["patient_id"] == "PAT-B" and m["birth_date"] == "19530412" and m["sex"] == "F", m
    assert m["institution"] == "Clinique du Parc", m
b1 = [m for m in ms if m["path"] == src + "/imaging/B/1.dcm"][0]
assert b1["member"] is None and b1["study_uid"] == root + ".2.3" and b1["series_uid"] == root + ".3.31"
assert b1["sop_uid"] == root + ".1.105" and b1["study_date"] == "20190620" and b1["modality"] == "MR"
assert b1["study_description"] == "IRM cheville" and b1["series_description"] == "Series 31"
assert b1["accession"] == "ACC105" and b1["size"] > 0
iso = [m for m in ms if m["member"] is not None][0]
assert iso["path"] == src + "/cd/cd.iso" and iso["member"] == "DICOM/IM1", iso
assert iso["study_uid"] == root + ".2.7" and iso["study_date"] == "20191105", iso
PY
expect_exit 0 mv find -r "$R" --json --patient dupont --modality us
python3 - "$T/out" <<'PY'
import json, sys
ms = json.load(open(sys.argv[1]))
assert sorted(m["matched"] for m in ms)[0] == ["patient", "modality"], ms
PY

# the human table names the patient and the archive member
expect_exit 0 mv find -r "$R" --patient "lefèvre"
grep -q "Lefèvre^Inès" "$T/out" || fail "table lacks the patient name"
grep -q "cd.iso\[DICOM/IM1\]" "$T/out" || fail "table lacks the archive member"
grep -q "2019-06-20" "$T/out" || fail "table lacks the study date"
grep -q "3 images found" "$T/out" || fail "table lacks the count"

# expect_restored ROOT BASE "FILES": ROOT holds exactly FILES (paths relative
# to BASE in the source), each byte-identical to its source.
expect_restored() {
	local root=$1 base=$2 want=$3 got f
	got=$( (cd "$root" && find . -type f | sed 's|^\./||' | sort | tr '\n' ' ' | sed 's/ $//') || true)
	[ "$got" = "$want" ] || fail "restored '$got', expected '$want'"
	for f in $want; do
		cmp -s "$base/$f" "$root/$f" || fail "$f restored differs"
	done
}

expect_exit 0 mv restore -r "$R" latest --patient "DUPONT^MARIE" --target "$T/r1"
expect_restored "$T/r1$S" "$S" "cd/cd.iso cd/export.zip imaging/A/s1/1.dcm imaging/A/s1/2.dcm imaging/A/s1/3.dcm imaging/A/s2/1.dcm other/not-a.zip"
expect_exit 0 mv restore -r "$R" latest --patient "lefevre" --target "$T/r2"
expect_restored "$T/r2$S" "$S" "cd/cd.iso imaging/B/1.dcm imaging/B/2.dcm"
expect_exit 0 mv restore -r "$R" latest --study "$UID_ROOT.2.3" --target "$T/r3"
expect_restored "$T/r3$S" "$S" "imaging/B/1.dcm imaging/B/2.dcm"
expect_exit 0 mv restore -r "$R" latest --series "$UID_ROOT.3.12" --target "$T/r4"
expect_restored "$T/r4$S" "$S" "imaging/A/s1/3.dcm"
expect_exit 0 mv restore -r "$R" "$SNAP" --patient-id PAT-E --target "$T/r5"
expect_restored "$T/r5$S" "$S" "cd/export.zip"
for d in r1 r2 r3 r4 r5; do
	[ -z "$(find "$T/$d" -type f | grep -v "^$T/$d$S/")" ] || fail "$d: files outside the source tree"
done
# only the folders that hold restored files are made: other patients' folder
# names (personal data too) are not
for d in r1 r2 r3 r4 r5; do
	[ -z "$(find "$T/$d" -type d -empty)" ] || fail "$d: empty folders made: $(find "$T/$d" -type d -empty)"
done
[ ! -e "$T/r2$S/imaging/A" ] || fail "another patient's folder made by a one-patient restore"
# --target makes its missing parents
expect_exit 0 mv restore -r "$R" latest --study "$UID_ROOT.2.3" --target "$T/deep/er/r9"
expect_restored "$T/deep/er/r9$S" "$S" "imaging/B/1.dcm imaging/B/2.dcm"
# with a subpath, the catalog choice applies inside it
expect_exit 0 mv restore -r "$R" "latest:$S/imaging" --patient dupont --target "$T/r6"
expect_restored "$T/r6" "$S/imaging" "A/s1/1.dcm A/s1/2.dcm A/s1/3.dcm A/s2/1.dcm D/1.dcm"
# nothing matches: a clear message, exit 1, nothing restored
expect_exit 1 mv restore -r "$R" latest --patient nobody --target "$T/r7"
grep -q "nothing restored" "$T/err" || fail "no clear message when nothing matches"
[ ! -e "$T/r7" ] || [ -z "$(find "$T/r7" -type f)" ] || fail "files restored although nothing matched"
expect_exit 2 mv restore -r "$R" latest --patient "^ ^" --target "$T/r8"

# a second backup of the same tree: still found once per image (newest)
expect_exit 0 mv backup -r "$R" "$S"
expect_find "$LEFEVRE" --patient lefevre
expect_exit 0 mv find -r "$R" --json --patient lefevre
python3 - "$T/out" "$SNAP" <<'PY'
import json, sys
ms = json.load(open(sys.argv[1]))
assert all(m["snapshot"] != sys.argv[2] for m in ms), "an older snapshot was reported"
PY

# a snapshot without DICOM has no catalog: restore by patient says so
mkdir -p "$T/plain"
echo "no images here" >"$T/plain/notes.txt"
expect_exit 0 mv backup -r "$R" "$T/plain"
expect_exit 0 mv snapshots -r "$R" --json
PLAIN=$(python3 -c 'import json,sys; print([s["id"] for s in json.load(open(sys.argv[1])) if s["paths"] == [sys.argv[2]]][0])' "$T/out" "$T/plain")
expect_exit 1 mv restore -r "$R" "$PLAIN" --patient dupont --target "$T/r9"
grep -q "no DICOM catalog" "$T/err" || fail "restore does not say the snapshot has no catalog"
[ ! -e "$T/r9" ] || [ -z "$(find "$T/r9" -type f)" ] || fail "files restored from a snapshot without catalog"
expect_find "$LEFEVRE" --patient lefevre
grep -q "1 snapshot has no DICOM catalog" "$T/err" || fail "find does not note the snapshot without catalog"
pass
