#!/bin/sh
# The event service C tests: the API test against a live single-node
# executive (with -lSaEvt and with -lais), the classic conformance test
# (c-tests/conformance/evt_classic.c), a classic-style program built
# unchanged, then the three-node test (cluster.sh).
#
#   c-tests/evt/run.sh [target-dir]    (default: <repo>/target; debug profile,
#                                       AIS_PROFILE=release for the other)
#
# Needs `cargo build -p aisexec -p ais-capi -p ais-tools` done in that target
# dir; links the shared libraries with scripts/link-libs.sh. Every program is
# built with only -I<repo>/include and -lSaEvt (or -lais) and run bounded by
# `timeout`. Ends with "evt: N passed, N failed"; exits non-zero on failure.
set -u

. "$(dirname "$0")/../lib/common.sh"
ctest_init evt "${1:-}" "${AIS_PROFILE:-debug}"
LIMIT=${EVT_TEST_TIMEOUT:-120}
step_show='passed,|evt cluster:'
ctest_need aisexec ais-cfgtool
ctest_link

step "build evt_api" ctest_build evt_api evt_api SaEvt -Wall -Wextra -Werror
step "build evt_api with -lais" ctest_build evt_api-ais evt_api ais -Wall -Wextra -Werror
step "build evt_node" ctest_build evt_node evt_node SaEvt -Wall -Wextra -Werror
# Classic conformance (c-tests/conformance/evt_classic.c), built as a classic
# program is: only -I.../include/corosync and -lSaEvt.
step "build evt_classic" \
    $CC -std=gnu99 -Wall -Wextra -Werror -I"$root/include/corosync" -o "$tmp/evt_classic" \
    "$root/c-tests/conformance/evt_classic.c" -L"$lib" -Wl,-rpath,"$lib" -lSaEvt
# A program in the classic style, built as it is: only -I.../corosync.
step "build classic-style program unchanged" \
    $CC -std=gnu99 -I"$root/include/corosync" -o "$tmp/classic" "$here/classic_subscriber.c" \
    -L"$lib" -Wl,-rpath,"$lib" -lSaEvt

for prog in evt_api evt_api-ais evt_classic; do
    [ -x "$tmp/$prog" ] || continue
    step "run $prog" ctest_with_exec "$LIMIT" "$tmp/$prog"
done
if [ -x "$tmp/classic" ]; then
    step "run classic-style program" ctest_with_exec "$LIMIT" "$tmp/classic"
fi
if [ -x "$tmp/evt_node" ]; then
    step "3-node cluster (cluster.sh)" \
        timeout -k 10 "$LIMIT" "$here/cluster.sh" "$bin" "$tmp/evt_node" "$tmp/evt_api"
fi

ctest_finish
