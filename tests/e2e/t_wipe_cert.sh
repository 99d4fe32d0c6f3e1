#!/usr/bin/env bash
# The wipe certificate (issue 10): it verifies (exit 0), alone and against
# its repository; any changed or added byte makes verification fail (exit
# 4); a certificate signed by another repository's key verifies alone but
# not with -r of the first repository, nor does a certificate whose
# signature was spliced from another; the PDF beside it names the operator;
# without --certificate one is written to the current folder; `wipe
# --history` lists the wiped paths and the snapshot.
. "$(dirname "$0")/lib.sh"

cd "$T" # a certificate written to the current folder stays in the test's folder
OP="Cabinet IT Dupuis-$(wt marker | cut -c1-8)"

# wiped_set DIR: three files with markers under a patient-named folder
wiped_set() {
	mkdir -p "$1/DURAND^MARIE_1970/IRM_20180305"
	local i
	for i in 1 2 3; do wt mkfile "$1/DURAND^MARIE_1970/IRM_20180305/IM00000$i.dcm" $((i * 40000)) "$(wt marker)"; done
}

A="$T/repoA"
wiped_set "$T/srcA"
init_backup "$A" "$T/srcA"
snapA=$(mv snapshots -r "$A" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)[0]["id"])')
files=$(cd "$T/srcA" && find . -type f | sed "s|^\.|$T/srcA|" | sort)
expect_exit 0 mv wipe -r "$A" --snapshot latest --yes --accept-unreliable-medium \
	--certificate "$T/a.json" --operator "$OP" "$T/srcA"
[ -z "$(find "$T/srcA" -type f 2>/dev/null)" ] || fail "files left after the wipe"
python3 -c '
import json, sys
d = json.load(open(sys.argv[1]))
assert set(d) >= {"certificate", "signature"}, sorted(d)
assert sys.argv[2] in json.dumps(d["certificate"]), "operator missing"' "$T/a.json" "$OP" ||
	fail "certificate shape: $(head -c 400 "$T/a.json")"
for f in $files; do
	[ "$(wt status "$T/a.json" "$f")" = wiped ] || fail "certificate: $f not 'wiped'"
done

# verifies, alone and against its repository
expect_exit 0 mv wipe --verify-certificate "$T/a.json"
expect_exit 0 mv wipe --verify-certificate "$T/a.json" -r "$A"

# the PDF beside it, readable, with the operator's name
pdf="$T/a.pdf"
[ -s "$pdf" ] || pdf="$T/a.json.pdf"
[ -s "$pdf" ] || fail "no PDF beside the certificate: $(ls "$T")"
head -c 5 "$pdf" | grep -q '^%PDF-' || fail "the PDF does not start with %PDF-"
if command -v pdftotext >/dev/null; then
	pdftotext "$pdf" - | tr -s ' \n' '  ' | grep -qF "$OP" || fail "the PDF does not name the operator"
else
	echo "note: no pdftotext, the PDF's text is not checked"
fi

# one changed byte anywhere (start, middle, in the signature, the last
# byte) or one byte added: verification fails with 4
size=$(stat -c %s "$T/a.json")
sigpos=$(grep -bo '"signature"' "$T/a.json" | tail -1 | cut -d: -f1)
valpos=$(grep -bo '"value"' "$T/a.json" | tail -1 | cut -d: -f1)
for off in 0 $((size / 4)) $((size / 2)) $((sigpos - 10)) $((valpos + 12)) $((size - 3)) -1; do
	cp "$T/a.json" "$T/bad.json"
	wt flip "$T/bad.json" "$off"
	cmp -s "$T/a.json" "$T/bad.json" && fail "the flip at $off changed nothing"
	expect_exit 4 mv wipe --verify-certificate "$T/bad.json"
done
expect_exit 4 mv wipe --verify-certificate "$T/bad.json" -r "$A"
cp "$T/a.json" "$T/bad.json"
printf ' ' >>"$T/bad.json"
expect_exit 4 mv wipe --verify-certificate "$T/bad.json"
head -c $((size - 1)) "$T/a.json" >"$T/bad.json"
expect_exit 4 mv wipe --verify-certificate "$T/bad.json"

# another repository's certificate: verifies alone (and with its own
# repository), not as repository A's
B="$T/repoB"
wiped_set "$T/srcB"
init_backup "$B" "$T/srcB"
expect_exit 0 mv wipe -r "$B" --snapshot latest --yes --accept-unreliable-medium \
	--certificate "$T/b.json" --operator "$OP" "$T/srcB"
expect_exit 0 mv wipe --verify-certificate "$T/b.json"
expect_exit 0 mv wipe --verify-certificate "$T/b.json" -r "$B"
expect_exit 4 mv wipe --verify-certificate "$T/b.json" -r "$A"
expect_exit 4 mv wipe --verify-certificate "$T/a.json" -r "$B"

# spliced: A's certificate body with B's signature part
python3 - "$T/a.json" "$T/b.json" "$T/spliced.json" <<'PY'
import sys
a, b = open(sys.argv[1], "rb").read(), open(sys.argv[2], "rb").read()
cut = lambda x: x.rfind(b'"signature"')
open(sys.argv[3], "wb").write(a[:cut(a)] + b[cut(b):])
PY
cmp -s "$T/spliced.json" "$T/a.json" && fail "the splice made no change"
expect_exit 4 mv wipe --verify-certificate "$T/spliced.json"
expect_exit 4 mv wipe --verify-certificate "$T/spliced.json" -r "$A"

# without --certificate: written to the current folder, with a dated name
mkdir "$T/cwd"
wiped_set "$T/srcC"
expect_exit 0 mv backup -r "$A" "$T/srcC"
(cd "$T/cwd" && expect_exit 0 mv wipe -r "$A" --snapshot latest --yes --accept-unreliable-medium --json "$T/srcC")
# one JSON document, or JSON lines (a status stream ending in a summary)
python3 -c '
import json, sys
t = open(sys.argv[1]).read()
try:
    json.loads(t)
except ValueError:
    lines = [l for l in t.splitlines() if l.strip()]
    assert lines, "no output"
    for l in lines:
        json.loads(l)' "$T/out" 2>/dev/null || fail "wipe --json printed no JSON: $(cat "$T/out")"
cert=$(find "$T/cwd" -maxdepth 1 -name '*.json' | head -1)
[ -n "$cert" ] || fail "no certificate in the current folder: $(ls -A "$T/cwd")"
y=$(date -u +%Y)
case "$(basename "$cert")" in *"$y"*) ;; *) fail "certificate name '$(basename "$cert")' has no date" ;; esac
expect_exit 0 mv wipe --verify-certificate "$cert" -r "$A"

# history: the wiped paths and the snapshot that holds them
expect_exit 0 mv wipe --history -r "$A"
for f in $files; do grep -qF "$f" "$T/out" || fail "history does not list $f: $(cat "$T/out")"; done
grep -q "${snapA:0:8}" "$T/out" || fail "history does not name snapshot ${snapA:0:8}"
expect_exit 0 mv wipe --history -r "$A" --json
python3 -c 'import json,sys; json.load(open(sys.argv[1]))' "$T/out" || fail "history --json is not JSON"
for f in $files; do grep -qF "$f" "$T/out" || fail "history --json does not list $f"; done
grep -q "${snapA:0:8}" "$T/out" || fail "history --json does not name the snapshot"
# repository B's history holds B's wipe only
expect_exit 0 mv wipe --history -r "$B"
grep -qF "$T/srcA" "$T/out" && fail "repository B's history lists repository A's wipe"
pass
