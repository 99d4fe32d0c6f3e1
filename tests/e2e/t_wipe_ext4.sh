#!/usr/bin/env bash
# medvault wipe on a real ext4 file system (issue 10): files holding unique
# markers (1 KiB to 3 MiB, a sparse one, patient-named folders) are backed
# up and wiped; after unmounting, the raw image holds none of their markers,
# and the emptied folders are gone. The names that a file-level wipe cannot
# reach (directory blocks, journal) are counted and printed, and the report
# and the certificate say so. A file changed after the backup is refused
# (exit 3) and keeps its content; a symlink's target outside the wiped tree
# is untouched; a hard-linked file is skipped unless --include-hardlinked;
# --dry-run changes nothing. Needs root (loop mount); skipped otherwise.
. "$(dirname "$0")/lib.sh"

loop_mount 64M
cd "$T" # a certificate written to the current folder stays in the test's folder
W="$T/mnt"
R="$T/repo" # outside the image: only the plain copies are on it
# The host's medium (a VM disk under a loop image) may be flagged unreliable:
# these tests are about what the overwrite reaches on ext4, not the verdict.
WIPE=(wipe -r "$R" --snapshot latest --yes --accept-unreliable-medium)

declare -A MARK # file -> its marker
mkmarked() {    # mkmarked PATH SIZE
	mkdir -p "$(dirname "$1")"
	MARK[$1]=$(wt marker)
	wt mkfile "$1" "$2" "${MARK[$1]}"
}

# A: the clean set, three patients
A="$W/IMAGERIE_A"
mkmarked "$A/DUPONT^JEAN_1961/IRM_GENOU_20190412/IM000001.dcm" 1024
mkmarked "$A/DUPONT^JEAN_1961/IRM_GENOU_20190412/IM000002.dcm" 65537
mkmarked "$A/DUPONT^JEAN_1961/RADIO_20200101/IM000003.dcm" 1048576
mkmarked "$A/MARTIN^CLAIRE_1975/SCANNER_20211130/IM000004.dcm" 3145728
mkmarked "$A/MARTIN^CLAIRE_1975/SCANNER_20211130/IM000005.dcm" 300001
mkdir -p "$A/LEROY^PAUL_1950/ECHO_20220202"
SPARSE="$A/LEROY^PAUL_1950/ECHO_20220202/IM000006.raw"
MARK[$SPARSE]=$(wt marker)
wt mksparse "$SPARSE" "${MARK[$SPARSE]}"
[ "$(du -k "$SPARSE" | cut -f1)" -lt 1024 ] || fail "the sparse file is not sparse on this image"
# B: a file that changes after the backup, beside one that does not
B="$W/IMAGERIE_B/BERNARD^ANNE_1980"
mkmarked "$B/changed.dcm" 200000
mkmarked "$B/same.dcm" 100000
# C: a symlink to a file outside the wiped tree, beside a plain file
C="$W/IMAGERIE_C/ROUX^EMMA_1985"
mkmarked "$W/outside/target.dcm" 50000
mkmarked "$C/plain.dcm" 40000
ln -s "$W/outside/target.dcm" "$C/link.dcm"
# D: a file with a second hard link outside the wiped tree
D="$W/IMAGERIE_D/PETIT^LUC_1990"
mkmarked "$D/hl.dcm" 70000
ln "$D/hl.dcm" "$W/outside/hl-other.dcm"
sync

expect_exit 0 mv init -r "$R" --recovery-key-file "$(keyfile)"
expect_exit 0 mv backup -r "$R" "$W"
printf 'changed after the backup %s\n' "$(wt marker)" >>"$B/changed.dcm"
sync

# --dry-run: nothing changes (the changed and hard-linked files make it
# report refusals, so 3 is as right as 0)
before=$(wt treehash "$W")
expect_exit_in "0 3" mv "${WIPE[@]}" --dry-run "$W/IMAGERIE_A" "$W/IMAGERIE_B" "$W/IMAGERIE_C" "$W/IMAGERIE_D"
[ "$(wt treehash "$W")" = "$before" ] || fail "--dry-run changed the tree"

# the clean set: everything wiped, every folder under it removed
expect_exit 0 mv "${WIPE[@]}" --certificate "$T/a.json" "$A"
cp "$T/out" "$T/a.out"
cp "$T/err" "$T/a.err"
[ -z "$(find "$A" -mindepth 1 2>/dev/null)" ] || fail "left in the wiped tree: $(find "$A" -mindepth 1)"
[ ! -e "$W/IMAGERIE_A/DUPONT^JEAN_1961" ] || fail "emptied patient folder not removed"
for f in "${!MARK[@]}"; do
	case "$f" in "$A"/*) [ "$(wt status "$T/a.json" "$f")" = wiped ] || fail "certificate: $f is not 'wiped'" ;; esac
done
# honest about names: the report and the certificate's limits say that names
# may remain and that a device wipe is the remedy
wt field "$T/a.json" limits >"$T/limits"
grep -qi "name" "$T/limits" || fail "certificate limits do not mention names: $(cat "$T/limits")"
grep -qi "device" "$T/limits" || fail "certificate limits do not name the device-level remedy: $(cat "$T/limits")"
grep -qi "name" "$T/a.out" "$T/a.err" || fail "the wipe's report does not say that names may remain"

# a file changed after the backup: refused and intact, its sibling wiped
sum=$(sha256sum <"$B/changed.dcm")
expect_exit 3 mv "${WIPE[@]}" --certificate "$T/b.json" "$W/IMAGERIE_B"
grep -q "changed.dcm" "$T/out" "$T/err" || fail "the refused file is not named"
[ "$(sha256sum <"$B/changed.dcm")" = "$sum" ] || fail "the changed file was touched"
[ ! -e "$B/same.dcm" ] || fail "the unchanged sibling was not wiped"
[ -d "$B" ] || fail "a folder still holding a refused file was removed"
[ "$(wt status "$T/b.json" "$B/changed.dcm")" = refused ] || fail "certificate: changed.dcm not 'refused'"
[ "$(wt status "$T/b.json" "$B/same.dcm")" = wiped ] || fail "certificate: same.dcm not 'wiped'"

# a symlink: never followed; the link is removed (or refused), the target
# intact (and the file beside it wiped with two passes of zeros)
sum=$(sha256sum <"$W/outside/target.dcm")
expect_exit_in "0 3" mv "${WIPE[@]}" --passes 2 --pattern zero --certificate "$T/c.json" "$W/IMAGERIE_C"
[ "$(sha256sum <"$W/outside/target.dcm")" = "$sum" ] || fail "the symlink's target was changed"
[ ! -e "$C/plain.dcm" ] || fail "the plain file beside the link was not wiped"
if [ "$RC" = 0 ]; then
	[ ! -L "$C/link.dcm" ] || fail "exit 0 but the link is still there"
else
	[ -L "$C/link.dcm" ] || fail "the link was refused (exit 3) but is gone or no longer a link"
fi

# a hard-linked file: skipped and reported, then wiped with --include-hardlinked
sum=$(sha256sum <"$D/hl.dcm")
expect_exit 3 mv "${WIPE[@]}" --certificate "$T/d1.json" "$W/IMAGERIE_D"
grep -q "hl.dcm" "$T/out" "$T/err" || fail "the hard-linked file is not named"
[ "$(sha256sum <"$D/hl.dcm")" = "$sum" ] || fail "the hard-linked file was touched without --include-hardlinked"
[ "$(sha256sum <"$W/outside/hl-other.dcm")" = "$sum" ] || fail "the other link changed"
[ "$(wt status "$T/d1.json" "$D/hl.dcm")" = refused ] || fail "certificate: hl.dcm not 'refused'"
expect_exit 0 mv "${WIPE[@]}" --include-hardlinked --certificate "$T/d2.json" "$W/IMAGERIE_D"
[ ! -e "$D/hl.dcm" ] || fail "--include-hardlinked: the file is still there"
[ "$(wt status "$T/d2.json" "$D/hl.dcm")" = wiped ] || fail "certificate: hl.dcm not 'wiped'"

# the raw image: no marker of a wiped file; the kept ones are still there
# (the search would find them: the test can fail)
unmount_image
keep=("$B/changed.dcm" "$W/outside/target.dcm")
args=()
for f in "${!MARK[@]}"; do args+=("${MARK[$f]}"); done
wt count "$T/disk.img" "${args[@]}" >"$T/counts"
for f in "${!MARK[@]}"; do
	n=$(awk -v m="${MARK[$f]}" '$2 == m {print $1}' "$T/counts")
	case " ${keep[*]} " in
	*" $f "*) [ "$n" -gt 0 ] || fail "the marker of kept $f is not found in the image: the search is broken" ;;
	*) [ "$n" = 0 ] || fail "$n copies of the marker of wiped $f remain in the raw image" ;;
	esac
done

# names: counted and printed, not asserted (directory blocks and the journal
# keep names that a file-level wipe cannot reach; see the certificate limits)
names=("DUPONT^JEAN_1961" "MARTIN^CLAIRE_1975" "LEROY^PAUL_1950" "IRM_GENOU_20190412" "RADIO_20200101"
	"SCANNER_20211130" "ECHO_20220202" "IM000001.dcm" "IM000002.dcm" "IM000003.dcm" "IM000004.dcm"
	"IM000005.dcm" "IM000006.raw" "same.dcm" "plain.dcm" "hl.dcm")
wt count "$T/disk.img" "${names[@]}" >"$T/names"
left=$(awk '$1 > 0' "$T/names" | wc -l)
echo "names: $left of ${#names[@]} wiped file and folder names remain in the raw ext4 image" \
	"($(awk '{s += $1} END {print s}' "$T/names") occurrences; directory blocks and journal)"
awk '$1 > 0 {print "  " $1 "x " $2}' "$T/names"
pass
