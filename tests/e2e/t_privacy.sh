#!/usr/bin/env bash
# Nothing readable in the repository: neither a patient name inside a file
# nor a file or directory name appears in any repository file.
. "$(dirname "$0")/lib.sh"

R="$T/repo"
mkdir -p "$T/src/DUPONT_MARIE_1953"
printf 'PatientName=DUPONT^MARIE\nknee MRI 2019\n%.0s' {1..200} >"$T/src/DUPONT_MARIE_1953/IRM_genou_Dupont.dcm"
expect_exit 0 mv init -r "$R" --recovery-key-file "$(keyfile)"
expect_exit 0 mv backup -r "$R" "$T/src"
for s in DUPONT MARIE IRM_genou Dupont knee "$(basename "$T")" mvtest; do
	if grep -rqa -- "$s" "$R"; then
		fail "'$s' found in plaintext in the repository"
	fi
done
# also not as UTF-16 or hex of the raw name
if grep -rqa "$(printf 'D\0U\0P\0O\0N\0T')" "$R"; then fail "UTF-16 name found"; fi
pass
