#!/bin/sh
# The message queue C tests: the API test and the classic conformance test
# (c-tests/conformance/msg_classic.c) against a live single-node executive,
# then the three-node tests (cluster.sh).
#
#   c-tests/msg/run.sh [target-dir]    (default: <repo>/target; debug profile,
#                                       AIS_PROFILE=release for the other)
#
# Needs `cargo build -p aisexec -p ais-capi -p ais-tools` done in that target
# dir; links the shared libraries with scripts/link-libs.sh. Builds each
# program with only -I<repo>/include and -lSaMsg (also once with -lais),
# runs it bounded by `timeout`. Ends with "msg: N passed, N failed"; exits
# non-zero on any failure.
set -u

. "$(dirname "$0")/../lib/common.sh"
ctest_init msg "${1:-}" "${AIS_PROFILE:-debug}"
LIMIT=${MSG_TEST_TIMEOUT:-120}
step_show='passed|msg cluster:|msg bench:'
ctest_need aisexec ais-cfgtool
ctest_link

step "build msg_api" ctest_build msg_api msg_api SaMsg -Wall -Wextra -Werror
step "build msg_api with -lais" ctest_build msg_api-ais msg_api ais -Wall -Wextra -Werror
step "build msg_node" ctest_build msg_node msg_node SaMsg -Wall -Wextra -Werror
# Classic conformance (c-tests/conformance/msg_classic.c), built as a classic
# program is: only -I.../include/corosync and -lSaMsg.
step "build msg_classic" \
    $CC -std=gnu99 -Wall -Wextra -Werror -I"$root/include/corosync" -o "$tmp/msg_classic" \
    "$root/c-tests/conformance/msg_classic.c" -L"$lib" -Wl,-rpath,"$lib" -lSaMsg

for prog in msg_api msg_api-ais msg_classic; do
    [ -x "$tmp/$prog" ] || continue
    step "run $prog" ctest_with_exec "$LIMIT" "$tmp/$prog"
done
if [ -x "$tmp/msg_node" ]; then
    step "3 nodes: senders, groups, sendReceive, kill -9 (cluster.sh)" \
        timeout -k 10 "$LIMIT" "$here/cluster.sh" "$bin" "$tmp/msg_node" "$tmp/msg_api"
fi

ctest_finish
