# Sourced (POSIX sh) by the c-tests/<area>/run.sh scripts: where the build
# is, the C libraries linked, programs built like an application would
# (-I<repo>/include -l<lib>), and pass/fail counting.
#
#   . "$(dirname "$0")/../lib/common.sh"
#   ctest_init <name> <target-dir|""> <profile>   sets root, here, target (default
#                                              <repo>/target), bin, lib, CC, tmp
#   ctest_need <exe...>                        exit 1 unless $bin/<exe> is built
#   ctest_link [<lib>...]                      scripts/link-libs.sh: always, or
#                                              only if some lib<lib>.so is missing
#   ctest_build <name> <source> <lib> <cflags...>   $tmp/<name> from $here/<source>.c
#   ctest_with_exec <seconds> <command...>     against a fresh single-node executive
#   step <description> <command...>            counted; on success prints the output
#                                              lines matching $step_show (ERE)
#   ctest_finish                               "<name>: N passed, N failed"; status
#
# The calling script must live in c-tests/<area>/ (root is found from $0).

ctest_init() {
    ctest_name=$1
    root=$(cd "$(dirname "$0")/../.." && pwd)
    here=$(cd "$(dirname "$0")" && pwd)
    target=${2:-$root/target}
    bin=$target/$3
    lib=$bin/lib
    CC=${CC:-gcc}
    tmp=$(mktemp -d "/tmp/ais-$1-test.XXXXXX")
    trap 'rm -rf "$tmp"' EXIT
    trap 'exit 130' INT TERM
    passed=0
    failed=0
    step_show='passed,'
}

ctest_need() {
    for exe in "$@"; do
        if [ ! -x "$bin/$exe" ]; then
            echo "$ctest_name: $bin/$exe not found: build first (cargo build)" >&2
            exit 1
        fi
    done
}

ctest_link() {
    for l in "$@"; do # a missing one empties the list: link
        [ -e "$lib/lib$l.so" ] || { set --; break; }
    done
    [ $# -gt 0 ] || "$root/scripts/link-libs.sh" "$bin" "$lib" >/dev/null || exit 1
}

ctest_build() {
    name=$1
    src=$2
    library=$3
    shift 3
    $CC -std=gnu99 "$@" -g -I"$root/include" -o "$tmp/$name" "$here/$src.c" \
        -L"$lib" -Wl,-rpath,"$lib" -l"$library" -lpthread
}

# TERM first (-k: KILL later), so with-exec.sh stops its executive.
ctest_with_exec() { # ctest_with_exec <seconds> <command...>: against a fresh executive
    limit=$1
    shift
    timeout -k 10 "$limit" "$root/c-tests/lib/with-exec.sh" "$bin" "$@"
}

step() {
    what=$1
    shift
    if "$@" > "$tmp/step.log" 2>&1; then
        passed=$((passed + 1))
        grep -hE "$step_show" "$tmp/step.log" || true
    else
        failed=$((failed + 1))
        echo "$ctest_name: FAIL: $what" >&2
        sed 's/^/    /' "$tmp/step.log" >&2
    fi
}

ctest_finish() {
    echo "$ctest_name: $passed passed, $failed failed"
    [ "$failed" -eq 0 ]
}
