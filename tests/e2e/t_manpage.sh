#!/usr/bin/env bash
# The man page and the bash completion, generated from the help texts
# (cli/helpgen.c): man renders the page, every command of 'medvault help' and
# every option of its help is in it; the completion offers the commands and
# each command's options, choices and file names.
. "$(dirname "$0")/lib.sh"

# ---- the man page
command -v man >/dev/null && command -v groff >/dev/null ||
	{ echo "SKIP: man-db and groff are not installed (scripts/deps)"; exit 77; }
mv help --man >"$T/medvault.1"
# groff's warnings (a bad macro, an unknown escape) fail the test
MANWIDTH=200 LC_ALL=C.UTF-8 man --warnings -E UTF-8 -l "$T/medvault.1" >"$T/man.txt" 2>"$T/man.err"
[ ! -s "$T/man.err" ] || { cat "$T/man.err"; fail "man -l warns about the page"; }
grep -q '^NAME' "$T/man.txt" || fail "no NAME section"
grep -q '^EXIT STATUS\|Exit codes: 0 ok' "$T/man.txt" || fail "no exit codes"
cmds=$(mv help | sed -n '/^Commands:/,/^$/p' | awk 'NF && !/^Commands:/ {print $1}')
[ "$(echo "$cmds" | wc -l)" -ge 10 ] || fail "too few commands in 'medvault help': $cmds"
for c in $cmds; do
	# a section of its own, its usage line, and each option of its --help
	grep -q "^   $c\$" "$T/man.txt" || fail "no section for '$c' in the man page"
	usage=$(mv help "$c" | sed -n 's/^Usage: //p')
	grep -qF -- "$usage" "$T/man.txt" || fail "the usage of '$c' is not in the man page"
	mv help "$c" | sed -n '/^Options:/,/^$/p' | { grep -o '^  -[^ ]*\( [^ ]\+\)\?' || true; } |
		while read -r opt; do
			grep -qF -- "$opt" "$T/man.txt" || fail "'$c $opt' is not in the man page"
		done
done
# every option the help (so the man page and the completion) names is one its
# command's parser knows: a value it refuses is fine here, an unknown option not
for c in $cmds; do
	mv help "$c" | sed -n '/^Options:/,/^$/p' | { grep '^  -' || true; } | sed 's/^  //; s/  .*//' |
		while IFS= read -r flags; do
			value=
			[[ $flags =~ \ [A-Za-z] ]] && value=x
			for opt in $(grep -o -- '-\{1,2\}[A-Za-z][-A-Za-z0-9]*' <<<"$flags"); do
				set +e
				mv "$c" --help "$opt" $value >/dev/null 2>"$T/opt.err"
				set -e
				! grep -q "unknown option" "$T/opt.err" ||
					fail "'$c' does not know its option $opt"
				echo "$c $opt" >>"$T/opts.seen"
			done
		done
done
grep -q "^backup --exclude" "$T/opts.seen" && grep -q "^backup -e" "$T/opts.seen" ||
	fail "the options of the help were not all tried"
# the roff is escaped: a dash is a minus (copy-pasteable), no line starts a macro by accident
grep -q '\\-\\-repo' "$T/medvault.1" || fail "dashes are not escaped"
if grep -n "^[.']" "$T/medvault.1" | grep -v "^[0-9]*:\.\(TH\|SH\|SS\|PP\|TP\|B\|RS\|RE\|nf\|fi\|nh\|ad\|\\\\\"\)\( \|$\)"; then
	fail "a text line starts with '.' or an apostrophe"
fi
expect_exit 2 mv help --man backup

# ---- the completion
mv help --bash-completion >"$T/medvault.bash"
cat >"$T/comp.sh" <<'EOS'
. "$1"
comp() { COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=(); _medvault; echo "${COMPREPLY[*]}"; }
EOS
comp() { bash -c '. "$0"; shift; comp "$@"' "$T/comp.sh" "$T/medvault.bash" "$@"; }
# complete registers the function
bash -c '. "$0"; complete -p medvault' "$T/medvault.bash" | grep -q -- '-F _medvault medvault' ||
	fail "the completion is not registered"
[ "$(comp medvault ba)" = backup ] || fail "medvault ba<TAB>: '$(comp medvault ba)'"
all=$(comp medvault '')
for c in $cmds; do
	[[ " $all " == *" $c "* ]] || fail "medvault <TAB> lacks '$c': $all"
done
got=" $(comp medvault backup --) "
for o in --exclude --tag --host --parent --force --allow-empty --allow-shrink --repo --json; do
	[[ $got == *" $o "* ]] || fail "medvault backup --<TAB> lacks $o: $got"
done
[[ $got != *" --target "* ]] || fail "medvault backup --<TAB> offers restore's --target"
[ "$(comp medvault backup --allow-e)" = --allow-empty ] || fail "--allow-e<TAB>"
# global options before the command, with their value, are skipped
[ "$(comp medvault -r /tmp --json backup --allow-s)" = --allow-shrink ] ||
	fail "medvault -r /tmp --json backup --allow-s<TAB>: '$(comp medvault -r /tmp --json backup --allow-s)'"
# choices, file names, the commands of 'help'
[ "$(comp medvault dump --format '')" = "tar zip" ] || fail "dump --format <TAB>: '$(comp medvault dump --format '')'"
mkdir "$T/somedir"
touch "$T/somefile"
[ "$(comp medvault restore latest --target "$T/somed")" = "$T/somedir" ] ||
	fail "restore --target <TAB> does not complete a folder"
[ "$(comp medvault -r "$T/somef")" = "$T/somefile" ] || fail "-r <TAB> does not complete a path"
[ "$(comp medvault backup "$T/somef")" = "$T/somefile" ] || fail "backup PATH<TAB>"
[ "$(comp medvault help wi)" = wipe ] || fail "help wi<TAB>: '$(comp medvault help wi)'"
# a value is not taken for the command: after --host x, backup's options still
[ "$(comp medvault backup --host x --allow-e)" = --allow-empty ] || fail "after --host x"
echo "ok"
