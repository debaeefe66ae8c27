#!/bin/sh
# The checkpoint C tests: the API test and the classic conformance test
# (c-tests/conformance/ckpt_classic.c) against a live single-node executive,
# then the three-node and failover test (cluster.sh).
#
#   c-tests/ckpt/run.sh [target-dir]    (default: <repo>/target; debug profile,
#                                        AIS_PROFILE=release for the other)
#
# Needs `cargo build -p aisexec -p ais-capi -p ais-tools` done in that target
# dir; links the shared libraries with scripts/link-libs.sh. Builds each
# program with only -I<repo>/include and -lSaCkpt (also once with -lais),
# runs it bounded by `timeout`. Ends with "ckpt: N passed, N failed"; exits
# non-zero on any failure.
set -u

. "$(dirname "$0")/../lib/common.sh"
ctest_init ckpt "${1:-}" "${AIS_PROFILE:-debug}"
LIMIT=${CKPT_TEST_TIMEOUT:-120}
step_show='passed|ckpt cluster:|threads x'
ctest_need aisexec ais-cfgtool
ctest_link

step "build ckpt_api" ctest_build ckpt_api ckpt_api SaCkpt -Wall -Wextra -Werror
step "build ckpt_api with -lais" ctest_build ckpt_api-ais ckpt_api ais -Wall -Wextra -Werror
step "build ckpt_node" ctest_build ckpt_node ckpt_node SaCkpt -Wall -Wextra -Werror
# Classic conformance (c-tests/conformance/ckpt_classic.c), built as a classic
# program is: only -I.../include/corosync and -lSaCkpt.
step "build ckpt_classic" \
    $CC -std=gnu99 -Wall -Wextra -Werror -I"$root/include/corosync" -o "$tmp/ckpt_classic" \
    "$root/c-tests/conformance/ckpt_classic.c" -L"$lib" -Wl,-rpath,"$lib" -lSaCkpt

for prog in ckpt_api ckpt_api-ais ckpt_classic; do
    [ -x "$tmp/$prog" ] || continue
    step "run $prog" ctest_with_exec "$LIMIT" "$tmp/$prog"
done
if [ -x "$tmp/ckpt_node" ]; then
    step "3-node cluster and failover (cluster.sh)" \
        timeout -k 10 "$LIMIT" "$here/cluster.sh" "$bin" "$tmp/ckpt_node" "$tmp/ckpt_api"
fi

ctest_finish
