#!/bin/sh
# The AMF C tests: the component program, the API test (with -lSaAmf and
# -lais; the -lsaAmf spelling is a link `make install` makes), the classic openais 0.80.6 test component testamf1.c
# built unchanged against our headers (when the classic tree is there),
# then the two-node failover story (cluster.sh), the three-node one
# (cluster3.sh: N+M, no redundancy, terminate, callback timeouts) and the
# demo's counter failover on three nodes (demo.sh); own host name per
# executive, needs root for unshare --uts.
#
#   c-tests/amf/run.sh [target-dir]    (default: <repo>/target; debug profile,
#                                       AIS_PROFILE=release for the other)
#
# Needs `cargo build` done in that target dir. Ends with "amf: N passed,
# N failed"; exits non-zero on failure.
set -u

. "$(dirname "$0")/../lib/common.sh"
ctest_init amf "${1:-}" "${AIS_PROFILE:-debug}"
LIMIT=${AMF_TEST_TIMEOUT:-180}
step_show='amf (cluster|3 nodes):|demo: .*(->|kill -9)'
ctest_need aisexec ais-cfgtool
ctest_link

step "build amf_comp" ctest_build amf_comp amf_comp SaAmf -Wall -Wextra -Werror
step "build amf_api" ctest_build amf_api amf_api SaAmf -Wall -Wextra -Werror
step "build amf_api with -lais" ctest_build amf_api-ais amf_api ais -Wall -Wextra -Werror
classic=/work/classic-src/test/testamf1.c
if [ -f "$classic" ]; then
    # As a classic program is built: only -I.../include/corosync and -lSaAmf.
    step "build the classic testamf1.c unchanged" \
        $CC -std=gnu99 -I"$root/include/corosync" -o "$tmp/testamf1" "$classic" -L"$lib" -Wl,-rpath,"$lib" -lSaAmf
fi
if [ -x "$tmp/amf_comp" ] && [ -x "$tmp/amf_api" ]; then
    step "2-node failover (cluster.sh)" \
        timeout -k 10 "$LIMIT" "$here/cluster.sh" "$bin" "$tmp/amf_comp" "$tmp/amf_api" \
        "$tmp/amf_api-ais"
    step "3-node N+M, no redundancy, terminate, callback timeouts (cluster3.sh)" \
        timeout -k 10 "$LIMIT" "$here/cluster3.sh" "$bin" "$tmp/amf_comp" "$tmp/amf_api"
    # The demo's story as a test: three nodes, a 2N counter keeping its
    # count in a checkpoint, kill -9 of the active process then of its node;
    # fails unless each takeover counts on from the last checkpointed value.
    step "3-node counter failover with a checkpoint (demo.sh)" \
        timeout -k 10 120 "$here/demo.sh" "$bin"
fi

ctest_finish
