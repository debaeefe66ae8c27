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

root=$(cd "$(dirname "$0")/../.." && pwd)
here=$root/c-tests/clm
target=${1:-$root/target}
profile=${AIS_PROFILE:-debug}
bin=$target/$profile
lib=$bin/lib
CC=${CC:-gcc}
LIMIT=${CLM_TEST_TIMEOUT:-60}
tmp=$(mktemp -d /tmp/ais-clm-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM

if [ ! -x "$bin/aisexec" ]; then
    echo "clm: $bin/aisexec not found: build first (cargo build)" >&2
    exit 1
fi
if [ ! -e "$lib/libSaClm.so" ]; then
    "$root/scripts/link-libs.sh" "$bin" "$lib" >/dev/null || exit 1
fi

passed=0
failed=0
step() { # step <description> <command...>
    what=$1
    shift
    if "$@" > "$tmp/step.log" 2>&1; then
        passed=$((passed + 1))
        grep -hE 'passed,|^clm-cluster:' "$tmp/step.log" || true
    else
        failed=$((failed + 1))
        echo "clm: FAIL: $what" >&2
        sed 's/^/    /' "$tmp/step.log" >&2
    fi
}

build() { # build <name> <extra cflags...>
    name=$1
    shift
    $CC -std=gnu99 "$@" -g -I"$root/include" -o "$tmp/$name" "$here/$name.c" \
        -L"$lib" -Wl,-rpath,"$lib" -lSaClm
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
step "build clmtest with -lais" $CC -std=gnu99 -Wall -g -I"$root/include" -o "$tmp/clmtest-ais" \
    "$here/clmtest.c" -L"$lib" -Wl,-rpath,"$lib" -lais

for prog in clm_api clm_api-asan clmtest clmtest-ais; do
    [ -x "$tmp/$prog" ] || continue
    # TERM first, so with-exec.sh stops its executive.
    step "run $prog" timeout -k 10 "$LIMIT" "$root/c-tests/lib/with-exec.sh" "$bin" "$tmp/$prog"
done

# Three executives: agreement, and tracking across kill -9 and rejoin.
step "3-node cluster (cluster.sh)" timeout -k 10 120 "$here/cluster.sh" "$target"

echo "clm: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
