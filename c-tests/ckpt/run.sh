#!/bin/sh
# The checkpoint C tests: the API test against a live single-node executive,
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

root=$(cd "$(dirname "$0")/../.." && pwd)
here=$root/c-tests/ckpt
target=${1:-$root/target}
profile=${AIS_PROFILE:-debug}
bin=$target/$profile
lib=$bin/lib
CC=${CC:-gcc}
LIMIT=${CKPT_TEST_TIMEOUT:-120}
tmp=$(mktemp -d /tmp/ais-ckpt-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM

for exe in aisexec ais-cfgtool; do
    if [ ! -x "$bin/$exe" ]; then
        echo "ckpt: $bin/$exe not found: build first (cargo build)" >&2
        exit 1
    fi
done
"$root/scripts/link-libs.sh" "$bin" "$lib" >/dev/null || exit 1

passed=0
failed=0
step() { # step <description> <command...>
    what=$1
    shift
    if "$@" > "$tmp/step.log" 2>&1; then
        passed=$((passed + 1))
        grep -h 'passed\|ckpt cluster:\|threads x' "$tmp/step.log" || true
    else
        failed=$((failed + 1))
        echo "ckpt: FAIL: $what" >&2
        sed 's/^/    /' "$tmp/step.log" >&2
    fi
}

build() { # build <name> <library> <extra cflags...>
    name=$1
    src=$2
    library=$3
    shift 3
    $CC -std=gnu99 "$@" -g -I"$root/include" -o "$tmp/$name" "$here/$src.c" \
        -L"$lib" -Wl,-rpath,"$lib" -l"$library" -lpthread
}

step "build ckpt_api" build ckpt_api ckpt_api SaCkpt -Wall -Wextra -Werror
step "build ckpt_api with -lais" build ckpt_api-ais ckpt_api ais -Wall -Wextra -Werror
step "build ckpt_node" build ckpt_node ckpt_node SaCkpt -Wall -Wextra -Werror

for prog in ckpt_api ckpt_api-ais; do
    [ -x "$tmp/$prog" ] || continue
    step "run $prog" timeout -k 10 "$LIMIT" "$root/c-tests/lib/with-exec.sh" "$bin" "$tmp/$prog"
done
if [ -x "$tmp/ckpt_node" ]; then
    step "3-node cluster and failover (cluster.sh)" \
        timeout -k 10 "$LIMIT" "$here/cluster.sh" "$bin" "$tmp/ckpt_node" "$tmp/ckpt_api"
fi

echo "ckpt: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
