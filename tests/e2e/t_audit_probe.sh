#!/usr/bin/env bash
# audit recognises DICOM and PACS services by what they answer, on any port:
# dcmtk's storescp, a small HTTP server answering /system as Orthanc does,
# and a real Orthanc (Debian package orthanc) with a configuration of the
# test's own, all on ports that are not the default ones and on 0.0.0.0:
# each is reported as fail, audit exits 1; an Orthanc that asks for a
# password is a warning. The same services on 127.0.0.1
# only (storescp behind a small inetd-like listener, as `storescp --inetd`
# allows) are recognised and reported ok. The advice of every finding names
# only commands that exist. The test looks only at its own findings: other
# services on the machine may be reported too.
. "$(dirname "$0")/lib.sh"

command -v storescp >/dev/null || fail "storescp not found: scripts/deps installs dcmtk"
ORTHANC=/usr/sbin/Orthanc
[ -x "$ORTHANC" ] || fail "$ORTHANC not found: scripts/deps installs orthanc"

PIDS=()
stop_all() {
	for p in "${PIDS[@]:-}"; do
		[ -n "$p" ] && kill "$p" 2>/dev/null || true
	done
	for p in "${PIDS[@]:-}"; do
		[ -n "$p" ] && wait "$p" 2>/dev/null || true
	done
	PIDS=()
}
# (only in the test's own shell, never in a background child)
trap 'rc=$?; [ "$BASHPID" = "$$" ] || exit $rc; stop_all; (exit $rc); cleanup' EXIT

# free_port: a TCP port nothing listens on (from a range no default uses)
free_port() {
	python3 - <<'EOF'
import random, socket
for _ in range(200):
    p = random.randint(20000, 29999)
    s = socket.socket()
    try:
        s.bind(("0.0.0.0", p))
    except OSError:
        continue
    finally:
        s.close()
    print(p)
    break
EOF
}

# wait_port ADDR PORT: until something accepts connections there
wait_port() {
	for _ in $(seq 1 100); do
		python3 -c 'import socket,sys; socket.create_connection((sys.argv[1], int(sys.argv[2])), 0.2).close()' \
			"$1" "$2" 2>/dev/null && return 0
		sleep 0.1
	done
	fail "nothing listens on $1:$2"
}

# An HTTP server answering GET /system with Orthanc's JSON (as Orthanc 1.10
# does, without authentication), 404 elsewhere.
fake_orthanc() {
	python3 - "$1" "$2" <<'EOF' &
import http.server, json, sys
addr, port = sys.argv[1], int(sys.argv[2])
class H(http.server.BaseHTTPRequestHandler):
    def do_GET(self):
        if self.path != "/system":
            self.send_error(404)
            return
        body = json.dumps({"ApiVersion": 16, "DatabaseVersion": 6, "DicomAet": "CABINET",
                           "DicomPort": 4242, "HttpPort": port, "Name": "Cabinet Dr Martin",
                           "PluginsEnabled": False, "Version": "1.10.1"}, indent=3).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json; charset=utf-8")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)
    def log_message(self, *a):
        pass
http.server.HTTPServer.allow_reuse_address = True
http.server.HTTPServer((addr, port), H).serve_forever()
EOF
	PIDS+=($!)
}

# storescp behind a listener on ADDR:PORT (storescp itself cannot choose
# its address): each connection is handed to `storescp --inetd`.
inetd_storescp() {
	python3 - "$1" "$2" "$T/in" <<'EOF' &
import socket, subprocess, sys
addr, port, out = sys.argv[1], int(sys.argv[2]), sys.argv[3]
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind((addr, port))
s.listen(8)
while True:
    c, _ = s.accept()
    subprocess.Popen(["storescp", "--inetd", "-od", out], stdin=c.fileno(), stdout=c.fileno(),
                     stderr=subprocess.DEVNULL)
    c.close()
EOF
	PIDS+=($!)
}

# status FILE SUBJECT: the status of the one network finding about SUBJECT
status() {
	python3 - "$@" <<'EOF'
import json, sys
m = [f for f in json.load(open(sys.argv[1])) if f["check"] == "network" and f["subject"] == sys.argv[2]]
print(m[0]["status"] if len(m) == 1 else ("none" if not m else "many"))
EOF
}

# message FILE SUBJECT
message() {
	python3 - "$@" <<'EOF'
import json, sys
for f in json.load(open(sys.argv[1])):
    if f["check"] == "network" and f["subject"] == sys.argv[2]:
        print(f["message"])
EOF
}

# expect_finding FILE SUBJECT STATUS WORDS...: the finding has STATUS and
# every word in its message
expect_finding() {
	local file=$1 subject=$2 want=$3 got
	shift 3
	got=$(status "$file" "$subject")
	[ "$got" = "$want" ] || { cat "$file"; fail "$subject: '$got', expected '$want'"; }
	for w in "$@"; do
		message "$file" "$subject" | grep -qF -- "$w" ||
			fail "$subject: no '$w' in: $(message "$file" "$subject")"
	done
}

mkdir -p "$T/in"
DPORT=$(free_port)
HPORT=$(free_port)
OHTTP=$(free_port)
ODICOM=$(free_port)
[ -n "$DPORT" ] && [ -n "$HPORT" ] && [ -n "$OHTTP" ] && [ -n "$ODICOM" ] || fail "no free port"

# ---- on 0.0.0.0, non-default ports: storescp, a fake and a real Orthanc ----
storescp -od "$T/in" "$DPORT" >"$T/storescp.log" 2>&1 &
PIDS+=($!)
fake_orthanc 0.0.0.0 "$HPORT"
mkdir -p "$T/orthanc-db"
cat >"$T/orthanc.json" <<EOF
{
  "Name" : "Cabinet",
  "StorageDirectory" : "$T/orthanc-db",
  "IndexDirectory" : "$T/orthanc-db",
  "HttpPort" : $OHTTP,
  "DicomPort" : $ODICOM,
  "RemoteAccessAllowed" : true,
  "AuthenticationEnabled" : false,
  "Plugins" : [ ]
}
EOF
"$ORTHANC" "$T/orthanc.json" >"$T/orthanc.log" 2>&1 &
PIDS+=($!)
# a second Orthanc that asks for a password (its DICOM server off)
APORT=$(free_port)
mkdir -p "$T/orthanc-db2"
cat >"$T/orthanc-auth.json" <<EOF
{
  "Name" : "Locked",
  "StorageDirectory" : "$T/orthanc-db2",
  "IndexDirectory" : "$T/orthanc-db2",
  "HttpPort" : $APORT,
  "DicomServerEnabled" : false,
  "RemoteAccessAllowed" : true,
  "AuthenticationEnabled" : true,
  "RegisteredUsers" : { "doctor" : "Long-Random-Password-4242" },
  "Plugins" : [ ]
}
EOF
"$ORTHANC" "$T/orthanc-auth.json" >"$T/orthanc-auth.log" 2>&1 &
PIDS+=($!)
wait_port 127.0.0.1 "$DPORT"
wait_port 127.0.0.1 "$HPORT"
wait_port 127.0.0.1 "$OHTTP"
wait_port 127.0.0.1 "$ODICOM"
wait_port 127.0.0.1 "$APORT"

expect_exit 1 mv audit --only network --json
cp "$T/out" "$T/exposed.json"
expect_finding "$T/exposed.json" "0.0.0.0:$DPORT" fail "DICOM service" "accepted" "every IPv4 address"
expect_finding "$T/exposed.json" "0.0.0.0:$HPORT" fail "Orthanc" "Cabinet Dr Martin" "1.10.1" \
	"without a password"
expect_finding "$T/exposed.json" "0.0.0.0:$OHTTP" fail "Orthanc" "without a password"
expect_finding "$T/exposed.json" "0.0.0.0:$ODICOM" fail "DICOM service"
# with a password: a warning (reachable, but not open)
expect_finding "$T/exposed.json" "0.0.0.0:$APORT" warn "Orthanc" "asked" "password"
python3 - "$T/exposed.json" "$HPORT" <<'EOF' || fail "the open Orthanc's remedy does not say how to close it"
import json, sys
f = [f for f in json.load(open(sys.argv[1])) if f["subject"] == "0.0.0.0:" + sys.argv[2]][0]
assert "RemoteAccessAllowed" in f["remedy"] and "AuthenticationEnabled" in f["remedy"], f
EOF
# the human report says it too
expect_exit 1 mv audit --only network
grep -q "^FAIL  network: 0.0.0.0:$DPORT: A DICOM service" "$T/out" || fail "human report: $(cat "$T/out")"
# --no-probe: only default ports are known, so these are not seen
set +e
mv audit --only network --no-probe --json >"$T/out" 2>"$T/err"
set -e
[ "$(status "$T/out" "0.0.0.0:$DPORT")" = none ] || fail "--no-probe still probed"
# the probe is bounded: a listener that never answers costs at most 2 s
SPORT=$(free_port)
python3 -c '
import socket, sys, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", int(sys.argv[1]))); s.listen(64); time.sleep(120)' "$SPORT" &
PIDS+=($!)
sleep 0.3
start=$(date +%s%N)
set +e
mv audit --only network --json >"$T/out" 2>"$T/err"
set -e
elapsed=$((($(date +%s%N) - start) / 1000000))
[ "$elapsed" -lt 8000 ] || fail "audit took $elapsed ms with a silent listener"
stop_all

# ---- the same on 127.0.0.1 only: recognised, not exposed --------------------
inetd_storescp 127.0.0.1 "$DPORT"
fake_orthanc 127.0.0.1 "$HPORT"
wait_port 127.0.0.1 "$DPORT"
wait_port 127.0.0.1 "$HPORT"
set +e
mv audit --only network --json >"$T/out" 2>"$T/err"
rc=$?
set -e
expect_finding "$T/out" "127.0.0.1:$DPORT" ok "DICOM service" "loopback address only"
expect_finding "$T/out" "127.0.0.1:$HPORT" ok "Orthanc" "loopback address only"
python3 - "$T/out" "$DPORT" "$HPORT" <<'EOF' || fail "a loopback-only service reported as exposed"
import json, sys
ports = sys.argv[2:]
bad = [f for f in json.load(open(sys.argv[1]))
       if f["subject"].rsplit(":", 1)[-1] in ports and f["status"] != "ok"]
sys.exit(1 if bad else 0)
EOF
want=$(python3 -c 'import json,sys; print(0 if all(f["status"] == "ok" for f in json.load(open(sys.argv[1]))) else 1)' "$T/out")
[ "$rc" = "$want" ] || fail "audit exited $rc for these findings"
stop_all

# ---- advice names only commands that exist ---------------------------------
# every finding audit can give here: DICOM files in clear, on an encrypted
# volume or not, an open Orthanc configuration, a repository and password
# file readable by others, no check recorded
mkdir -p "$T/dcm"
python3 - "$T/dcm/IM1.dcm" <<'EOF'
import struct, sys
def el(g, e, vr, v):
    if len(v) % 2:
        v += b"\0" if vr == "UI" else b" "
    return struct.pack("<HH2sH", g, e, vr.encode(), len(v)) + v
meta = el(2, 0x10, "UI", b"1.2.840.10008.1.2.1")
meta = el(2, 0, "UL", struct.pack("<I", len(meta))) + meta
ds = el(0x10, 0x10, "PN", b"DUPONT^MARIE") + el(0x10, 0x20, "LO", b"P1") + el(0x20, 0x0d, "UI", b"1.2.3")
open(sys.argv[1], "wb").write(b"\0" * 128 + b"DICM" + meta + ds)
EOF
cat >"$T/open.json" <<'EOF'
{ "RemoteAccessAllowed" : true, "AuthenticationEnabled" : false }
EOF
R="$T/repo"
expect_exit 0 mv init -r "$R" --recovery-key-file "$(keyfile)"
chmod 755 "$R"
chmod 644 "$T/pw"
set +e
mv audit -r "$R" --scan "$T/dcm" --orthanc-config "$T/open.json" --json >"$T/out" 2>"$T/err"
set -e
chmod 600 "$T/pw"
python3 - "$T/out" <<'EOF' || fail "not every kind of finding was given: $(cat "$T/out")"
import json, sys
f = json.load(open(sys.argv[1]))
bad = {x["check"] for x in f if x["status"] != "ok"}
need = {"scan", "orthanc", "repository-permissions", "password-file", "last-check"}
sys.exit(0 if need <= bad else 1)
EOF
mv audit --help >"$T/help" 2>&1 || fail "audit --help failed"
python3 - "$T/out" "$T/help" >"$T/cmds" <<'EOF' || fail "cannot read the findings"
import json, re, sys
text = [f["remedy"] + " " + f["message"] for f in json.load(open(sys.argv[1]))]
text.append(open(sys.argv[2]).read())
cmds = set()
for t in text:
    cmds.update(re.findall(r"'medvault ([a-z][a-z-]*)", t))
print("\n".join(sorted(cmds)))
EOF
grep -q . "$T/cmds" || fail "no command named in the advice: $(cat "$T/out")"
while read -r c; do
	"$MV_BIN" "$c" --help >/dev/null 2>&1 || fail "the advice names 'medvault $c', which does not exist"
done <"$T/cmds"
pass
