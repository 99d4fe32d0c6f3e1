#!/usr/bin/env bash
# Bytes appended to a file while it is being overwritten were never proven
# (nor backed up), yet they are destroyed: after the overwrite and read-back,
# mv_wipe_name() truncates and unlinks the file without checking that its
# size (or anything else) is still what was proven (core/wipe/wipe.c
# wipe_file(), core/wipe/overwrite.c mv_overwrite_file/mv_wipe_name). The run
# reports the file as wiped with the proven size and exits 0.
. "$(dirname "$0")/common.sh"
mount_ext4 400M
D="$MNT/IMAGERIE"; mkdir -p "$D"
SZ=150000000
head -c $SZ /dev/urandom >"$D/growing.dcm"
sync
R="$T/repo"; init_backup "$R" "$D"
orig=$(head -c 4096 "$D/growing.dcm" | sha256sum)
"$MVB" "${WIPE[@]}" -r "$R" --snapshot latest --passes 3 --json "$D" >"$T/o1" 2>"$T/e1" &
pid=$!
appended=0
for _ in $(seq 1 1200); do
	sleep 0.05
	kill -0 $pid 2>/dev/null || break
	if [ "$(written $pid)" -gt $((16 << 20)) ]; then
		# a process still writing the exam appends its last frames
		printf 'NEW-FRAMES-NEVER-BACKED-UP' >>"$D/growing.dcm" && appended=1
		break
	fi
done
wait $pid; rc=$?
[ $appended = 1 ] || { echo "SKIP: could not append during the overwrite"; exit 77; }
cat "$T/e1"
if [ ! -e "$D/growing.dcm" ]; then
	bug "bytes appended during the overwrite (never proven) were destroyed; exit $rc"
fi
ok "the file that grew was kept (exit $rc)"
