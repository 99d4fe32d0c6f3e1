#!/usr/bin/env bash
# A process holding the file mapped MAP_SHARED (a viewer or converter
# editing it in place) changes it after the proof without any change of
# mtime/ctime (a store to an already dirty page takes no fault, so the
# kernel updates no timestamp until writeback). same_state() compares only
# (dev, ino, size, mtime, ctime), so the wipe overwrites bytes it never
# proved (core/wipe/wipe.c wipe_file()). Re-hashing is costly; a cheaper
# guard: take a write lease (F_SETLEASE F_WRLCK fails while another
# process has the file open for writing) or refuse files open for writing
# elsewhere, for the time from the hash to the overwrite.
. "$(dirname "$0")/common.sh"
mount_ext4 64M
D="$MNT/IMG"; mkdir -p "$D"
head -c 65536 /dev/urandom >"$D/IM1.dcm"; sync
R="$T/repo"; init_backup "$R" "$D"
cat >"$T/editor.py" <<'PY'
import ctypes, mmap, os, struct, sys, time
path, ready = sys.argv[1], sys.argv[2]
libc = ctypes.CDLL(None, use_errno=True)
fd = os.open(path, os.O_RDWR)
m = mmap.mmap(fd, 0, mmap.MAP_SHARED, mmap.PROT_READ | mmap.PROT_WRITE)
m[0:1] = m[0:1]          # dirty the page (content unchanged): the one fault, the one timestamp update
ino = libc.inotify_init()
libc.inotify_add_watch(ino, path.encode(), 0x10)  # IN_CLOSE_NOWRITE: the wipe's hash is done
open(ready, "w").close()
os.read(ino, 4096)
m[100:126] = b"EDIT-MADE-AFTER-THE-BACKUP"  # no fault, no mtime/ctime change
time.sleep(3)
PY
# control: with --dry-run (which hashes the same way), the edit lands and no timestamp moves
cp -p "$D/IM1.dcm" "$T/copy"
python3 "$T/editor.py" "$D/IM1.dcm" "$T/ready" &
ed=$!
for _ in $(seq 100); do [ -e "$T/ready" ] && break; sleep 0.05; done
st0=$(stat -c '%Y.%y %Z.%z %s %i' "$D/IM1.dcm")
mvt wipe -r "$R" --snapshot latest --accept-unreliable-medium --dry-run "$D" >/dev/null 2>&1
wait $ed
st1=$(stat -c '%Y.%y %Z.%z %s %i' "$D/IM1.dcm")
grep -q EDIT-MADE "$D/IM1.dcm" || { echo "SKIP: the edit did not land"; exit 77; }
[ "$st0" = "$st1" ] || { echo "SKIP: the edit changed the timestamps here ($st0 / $st1)"; exit 77; }
echo "control: edited after the dry run's hash, timestamps unchanged ($st1)"
cp -p "$T/copy" "$D/IM1.dcm" && rm -f "$T/ready"; sync; sleep 1
python3 "$T/editor.py" "$D/IM1.dcm" "$T/ready" &
ed=$!
for _ in $(seq 100); do [ -e "$T/ready" ] && break; sleep 0.05; done
sleep 1.5
mvt "${WIPE[@]}" -r "$R" --snapshot latest "$D" >"$T/o" 2>&1; rc=$?
wait $ed
cat "$T/o"
[ -e "$D/IM1.dcm" ] || bug "a file changed after its proof (through a shared mapping) was wiped (exit $rc): unproven bytes destroyed"
ok "the changed file was kept (exit $rc)"
