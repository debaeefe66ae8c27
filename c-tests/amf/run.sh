#!/bin/sh
# The AMF C tests: the component program, the API test (with -lSaAmf and
# -lais; the -lsaAmf spelling is a link `make install` makes), the classic openais 0.80.6 test component testamf1.c
# built unchanged against our headers (when the classic tree is there),
# then the two-node failover story (cluster.sh), the three-node one
# (cluster3.sh: N+M, no redundancy, terminate, callback timeouts) and the
# demo's counter failover on three nodes (demo.sh); own host name per
# executive, needs root for unshare --uts.
# Then AMF A.01.01: amf_a (-lSaAmf, -lsaAmf, -lais, libSaAmf.so.1), the
# symbol tables (symbols.sh), the 0.70.1 testamf.c/testamfth.c built
# unchanged, and the A.01.01 components on two nodes (cluster_a.sh).
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
step_show='amf (cluster|3 nodes|a cluster):|demo: .*(->|kill -9)|symbols:'
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
# AMF A.01.01 (<corosync/ais_amf.h>): amf_a with -lSaAmf, -lsaAmf (the
# lower-case link `make install` makes, made here in a directory of ours) and
# -lais; a component linked to the compatibility libSaAmf.so.1 as a binary
# of openais <= 0.70.1 is; the symbol tables; the 0.70.1 test programs.
build_a() { # build_a <name> <link arguments...>
    name=$1
    shift
    $CC -std=gnu99 -Wall -Wextra -Werror -g -I"$root/include" -o "$tmp/$name" "$here/amf_a.c" "$here/amf_a_b.c" \
        -Wl,-rpath,"$lib" "$@" -lpthread
}
mkdir -p "$tmp/lower"
ln -sf "$(cd "$lib" && pwd)/libSaAmf.so" "$tmp/lower/libsaAmf.so"
step "build amf_a (ais_amf.h + saAmf.h)" build_a amf_a -L"$lib" -lSaAmf
step "build amf_a with -lsaAmf" build_a amf_a-lower -L"$tmp/lower" -lsaAmf
step "build amf_a with -lais" build_a amf_a-ais -L"$lib" -lais
step "build amf_a against libSaAmf.so.1" $CC -std=gnu99 -Wall -Wextra -Werror -DAMF_A_ONLY -g -I"$root/include" \
    -o "$tmp/amf_a-so1" "$here/amf_a.c" "$lib/libSaAmf.so.1" -Wl,-rpath,"$lib" -lpthread
if [ -x "$tmp/amf_a" ] && [ -x "$tmp/amf_comp" ]; then
    step "symbol tables (objdump -T)" "$here/symbols.sh" "$lib" "$tmp/amf_a" "$tmp/amf_comp"
fi
if [ -d /work/classic-src/.git ]; then
    # As a 0.70.1 program is built: only -I.../include/corosync and -lSaAmf.
    for t in testamf testamfth; do
        if git -C /work/classic-src show "openais-0.70.1:test/$t.c" > "$tmp/$t.c" 2>/dev/null; then
            step "build the openais 0.70.1 $t.c unchanged" \
                $CC -std=gnu99 -I"$root/include/corosync" -o "$tmp/$t" "$tmp/$t.c" -L"$lib" -Wl,-rpath,"$lib" -lSaAmf -lpthread
        fi
    done
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

if [ -x "$tmp/amf_a" ] && [ -x "$tmp/amf_a-so1" ]; then
    step "2-node A.01.01 components (cluster_a.sh)" \
        timeout -k 10 "$LIMIT" "$here/cluster_a.sh" "$bin" "$tmp/amf_a" "$tmp/amf_a-so1" \
        "$tmp/amf_a-lower" "$tmp/amf_a-ais"
fi

ctest_finish
