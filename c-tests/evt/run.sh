#!/bin/sh
# The event service C tests: the API test against a live single-node
# executive (with -lSaEvt and with -lais), a classic-style program built
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

root=$(cd "$(dirname "$0")/../.." && pwd)
here=$root/c-tests/evt
target=${1:-$root/target}
profile=${AIS_PROFILE:-debug}
bin=$target/$profile
lib=$bin/lib
CC=${CC:-gcc}
LIMIT=${EVT_TEST_TIMEOUT:-120}
tmp=$(mktemp -d /tmp/ais-evt-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM

for exe in aisexec ais-cfgtool; do
    if [ ! -x "$bin/$exe" ]; then
        echo "evt: $bin/$exe not found: build first (cargo build)" >&2
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
        grep -h 'passed,\|evt cluster:' "$tmp/step.log" || true
    else
        failed=$((failed + 1))
        echo "evt: FAIL: $what" >&2
        sed 's/^/    /' "$tmp/step.log" >&2
    fi
}

build() { # build <name> <source> <library> <extra cflags...>
    name=$1
    src=$2
    library=$3
    shift 3
    $CC -std=gnu99 "$@" -g -I"$root/include" -o "$tmp/$name" "$here/$src.c" \
        -L"$lib" -Wl,-rpath,"$lib" -l"$library" -lpthread
}

step "build evt_api" build evt_api evt_api SaEvt -Wall -Wextra -Werror
step "build evt_api with -lais" build evt_api-ais evt_api ais -Wall -Wextra -Werror
step "build evt_node" build evt_node evt_node SaEvt -Wall -Wextra -Werror
# A program in the classic style, built as it is: only -I.../corosync.
step "build classic-style program unchanged" \
    $CC -std=gnu99 -I"$root/include/corosync" -o "$tmp/classic" "$here/classic_subscriber.c" \
    -L"$lib" -Wl,-rpath,"$lib" -lSaEvt

for prog in evt_api evt_api-ais; do
    [ -x "$tmp/$prog" ] || continue
    step "run $prog" timeout -k 10 "$LIMIT" "$root/c-tests/lib/with-exec.sh" "$bin" "$tmp/$prog"
done
if [ -x "$tmp/classic" ]; then
    step "run classic-style program" timeout -k 10 "$LIMIT" "$root/c-tests/lib/with-exec.sh" "$bin" "$tmp/classic"
fi
if [ -x "$tmp/evt_node" ]; then
    step "3-node cluster (cluster.sh)" \
        timeout -k 10 "$LIMIT" "$here/cluster.sh" "$bin" "$tmp/evt_node" "$tmp/evt_api"
fi

echo "evt: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
