#!/usr/bin/env bash
# File names that are not UTF-8 (common on old Windows/Latin-1 disks: an
# 0xE9 'e-acute' in a patient's name) are written to the certificate, the
# --json output and the history with each bad byte replaced by U+FFFD, so
# two different files ("DUPR\xe9.dcm", "DUPR\xe8.dcm") are certified under
# the same name and the certificate cannot tell which files it covers.
# A lossless spelling (e.g. a "path_bytes" base64 or \x escapes next to the
# display form) is needed. cli/wipecert.c and cli/cmd_wipe.c JSON writers
# (cli_json_str*).
. "$(dirname "$0")/common.sh"
mount_ext4 64M
D="$MNT/IMG"; mkdir -p "$D"
head -c 2000 /dev/urandom >"$D/$(printf 'DUPR\xe9.dcm')"
head -c 2000 /dev/urandom >"$D/$(printf 'DUPR\xe8.dcm')"
R="$T/repo"; init_backup "$R" "$D"
mvt "${WIPE[@]}" -r "$R" --snapshot latest --certificate "$T/c.json" "$D" >"$T/o" 2>&1; rc=$?
n=$(python3 -c '
import json,sys
d=json.load(open(sys.argv[1]))
paths=[]
def walk(x):
    if isinstance(x,dict):
        for k,v in x.items():
            if k=="path" and isinstance(v,str) and "DUPR" in v: paths.append((v, x.get("path_hex")))
            walk(v)
    elif isinstance(x,list):
        for v in x: walk(v)
walk(d); print(len(set(paths)), len(paths))' "$T/c.json")
echo "distinct/all wiped paths in the certificate: $n (exit $rc)"
[ "${n%% *}" = 2 ] || bug "two different files are certified under one name: $n"
ok "names kept apart"
