#!/usr/bin/env bash
# No code outside core/repo reaches into the repository handle (issue 9):
# scripts/check-opaque finds no include of the private header and no use of
# a field of struct mv_repo; and it does find one when there is.
source "$(dirname "$0")/lib.sh"

"$SRC/scripts/check-opaque" "$SRC" >"$T/out" 2>&1 || { cat "$T/out"; fail "check-opaque"; }

# the check can fail: a copy of the tree with one field use planted
mkdir -p "$T/tree/core/repo" "$T/tree/cli"
cp "$SRC/core/repo/repo_impl.h" "$T/tree/core/repo/"
printf 'int f(struct mv_repo *r) { return r->slots_skipped; }\n' >"$T/tree/cli/x.c"
expect_exit 1 "$SRC/scripts/check-opaque" "$T/tree"
grep -q 'cli/x.c:1' "$T/out" || fail "the planted field use is not named"
printf '#include "core/repo/repo_impl.h"\n' >"$T/tree/cli/x.c"
expect_exit 1 "$SRC/scripts/check-opaque" "$T/tree"
grep -q 'private repository header' "$T/out" || fail "the planted include is not named"
echo ok
