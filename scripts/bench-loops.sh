#!/bin/bash
# The request/answer loop benchmarks (`make bench`): builds the release
# executables and libraries, compiles c-tests/bench/ais_loops.c against
# them and runs loop-bench, which starts clusters of 1 and 3 nodes in
# network namespaces (needs root and iproute2) and runs each loop on
# node 1. With CLASSIC_SRC set to a built openais 0.80.6 source tree, the
# same program is also compiled against its static libraries and every
# round runs on classic executives too, then ours/classic is printed; and
# the tree's own test programs cpgbench and ckptbench (its checkpoint open
# given SA_TIME_END instead of 0) are built against each stack and run
# after the loops (their first figure: 1000-byte messages, 1-byte writes).
# Extra arguments go to loop-bench, e.g.
#
#   scripts/bench-loops.sh --nodes 3 --loops ckpt-write --rounds 4
#   CLASSIC_SRC=/work/classic-src scripts/bench-loops.sh --seconds 5
set -euo pipefail

cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
make --no-print-directory build-release >/dev/null
tmp=$(mktemp -d /tmp/ais-bench-loops.XXXXXX)
trap 'rm -rf "$tmp"' EXIT
cc=${CC:-gcc}
libs="$target/release/lib"
$cc -O2 -std=gnu99 -Wall -Wextra -Werror -Iinclude/corosync -o "$tmp/ais_loops" c-tests/bench/ais_loops.c \
    -L"$libs" -Wl,-rpath,"$(cd "$libs" && pwd)" -lcpg -levs -lSaCkpt -lSaEvt -lSaClm -lSaLck -lSaMsg -lpthread
args=(--program "$tmp/ais_loops")
if [ -n "${CLASSIC_SRC:-}" ]; then
    c=$CLASSIC_SRC
    $cc -O2 -std=gnu99 -I"$c/include" -o "$tmp/ais_loops_classic" c-tests/bench/ais_loops.c \
        "$c/lib/libcpg.a" "$c/lib/libevs.a" "$c/lib/libSaCkpt.a" "$c/lib/libSaEvt.a" "$c/lib/libSaClm.a" "$c/lib/libSaLck.a" "$c/lib/libSaMsg.a" -lpthread
    args+=(--classic-tree "$c" --classic-program "$tmp/ais_loops_classic")
    # Line-buffered output (they print a line per 10 s round), built from a
    # copy: main renamed, called by a wrapper.
    printf '#include <stdio.h>\nint bench_main(void);\nint main(void) { setvbuf(stdout, NULL, _IOLBF, 0); return bench_main(); }\n' \
        > "$tmp/linebuf.c"
    $cc -O2 -c -o "$tmp/linebuf.o" "$tmp/linebuf.c"
    sed 's/^\t\t0,$/\t\tSA_TIME_END,/' "$c/test/ckptbench.c" > "$tmp/ckptbench.c"
    grep -q SA_TIME_END, "$tmp/ckptbench.c" || { echo "bench-loops: cannot patch ckptbench.c" >&2; exit 1; }
    cp "$c/test/cpgbench.c" "$tmp/cpgbench.c"
    for p in cpgbench ckptbench; do
        extra=""
        lib=cpg
        [ $p = ckptbench ] && { extra="$c/test/sa_error.c"; lib=SaCkpt; }
        $cc -O2 -w -Dmain=bench_main -Iinclude/corosync -I"$c/test" -o "$tmp/$p" "$tmp/$p.c" $extra "$tmp/linebuf.o" \
            -L"$libs" -Wl,-rpath,"$(cd "$libs" && pwd)" -l$lib -lpthread
        $cc -O2 -w -Dmain=bench_main -I"$c/include" -I"$c/test" -o "$tmp/${p}_classic" "$tmp/$p.c" $extra \
            "$tmp/linebuf.o" "$c/lib/lib$lib.a" -lpthread
        args+=(--external "$p=$tmp/$p,$tmp/${p}_classic")
    done
fi
"$target/release/loop-bench" "${args[@]}" "$@"
