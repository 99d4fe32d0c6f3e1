#!/usr/bin/env bash
# audit: a DICOM listener on 0.0.0.0:11112 (and [::]:11112) fails, on
# 127.0.0.1 passes; --scan counts generated DICOM files; an Orthanc
# configuration with remote access and no authentication fails; a
# repository chmod'ed 755 or a readable password file fails; a clean check
# is recorded and then seen. The test must not depend on what else listens
# on the machine: it looks at its own findings in the JSON.
. "$(dirname "$0")/lib.sh"

PORT=11112
LPID=
stop_listener() {
	if [ -n "$LPID" ]; then
		kill "$LPID" 2>/dev/null || true
		wait "$LPID" 2>/dev/null || true
		LPID=
	fi
}
trap 'rc=$?; stop_listener; (exit $rc); cleanup' EXIT

# listen ADDR: a TCP listener on ADDR:$PORT in the background; returns 1
# when it cannot bind (port taken, no IPv6).
listen() {
	rm -f "$T/ready"
	python3 - "$1" "$PORT" "$T/ready" <<'EOF' 2>"$T/listen.err" &
import socket, sys, time
addr, port, ready = sys.argv[1], int(sys.argv[2]), sys.argv[3]
fam = socket.AF_INET6 if ":" in addr else socket.AF_INET
s = socket.socket(fam, socket.SOCK_STREAM)
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
if fam == socket.AF_INET6:
    s.setsockopt(socket.IPPROTO_IPV6, socket.IPV6_V6ONLY, 1)
s.bind((addr, port))
s.listen(1)
open(ready, "w").close()
time.sleep(600)
EOF
	LPID=$!
	for _ in $(seq 1 100); do
		[ -e "$T/ready" ] && return 0
		kill -0 "$LPID" 2>/dev/null || break
		sleep 0.05
	done
	stop_listener
	return 1
}

# status FILE CHECK SUBJECT: the status of the one finding of CHECK about
# SUBJECT in the JSON array in FILE ("none" or "many" otherwise).
status() {
	python3 - "$@" <<'EOF'
import json, sys
findings = json.load(open(sys.argv[1]))
m = [f for f in findings if f["check"] == sys.argv[2] and f["subject"] == sys.argv[3]]
print(m[0]["status"] if len(m) == 1 else ("none" if not m else "many"))
EOF
}

# message FILE CHECK SUBJECT
message() {
	python3 - "$@" <<'EOF'
import json, sys
for f in json.load(open(sys.argv[1])):
    if f["check"] == sys.argv[2] and f["subject"] == sys.argv[3]:
        print(f["message"])
EOF
}

# the exit code audit must give for the findings in FILE: 0 when all ok
expected_rc() {
	python3 -c 'import json,sys; print(0 if all(f["status"] == "ok" for f in json.load(open(sys.argv[1]))) else 1)' "$1"
}

# JSON findings all have the five string fields
check_shape() {
	python3 - "$1" <<'EOF'
import json, sys
for f in json.load(open(sys.argv[1])):
    assert set(f) == {"check", "status", "subject", "message", "remedy"}, f
    assert f["status"] in ("ok", "warn", "fail"), f
    assert all(isinstance(v, str) for v in f.values()), f
    assert f["status"] == "ok" or f["remedy"], f
EOF
}

# ---- help and usage
expect_exit 0 mv audit --help
grep -q "medvault audit --scan" "$T/out" || fail "no example in audit --help"
expect_exit 2 mv audit --only bogus
expect_exit 2 mv audit --only repository
expect_exit 2 mv audit /some/path
expect_exit 2 mv audit --max-backup-age 0

# ---- network: 0.0.0.0 fails
if ! listen 0.0.0.0; then
	echo "SKIP: cannot listen on 0.0.0.0:$PORT ($(tail -1 "$T/listen.err"))"
	exit 77
fi
expect_exit 1 mv audit --only network --json
check_shape "$T/out"
[ "$(status "$T/out" network "0.0.0.0:$PORT")" = fail ] || {
	cat "$T/out"
	fail "listener on 0.0.0.0:$PORT not reported as fail"
}
message "$T/out" network "0.0.0.0:$PORT" | grep -q "port $PORT" || fail "message without the port"
expect_exit 1 mv audit --only network
grep -q "^FAIL  network: 0.0.0.0:$PORT: " "$T/out" || fail "human report without the finding"
grep -q "^      remedy: .*127.0.0.1" "$T/out" || fail "human report without the remedy"
stop_listener

# ---- network: 127.0.0.1 passes
listen 127.0.0.1 || fail "cannot listen on 127.0.0.1:$PORT"
set +e
mv audit --only network --json >"$T/out" 2>"$T/err"
rc=$?
set -e
check_shape "$T/out"
[ "$(status "$T/out" network "127.0.0.1:$PORT")" = ok ] || {
	cat "$T/out"
	fail "listener on 127.0.0.1:$PORT not ok"
}
python3 - "$T/out" "$PORT" <<'EOF' || fail "a non-ok finding about port $PORT"
import json, sys
bad = [f for f in json.load(open(sys.argv[1]))
       if f["subject"].endswith(":" + sys.argv[2]) and f["status"] != "ok"]
sys.exit(1 if bad else 0)
EOF
# exit 0 unless something else on this machine is exposed
[ "$rc" = "$(expected_rc "$T/out")" ] || fail "audit exited $rc for these findings"
stop_listener

# ---- network: [::] fails (when the machine has IPv6)
if listen ::; then
	expect_exit 1 mv audit --only network --json
	[ "$(status "$T/out" network "[::]:$PORT")" = fail ] || fail "listener on [::]:$PORT not fail"
	stop_listener
else
	echo "note: no IPv6 listener possible, [::] not tested"
fi

# ---- scan: generated DICOM files are counted
python3 "$SRC/scripts/gen-corpus" --size 1M -q "$T/corpus" 2>"$T/gen"
files=$(sed -n 's/.*generated \([0-9]*\) files.*/\1/p' "$T/gen")
patients=$(sed -n 's/.* \([0-9]*\) patients in .*/\1/p' "$T/gen")
studies=$(sed -n 's/.* \([0-9]*\) studies, .*/\1/p' "$T/gen")
[ -n "$files" ] && [ -n "$patients" ] && [ -n "$studies" ] || fail "cannot read gen-corpus's summary"
echo "not an image" >"$T/corpus/README.txt"
ln -s /etc/passwd "$T/corpus/link"
expect_exit 1 mv audit --only scan --scan "$T/corpus" --json
check_shape "$T/out"
st=$(status "$T/out" scan "$T/corpus")
[ "$st" = fail ] || [ "$st" = warn ] || fail "scan finding is '$st'"
message "$T/out" scan "$T/corpus" | grep -q "^$files DICOM files of $patients patients ($studies studies" || {
	message "$T/out" scan "$T/corpus"
	fail "scan did not count $files files, $patients patients, $studies studies"
}
mkdir "$T/empty"
expect_exit 0 mv audit --only scan --scan "$T/empty" --json
[ "$(status "$T/out" scan "$T/empty")" = ok ] || fail "empty directory not ok"
# two paths, two findings
expect_exit 1 mv audit --only scan --scan "$T/empty" --scan "$T/corpus"
grep -c "^.... *scan: " "$T/out" | grep -qx 2 || fail "not one line per scanned path"

# ---- orthanc: remote access without authentication fails
cat >"$T/orthanc.json" <<'EOF'
/**
 * Orthanc configuration, with comments as Orthanc allows
 **/
{
  "Name" : "Cabinet",   // the surgeon's server
  /* "RemoteAccessAllowed" : false, */
  "RemoteAccessAllowed" : true,
  "AuthenticationEnabled" : false,
  "HttpPort" : 8042
}
EOF
expect_exit 1 mv audit --only orthanc --orthanc-config "$T/orthanc.json" --json
check_shape "$T/out"
[ "$(status "$T/out" orthanc "$T/orthanc.json")" = fail ] || {
	cat "$T/out"
	fail "open Orthanc not reported as fail"
}
cat >"$T/orthanc-local.json" <<'EOF'
{ "RemoteAccessAllowed" : false }
EOF
set +e
mv audit --only orthanc --orthanc-config "$T/orthanc-local.json" --json >"$T/out" 2>"$T/err"
set -e
[ "$(status "$T/out" orthanc "$T/orthanc-local.json")" = ok ] || fail "local-only Orthanc not ok"
expect_exit 1 mv audit --only orthanc --orthanc-config "$T/missing.json" --json
[ "$(status "$T/out" orthanc "$T/missing.json")" = warn ] || fail "missing configuration not warn"

# ---- repository: permissions, password file, last backup, last check
export XDG_STATE_HOME="$T/state"
R="$T/repo"
mkdir -p "$T/src"
echo data >"$T/src/a"
expect_exit 0 mv init -r "$R" --recovery-key-file "$(keyfile)"
expect_exit 0 mv backup -r "$R" "$T/src"
# no check recorded yet: a warning
expect_exit 1 mv audit -r "$R" --only repository --json
check_shape "$T/out"
[ "$(status "$T/out" repository-permissions "$R")" = ok ] || fail "fresh repository not ok"
[ "$(status "$T/out" password-file "$T/pw")" = ok ] || fail "0600 password file not ok"
[ "$(status "$T/out" last-backup "$R")" = ok ] || fail "fresh backup not ok"
[ "$(status "$T/out" last-check "$R")" = warn ] || fail "missing check not warn"
# a clean check is recorded and then seen
expect_exit 0 mv check -r "$R"
[ -f "$T/state/medvault/checks" ] || fail "check did not write the state file"
grep -Eq '^[0-9a-f]{64} [0-9]+ 0$' "$T/state/medvault/checks" || fail "bad state line"
expect_exit 0 mv audit -r "$R" --only repository --json
[ "$(status "$T/out" last-check "$R")" = ok ] || fail "recorded check not found"
message "$T/out" last-check "$R" | grep -q "never read back" || fail "read-data not reported"
expect_exit 0 mv check -r "$R" --read-data
expect_exit 0 mv audit -r "$R" --only repository
grep -q "^ok    last-check: .*read back 0 minutes ago" "$T/out" || fail "read-data check not seen"
grep -q "no problem found" "$T/out" || fail "no clean summary"
# a repository chmod'ed 755
chmod 755 "$R"
expect_exit 1 mv audit -r "$R" --only repository --json
[ "$(status "$T/out" repository-permissions "$R")" = fail ] || fail "755 repository not fail"
chmod 700 "$R"
chmod 644 "$R"/config
expect_exit 1 mv audit -r "$R" --only repository --json
[ "$(status "$T/out" repository-permissions "$R")" = fail ] || fail "644 config not fail"
chmod 600 "$R"/config
# a password file readable by others: fail, and the backup's age is unknown
chmod 644 "$T/pw"
expect_exit 1 mv audit -r "$R" --only repository --json
[ "$(status "$T/out" password-file "$T/pw")" = fail ] || fail "644 password file not fail"
[ "$(status "$T/out" last-backup "$R")" = warn ] || fail "unknown backup age not warn"
chmod 600 "$T/pw"
# a wrong location
expect_exit 1 mv audit -r "$T/nothing" --only repository --json
[ "$(status "$T/out" last-backup "$T/nothing")" = fail ] || fail "missing repository not fail"
pass
