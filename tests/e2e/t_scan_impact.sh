#!/usr/bin/env bash
# scan and impact on a generated corpus: the counts equal those computed
# with dcmtk's dcmdump over the same files; after a backup, scan -r finds
# every file in the snapshot, and a new file is the one "not backed up";
# impact of the snapshot (from its catalog) equals impact of the path;
# patient names appear only with --list-patients; DICOM inside a ZIP is
# counted, a corrupt ZIP is reported as unreadable.
. "$(dirname "$0")/lib.sh"

command -v dcmdump >/dev/null || { echo "SKIP: dcmdump (dcmtk) is not installed"; exit 77; }

C="$T/corpus"
R="$T/repo"
python3 "$SRC/scripts/gen-corpus" --size 20M --seed 3 -q "$C" 2>"$T/gen.log"
cat "$T/gen.log"

# The truth, from dcmdump: top-level tags only (nested ones are indented).
find "$C" -type f | sort >"$T/files"
xargs -d '\n' dcmdump -q -M +F <"$T/files" >"$T/dump"
python3 - "$T/dump" "$T/expected.json" <<'PY'
import json, re, sys
files, cur = [], None
for line in open(sys.argv[1], encoding="utf-8", errors="replace"):
    if line.startswith("# dcmdump"):
        cur = {}
        files.append(cur)
        continue
    m = re.match(r"\(([0-9a-f]{4},[0-9a-f]{4})\) \w\w (?:\[(.*?)\]|\(no value available\))", line)
    if m and cur is not None and m.group(1) not in cur:
        cur[m.group(1)] = (m.group(2) or "").strip()
def key(f):
    if f.get("0010,0020"):
        return "id:" + f["0010,0020"]
    return "nb:" + f.get("0010,0010", "") + "\0" + f.get("0010,0030", "")
dates = sorted(f["0008,0020"] for f in files if re.fullmatch(r"\d{8}", f.get("0008,0020", "")))
exp = {
    "files": len(files),
    "patients": len(set(key(f) for f in files)),
    "studies": len(set(f["0020,000d"] for f in files)),
    "series": len(set(f["0020,000e"] for f in files)),
    "instances": len(set(f["0008,0018"] for f in files)),
    "first": "%s-%s-%s" % (dates[0][:4], dates[0][4:6], dates[0][6:]),
    "last": "%s-%s-%s" % (dates[-1][:4], dates[-1][4:6], dates[-1][6:]),
    "modalities": sorted(set(f["0008,0060"] for f in files)),
    "names": sorted(set(f["0010,0010"].split("^")[0] for f in files if f.get("0010,0010"))),
    "ids": {},
}
for f in files:
    exp["ids"].setdefault(f.get("0010,0020", ""), []).append(f.get("0010,0010", "").split("^")[0])
json.dump(exp, open(sys.argv[2], "w"))
print("expected:", {k: v for k, v in exp.items() if k not in ("names", "ids")})
PY
# the generator's own summary agrees on files, studies and patients
python3 - "$T/gen.log" "$T/expected.json" <<'PY'
import json, re, sys
log = open(sys.argv[1]).read()
exp = json.load(open(sys.argv[2]))
m = re.search(r"generated (\d+) files, \d+ bytes, (\d+) studies, (\d+) patients", log)
assert m, log
assert int(m.group(1)) == exp["files"], (m.group(1), exp)
assert int(m.group(2)) == exp["studies"], (m.group(2), exp)
assert int(m.group(3)) == exp["patients"], (m.group(3), exp)
PY

# check_counts FILE: the last JSON line of FILE holds exactly the expected counts
check_counts() {
	python3 - "$1" "$T/expected.json" "${2:-}" <<'PY'
import json, sys
lines = [l for l in open(sys.argv[1]) if l.strip()]
s = json.loads(lines[-1])
exp = json.load(open(sys.argv[2]))
for k in ("patients", "studies", "series", "instances", "files"):
    assert s[k] == exp[k], (k, s[k], exp[k])
    assert isinstance(s[k], int)
assert s["date_range"] == {"first": exp["first"], "last": exp["last"]}, s["date_range"]
assert s["modalities"] == exp["modalities"], s["modalities"]
assert s["bytes"] > 0 and isinstance(s["bytes"], int)
if sys.argv[3]:
    assert s["encrypted"] == (sys.argv[3] == "encrypted"), s["encrypted"]
PY
}

# ---- scan and impact of the path, without a repository
expect_exit 0 mv scan --json "$C"
check_counts "$T/out" || fail "scan counts differ from dcmdump's"
python3 - "$T/out" "$T/expected.json" <<'PY'
import json, sys
s = json.loads([l for l in open(sys.argv[1]) if l.strip()][-1])
exp = json.load(open(sys.argv[2]))
assert s["message_type"] == "summary"
assert s["scanned"]["files"] == exp["files"] and s["scanned"]["dicom_files"] == exp["files"], s
assert s["scanned"]["unreadable"] == 0 and s["archives_with_dicom"] == 0, s
assert "backed_up" not in s
assert sum(m["files"] for m in s["by_modality"]) == exp["files"]
assert sum(y["instances"] for y in s["by_year"]) == exp["instances"]
PY
expect_exit 0 mv scan "$C"
grep -Eq "^  patients +[0-9]+" "$T/out" || fail "scan prints no patient count"
expect_exit 0 mv impact --json "$C"
check_counts "$T/out" plain || fail "impact PATH counts differ from dcmdump's"
cp "$T/out" "$T/impact-path.json"
expect_exit 0 mv impact "$C"
grep -q "Persons concerned" "$T/out" || fail "impact prints no number of persons"
grep -q "not encrypted by medvault" "$T/out" || fail "impact does not say the path is not encrypted"
# no patient name without --list-patients; all of them with it
python3 - "$T/out" "$T/expected.json" <<'PY'
import json, sys
out = open(sys.argv[1], encoding="utf-8", errors="replace").read()
for n in json.load(open(sys.argv[2]))["names"]:
    assert n not in out, "patient name %r printed" % n
PY
expect_exit 0 mv impact --list-patients "$C"
python3 - "$T/out" "$T/expected.json" <<'PY'
import json, sys
out = open(sys.argv[1], encoding="utf-8", errors="replace").read()
exp = json.load(open(sys.argv[2]))
# each patient once, under one of the names its files carry (a corrected
# name is the same patient)
for pid, names in exp["ids"].items():
    assert pid in out, pid
    if len(set(names)) == 1 and names[0].isascii():
        assert names[0] in out, names[0]
PY

# ---- back up, then scan against the repository
expect_exit 0 mv init -r "$R" --recovery-key-file "$(keyfile)"
expect_exit 0 mv backup -r "$R" "$C"
expect_exit 0 mv scan -r "$R" --json "$C"
python3 - "$T/out" "$T/expected.json" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if l.strip()]
files = [l for l in lines if l["message_type"] == "file"]
s = lines[-1]
exp = json.load(open(sys.argv[2]))
assert len(files) == exp["files"], len(files)
bad = [f["path"] for f in files if f["status"] != "backed_up"]
assert not bad, bad[:5]
assert s["backed_up"]["files"] == exp["files"], s["backed_up"]
assert s["not_backed_up"] == {"files": 0, "bytes": 0}, s["not_backed_up"]
assert len(s["backed_up"]["snapshots"]) == 1
assert s["backed_up"]["snapshots"][0]["files"] == exp["files"]
PY

# ---- impact of the snapshot, from its catalog, equals impact of the path
expect_exit 0 mv impact -r "$R" --json latest
check_counts "$T/out" encrypted || fail "impact of the snapshot differs from dcmdump's counts"
python3 - "$T/out" "$T/impact-path.json" <<'PY'
import json, sys
a = json.loads([l for l in open(sys.argv[1]) if l.strip()][-1])
b = json.loads([l for l in open(sys.argv[2]) if l.strip()][-1])
for k in ("patients", "studies", "series", "instances", "files", "bytes", "date_range",
          "modalities", "institutions", "categories", "by_modality", "by_year"):
    assert a[k] == b[k], (k, a[k], b[k])
assert a["encrypted"] is True and a["encryption"] == "repository"
PY
expect_exit 0 mv impact -r "$R" latest
grep -q "Encrypted: *yes" "$T/out" || fail "impact of a snapshot does not say it is encrypted"
# --path: one patient's directory holds one patient
pdir=$(cd "$C" && ls | grep -v EXPORT | head -1)
expect_exit 0 mv impact -r "$R" --json latest --path "$C/$pdir"
python3 - "$T/out" <<'PY'
import json, sys
s = json.loads([l for l in open(sys.argv[1]) if l.strip()][-1])
assert s["patients"] == 1, s["patients"]
assert s["studies"] >= 1 and s["instances"] >= 1
assert s["source"]["path"], s["source"]
PY

# ---- a new file is the one not backed up
cp "$(find "$C/$pdir" -type f -name '*.dcm' | sort | head -1)" "$T/one.dcm"
printf 'x' >>"$T/one.dcm"
cp "$T/one.dcm" "$C/$pdir/new-export.dcm"
expect_exit 0 mv scan -r "$R" -v "$C"
[ "$(grep -c '^not backed up' "$T/out")" = 1 ] || fail "expected exactly one file not backed up"
grep '^not backed up' "$T/out" | grep -q "new-export.dcm" || fail "the wrong file is not backed up"
[ "$(grep -c '^in snapshot ' "$T/out")" = "$(wc -l <"$T/files")" ] || fail "backed-up count wrong"
rm "$C/$pdir/new-export.dcm"

# ---- DICOM inside a ZIP is counted; a corrupt ZIP is unreadable
mkdir "$T/cd"
(cd "$C/$pdir" && python3 -c '
import os, sys, zipfile
with zipfile.ZipFile(sys.argv[1], "w") as z:
    for d, _, fs in os.walk("."):
        for f in sorted(fs):
            z.write(os.path.join(d, f))
' "$T/cd/patient.zip")
printf 'PK\003\004garbage, not a zip' >"$T/cd/broken.zip"
expect_exit 0 mv scan --json "$T/cd" "$C/$pdir"
python3 - "$T/out" <<'PY'
import json, sys
s = json.loads([l for l in open(sys.argv[1]) if l.strip()][-1])
assert s["archives_with_dicom"] == 1 and s["archives_unreadable"] == 1, s
# the members are the same instances as the directory's files
assert s["members"] * 2 == s["files"], (s["members"], s["files"])
assert s["patients"] == 1
PY

# ---- usage errors
expect_exit 2 mv scan
expect_exit 2 mv scan "$T/does-not-exist"
expect_exit 2 mv impact
pass
