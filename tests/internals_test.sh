#!/usr/bin/env bash
# internals_test.sh - self-test of scripts/check-internals.sh on a copy of the tree: it passes as
# is and fails on a state added to an enum, on a new state enum without a row, on a row whose
# enum is gone, and on a reordered row.
set -uo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail=0 n=0
fresh() {
    rm -rf "$tmp/t" && mkdir -p "$tmp/t/docs/internals"
    cp -r "$here/src" "$here/include" "$tmp/t/"
    cp "$here/docs/internals/README.md" "$tmp/t/docs/internals/"
}
expect() { # PASS|FAIL pattern what
    n=$((n + 1))
    out=$("$here/scripts/check-internals.sh" "$tmp/t" 2>&1)
    rc=$?
    if { [ "$1" = PASS ] && [ $rc -ne 0 ]; } || { [ "$1" = FAIL ] && [ $rc -ne 1 ]; } ||
        ! grep -qE -- "$2" <<<"$out"; then
        echo "internals_test: FAIL: $3 (rc $rc):"; echo "$out"; fail=1
    fi
}
fresh
expect PASS 'table and code agree' "the tree as it is"
fresh
printf 'enum s3m_job_phase { S3M_JOB_LISTING, S3M_JOB_DONE };\n' >>"$tmp/t/include/s3m/lister.h"
expect FAIL 'state enum s3m_job_phase .* has no row' "a new phase enum without a row"
fresh
printf 'enum { A_ONE, A_TWO };\nstatic void f(int x) { set_phase(x, A_TWO); }\n' >"$tmp/t/src/engine/fake.c"
expect FAIL 'state enum engine/fake.c:set_phase' "an anonymous enum that set_phase() takes"
fresh
printf 'enum { B_ONE, B_TWO };\n' >"$tmp/t/src/engine/fake.c"
expect PASS 'agree' "an anonymous enum that no set_state() takes is no state machine"
fresh
sed -i 's/enum s3m_lister_state {/enum s3m_lister_pull {/' "$tmp/t/include/s3m/lister.h"
expect FAIL 'row s3m_lister_state: no such state enum' "a row whose enum was renamed"
fresh
sed -i 's/S3M_LIST_END, S3M_LIST_ERROR }/S3M_LIST_END, S3M_LIST_ERROR, S3M_LIST_GONE }/' \
    "$tmp/t/include/s3m/lister.h"
grep -q S3M_LIST_GONE "$tmp/t/include/s3m/lister.h" || { echo "internals_test: FAIL: the edit did not apply"; fail=1; }
expect FAIL 's3m_lister_state: the table says .* S3M_LIST_ERROR, .* S3M_LIST_ERROR S3M_LIST_GONE' "a state added"
fresh
sed -i 's/`X_RETRY` `X_DONE`/`X_DONE` `X_RETRY`/' "$tmp/t/docs/internals/README.md"
expect FAIL 'the table says' "a reordered row"
[ $fail = 0 ] && echo "internals_test: $n cases of scripts/check-internals.sh as expected"
exit $fail
