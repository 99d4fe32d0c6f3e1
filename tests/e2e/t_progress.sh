#!/usr/bin/env bash
# backup's progress line on a terminal (a pseudo-terminal made by script(1))
# shows the total of files and bytes, counted by a walk made alongside, and
# a percentage and a time left; -q, --json and a run whose stderr is not a
# terminal print no progress at all.
. "$(dirname "$0")/lib.sh"

command -v script >/dev/null || { echo "SKIP: script (bsdutils) missing"; exit 77; }
R="$T/repo"
S="$T/src"
# 3,000 files of 40 KiB of random bytes (incompressible, no duplicates):
# a backup long enough for a few progress lines
python3 - "$S" <<'PY'
import os, sys
for d in range(30):
    os.makedirs(os.path.join(sys.argv[1], "d%02d" % d))
    for f in range(100):
        with open(os.path.join(sys.argv[1], "d%02d" % d, "f%03d.dcm" % f), "wb") as fh:
            fh.write(os.urandom(40960))
PY
expect_exit 0 mv init -r "$R" --recovery-key-file "$(keyfile)"

# on_tty OUT CMD...: runs CMD on a pseudo-terminal 200 columns wide; its
# stdout and stderr, as the terminal showed them, go to OUT
on_tty() {
	local out=$1
	shift
	local cmd="stty cols 200 rows 50;"
	for a in "$@"; do cmd+=" $(printf '%q' "$a")"; done
	script -qec "$cmd" /dev/null </dev/null >"$out"
}

start=$(date +%s.%N)
# (one worker thread: long enough for several lines on a fast machine too)
on_tty "$T/tty" "$MV_BIN" backup --threads 1 -r "$R" "$S" || fail "backup on a terminal failed: $(cat "$T/tty")"
secs=$(python3 -c "import sys; print(float(sys.argv[2]) - float(sys.argv[1]))" "$start" "$(date +%s.%N)")
tr '\r' '\n' <"$T/tty" >"$T/lines"
grep -q "snapshot [0-9a-f]\{8\} saved" "$T/lines" || fail "no summary: $(cat "$T/lines")"
grep -Eq '^\[[0-9:]+\] [0-9]+ files' "$T/lines" || fail "no progress line at all: $(cat "$T/lines")"
# the total (3,000 files, 117.188 MiB) and a percentage
grep -Eq '^\[[0-9:]+\] [0-9]+\.[0-9]{2}%  [0-9]+ / 3000 files  [0-9.]+ [KM]iB / 117\.188 MiB' "$T/lines" ||
	fail "no total nor percentage in $secs s: $(cat "$T/lines")"
# and, from half a second on, the time left
if python3 -c "import sys; sys.exit(0 if float(sys.argv[1]) > 1.5 else 1)" "$secs"; then
	grep -Eq '/ 117\.188 MiB  ETA [0-9]+:[0-9]{2}  ' "$T/lines" || fail "no time left in $secs s: $(cat "$T/lines")"
fi

# a second run on a terminal, which reuses the unchanged files
touch "$S/d00/f000.dcm"
on_tty "$T/tty" "$MV_BIN" backup -r "$R" "$S" || fail "second backup failed"
tr '\r' '\n' <"$T/tty" | grep -q "1 changed, 2999 unmodified" || fail "second backup: $(cat "$T/tty")"

# -q: nothing at all on the terminal
echo x >>"$S/d01/f001.dcm"
on_tty "$T/tty" "$MV_BIN" backup -q -r "$R" "$S" || fail "backup -q failed"
[ ! -s "$T/tty" ] || fail "-q printed on the terminal: $(cat -A "$T/tty" | head -5)"
# --json: the summary object only
echo x >>"$S/d02/f002.dcm"
on_tty "$T/tty" "$MV_BIN" backup --json -r "$R" "$S" || fail "backup --json failed"
python3 -c '
import json, sys
t = open(sys.argv[1]).read()
assert "%" not in t and "ETA" not in t and "\r" not in t.replace("\r\n", "\n"), repr(t[:300])
d = json.loads(t)
assert d["message_type"] == "summary" and d["total_files_processed"] == 3000, d' "$T/tty" ||
	fail "--json on a terminal printed more than its object"
# stderr not a terminal: no progress
echo x >>"$S/d03/f003.dcm"
expect_exit 0 mv backup -r "$R" "$S"
[ ! -s "$T/err" ] || fail "progress on a non-terminal stderr: $(head -c 300 "$T/err")"
grep -q "3000 files" "$T/out" || fail "summary missing"
pass
