#!/bin/sh
# The lock service C tests: the API test against a live single-node
# executive (with -lSaLck and with -lais), a classic-style program built
# unchanged, then the three-node test (cluster.sh).
#
#   c-tests/lck/run.sh [target-dir]    (default: <repo>/target; debug profile,
#                                       AIS_PROFILE=release for the other)
#
# Needs `cargo build -p aisexec -p ais-capi -p ais-tools` done in that target
# dir; links the shared libraries with scripts/link-libs.sh. Every program is
# built with only -I<repo>/include and -lSaLck (or -lais) and run bounded by
# `timeout`. Ends with "lck: N passed, N failed"; exits non-zero on failure.
set -u

. "$(dirname "$0")/../lib/common.sh"
ctest_init lck "${1:-}" "${AIS_PROFILE:-debug}"
LIMIT=${LCK_TEST_TIMEOUT:-180}
step_show='passed,|lck cluster:|waiters'
ctest_need aisexec ais-cfgtool
ctest_link

step "build lck_api" ctest_build lck_api lck_api SaLck -Wall -Wextra -Werror
step "build lck_api with -lais" ctest_build lck_api-ais lck_api ais -Wall -Wextra -Werror
step "build lck_node" ctest_build lck_node lck_node SaLck -Wall -Wextra -Werror
# A program in the classic style, built as it is: only -I.../corosync.
step "build classic-style program unchanged" \
    $CC -std=gnu99 -I"$root/include/corosync" -o "$tmp/classic" "$here/classic_locker.c" \
    -L"$lib" -Wl,-rpath,"$lib" -lSaLck -lpthread

for prog in lck_api lck_api-ais classic; do
    [ -x "$tmp/$prog" ] || continue
    step "run $prog" ctest_with_exec "$LIMIT" "$tmp/$prog"
done
if [ -x "$tmp/lck_node" ]; then
    step "3-node cluster (cluster.sh)" timeout -k 10 "$LIMIT" "$here/cluster.sh" "$bin" "$tmp/lck_node"
fi

ctest_finish
