#!/bin/sh
# The CLM C tests against a live single-node executive.
#
#   c-tests/clm/run.sh [target-dir]     (default: <repo>/target; debug profile,
#                                        AIS_PROFILE=release for the other)
#
# Needs `cargo build` done in that target dir (aisexec and the static
# library); links the shared libraries with scripts/link-libs.sh if the
# lib/ directory lacks libSaClm.so. Builds each program with only
# -I<repo>/include and -lSaClm, runs it through c-tests/lib/with-exec.sh
# (a fresh executive each), bounded by `timeout`. Ends with
# "clm: N passed, N failed"; exits non-zero on any failure. Then runs
# cluster.sh (three executives on 127.0.0.1-3).
set -u

. "$(dirname "$0")/../lib/common.sh"
ctest_init clm "${1:-}" "${AIS_PROFILE:-debug}"
LIMIT=${CLM_TEST_TIMEOUT:-60}
step_show='passed,|^clm-cluster:'
ctest_need aisexec
ctest_link SaClm

build() { # build <name> <extra cflags...>
    name=$1
    shift
    ctest_build "$name" "$name" SaClm "$@"
}

# The API test with AddressSanitizer (leaks included: the arrays the
# library allocates are freed by the program), then plain, with strict
# warnings.
if build clm_api -Wall -Wextra -Werror -fsanitize=address,undefined -fno-sanitize-recover=all \
    > "$tmp/asan.log" 2>&1; then
    mv "$tmp/clm_api" "$tmp/clm_api-asan"
else
    echo "clm: cannot build with -fsanitize=address,undefined here: skipped" >&2
    sed 's/^/    /' "$tmp/asan.log" >&2
fi
step "build clm_api" build clm_api -Wall -Wextra -Werror
# The classic-style program: built as such programs were (plain -Wall),
# with no edits.
step "build clmtest (classic program)" build clmtest -Wall
# Linked against -lais as well (it exports the CLM functions too).
step "build clmtest with -lais" ctest_build clmtest-ais clmtest ais -Wall

for prog in clm_api clm_api-asan clmtest clmtest-ais; do
    [ -x "$tmp/$prog" ] || continue
    step "run $prog" ctest_with_exec "$LIMIT" "$tmp/$prog"
done

# Three executives: agreement, and tracking across kill -9 and rejoin.
step "3-node cluster (cluster.sh)" timeout -k 10 120 "$here/cluster.sh" "$target"

ctest_finish
