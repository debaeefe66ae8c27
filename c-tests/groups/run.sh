#!/bin/bash
# The EVS and CPG C tests against a live single-node executive.
#
#   c-tests/groups/run.sh [profile [target-dir]]      (profile: debug)
#   c-tests/groups/run.sh --bench [profile [target-dir]] [cpgbench args]
#
# target-dir defaults to $CARGO_TARGET_DIR, else <repo>/target. Needs
# <target-dir>/<profile>/aisexec and the C libraries linked into
# <target-dir>/<profile>/lib (scripts/link-libs.sh; run here if missing).
# The programs are built with only -I<repo>/include and -levs / -lcpg,
# like an application using the installed headers. c-tests/lib/with-exec.sh
# starts the executive (temporary run directory, no config file) and
# always stops it. Each test binary is bounded by `timeout`.
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
bench=no
if [ "${1:-}" = "--bench" ]; then
    bench=yes
    shift
fi
profile=${1:-debug}
target=${2:-${CARGO_TARGET_DIR:-$root/target}}
[ $# -ge 1 ] && shift
[ $# -ge 1 ] && shift
. "$root/c-tests/lib/common.sh"
ctest_init groups "$target" "$profile"
ctest_need aisexec
ctest_link cpg evs

cflags="-std=c99 -D_GNU_SOURCE -Wall -Wextra -Werror -g -I$root/include -I$root/c-tests/groups"
build() { # build <name> <lib>
    $CC $cflags -o "$tmp/$1" "$root/c-tests/groups/$1.c" -L"$lib" -Wl,-rpath,"$lib" -l$2 ||
        { echo "groups: FAIL: cannot build $1" >&2; exit 1; }
}

if [ $bench = yes ]; then
    cflags="-O2 -std=c99 -D_GNU_SOURCE -Wall -I$root/include"
    build cpgbench cpg
    exec "$root/c-tests/lib/with-exec.sh" "$bin" timeout 300 "$tmp/cpgbench" "$@"
fi

build cpg_test "cpg -lpthread"
build evs_test evs
build cpgbench cpg
# Classic prototypes, as C89 too (old programs) and C99.
for std in "-std=c89 -pedantic" "-std=c99 -pedantic"; do
    $CC $std -Wall -Wextra -Werror -I"$root/include" -o "$tmp/prototypes" "$root/c-tests/groups/prototypes.c" \
        -L"$lib" -Wl,-rpath,"$lib" -lcpg -levs || { echo "groups: FAIL: prototypes ($std)" >&2; exit 1; }
done
"$tmp/prototypes" || { echo "groups: FAIL: prototypes" >&2; exit 1; }

cat > "$tmp/all.sh" <<EOF
#!/bin/bash
status=0
for t in cpg_test evs_test; do
    if timeout 60 "$tmp/\$t"; then :; else echo "groups: FAIL: \$t (status \$?)" >&2; status=1; fi
done
# The benchmark runs (briefly) as a smoke test.
if timeout 60 "$tmp/cpgbench" -t 0.3 64 65536 > "$tmp/bench.out"; then
    cat "$tmp/bench.out"
else
    echo "groups: FAIL: cpgbench" >&2; cat "$tmp/bench.out" >&2; status=1
fi
exit \$status
EOF
chmod +x "$tmp/all.sh"
if "$root/c-tests/lib/with-exec.sh" "$bin" "$tmp/all.sh"; then
    echo "groups: all passed"
else
    echo "groups: FAILED" >&2
    exit 1
fi
