#!/bin/sh
# The ABI tests of the public headers, and the self-test of the link
# scripts. Needs gcc only (g++ and valgrind are used when present).
#
#   c-tests/run-abi.sh
#
# 1. Every header of rust/capi/headers.list compiles alone, with
#    -Wall -Wextra -Werror, as C89/gnu89/C99/C11 (pedantic where the
#    standard allows) and C++98/C++11 when g++ exists, both as
#    <corosync/X.h> with -Iinclude and as <X.h> with -Iinclude/corosync
#    (the pkg-config way).
# 2. c-tests/abi/abi_<stem>.c, one per header, is built and run: as C99
#    -pedantic, with -fsanitize=address,undefined, under valgrind when
#    present, and as C++11 when g++ exists (where enums are checked to be
#    enums).
# 3. c-tests/abi/classic/<stem>.c, one per header: the openais 0.80.6
#    declarations item by item (generated once by
#    scripts/abi-from-classic.py; skip.h lists what is left out), built and
#    run as C99 -pedantic and as C++11 when g++ exists. A function skipped
#    there must be neither declared by our header nor exported. The
#    classic libraries' sonames and version nodes (classic/libraries.txt)
#    are those of rust/capi/libraries.list; each function we export is
#    defined in the same version node by the classic library (or there
#    without a version, classic/symbols.txt), and a node we export
#    anything from has every classic function of that node: a binary
#    linked against the classic libraries finds each name@node in ours.
# 4. c-tests/abi/link-selftest.sh (link-libs.sh and check-symbols.sh).
# Ends with "run-abi: N passed, N failed"; exits non-zero on any failure.
set -u

root=$(cd "$(dirname "$0")/.." && pwd)
CC=${CC:-gcc}
CXX=${CXX:-g++}
WARN="-Wall -Wextra -Werror"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
passed=0
failed=0
step() { # step <description> <command...>: run, count, show output on failure
    what=$1
    shift
    if "$@" > "$tmp/step.log" 2>&1; then
        passed=$((passed + 1))
    else
        failed=$((failed + 1))
        echo "run-abi: FAIL: $what" >&2
        sed 's/^/    /' "$tmp/step.log" >&2
    fi
}

have_cxx=no
command -v "$CXX" > /dev/null 2>&1 && have_cxx=yes
[ $have_cxx = yes ] || echo "run-abi: $CXX not found: skipping the C++ builds"

headers=$(grep -v '^[[:space:]]*#' "$root/rust/capi/headers.list" | awk 'NF { print $1 }')

# 1. Each header on its own, in every dialect an old program may use.
for h in $headers; do
    printf '#include <corosync/%s>\nint main(void) { return 0; }\n' "$h" > "$tmp/inc.c"
    printf '#include <%s>\nint main(void) { return 0; }\n' "$h" > "$tmp/inc2.c"
    for std in "-std=c89 -pedantic" "-std=gnu89" "-std=c99 -pedantic" "-std=c11 -pedantic"; do
        # shellcheck disable=SC2086
        step "$h compiles with $CC $std" $CC $std $WARN -I"$root/include" -c -o "$tmp/inc.o" "$tmp/inc.c"
    done
    # shellcheck disable=SC2086
    step "$h compiles as <$h> with -Iinclude/corosync" $CC -std=gnu99 $WARN -I"$root/include/corosync" -c -o "$tmp/inc.o" "$tmp/inc2.c"
    if [ $have_cxx = yes ]; then
        for std in "-std=c++98 -pedantic" "-std=c++11 -pedantic"; do
            # shellcheck disable=SC2086
            step "$h compiles with $CXX $std" $CXX -x c++ $std $WARN -I"$root/include" -c -o "$tmp/inc.o" "$tmp/inc.c"
        done
    fi
done

# 2. The ABI test of each header.
for h in $headers; do
    stem=${h%.h}
    src=$root/c-tests/abi/abi_$stem.c
    if [ ! -f "$src" ]; then
        failed=$((failed + 1))
        echo "run-abi: FAIL: $h has no ABI test (c-tests/abi/abi_$stem.c)" >&2
        continue
    fi
    bin=$tmp/abi_$stem
    # shellcheck disable=SC2086
    step "build abi_$stem (C99)" $CC -std=c99 -pedantic $WARN -g -I"$root/include" -o "$bin" "$src" &&
        step "run abi_$stem" "$bin"
    [ -x "$bin" ] && cat "$tmp/step.log"
    # shellcheck disable=SC2086
    if $CC -std=c99 $WARN -g -fsanitize=address,undefined -fno-sanitize-recover=all \
        -I"$root/include" -o "$bin-asan" "$src" > "$tmp/asan.log" 2>&1; then
        step "run abi_$stem under ASan+UBSan" "$bin-asan"
    else
        echo "run-abi: cannot build with -fsanitize=address,undefined here: skipped" >&2
        sed 's/^/    /' "$tmp/asan.log" >&2
    fi
    if command -v valgrind > /dev/null 2>&1; then
        step "run abi_$stem under valgrind" valgrind -q --error-exitcode=99 --leak-check=full "$bin"
    fi
    if [ $have_cxx = yes ]; then
        # shellcheck disable=SC2086
        step "build abi_$stem (C++11)" $CXX -x c++ -std=c++11 -pedantic $WARN -I"$root/include" -o "$bin-cxx" "$src" &&
            step "run abi_$stem (C++11)" "$bin-cxx"
    fi
done
# Each ABI test belongs to a listed header.
for src in "$root"/c-tests/abi/abi_*.c; do
    [ -e "$src" ] || continue
    stem=$(basename "$src" .c)
    stem=${stem#abi_}
    printf '%s\n' "$headers" | grep -qx "$stem.h" ||
        { failed=$((failed + 1)); echo "run-abi: FAIL: $src tests $stem.h, which headers.list does not list" >&2; }
done

# 3. Against the classic declarations.
classic=$root/c-tests/abi/classic
# Hand-written headers (headers.list: "-") have no openais 0.80.6
# counterpart (ais_amf.h is the 0.70.1 API; abi_ais_amf.c holds its numbers).
generated=$(grep -v '^[[:space:]]*#' "$root/rust/capi/headers.list" | awk 'NF && $2 != "-" { print $1 }')
for h in $generated; do
    stem=${h%.h}
    src=$classic/$stem.c
    if [ ! -f "$src" ]; then
        failed=$((failed + 1))
        echo "run-abi: FAIL: $h has no classic check (run scripts/abi-from-classic.py)" >&2
        continue
    fi
    bin=$tmp/classic_$stem
    # shellcheck disable=SC2086
    step "build classic/$stem.c (C99)" $CC -std=c99 -pedantic $WARN -I"$root/include" -o "$bin" "$src" &&
        step "run classic/$stem.c" "$bin"
    [ -x "$bin" ] && cat "$tmp/step.log"
    if [ $have_cxx = yes ]; then
        # shellcheck disable=SC2086
        step "build classic/$stem.c (C++11)" $CXX -x c++ -std=c++11 -pedantic $WARN -I"$root/include" -o "$bin-cxx" "$src" &&
            step "run classic/$stem.c (C++11)" "$bin-cxx"
    fi
done
for f in $(sed -n 's/^#define ABI_SKIP_\([A-Za-z0-9_]*\).*/\1/p' "$classic/skip.h"); do
    if grep -q "[^A-Za-z0-9_]$f(" "$root"/include/corosync/*.h; then
        failed=$((failed + 1))
        echo "run-abi: FAIL: $f is declared by our header: remove it from c-tests/abi/classic/skip.h" >&2
    fi
    if grep -qx "$f" "$root"/rust/capi/symbols/*; then
        failed=$((failed + 1))
        echo "run-abi: FAIL: $f is exported: remove it from c-tests/abi/classic/skip.h" >&2
    fi
done
# The nodes of the compatibility libraries (rust/capi/compat.list: AMF
# A.01.01 of openais <= 0.70.1) are older than 0.80.6: not compared here
# (c-tests/amf checks them).
older=$(grep -v '^[[:space:]]*#' "$root/rust/capi/compat.list" | awk 'NF { print $4 }' | tr ',' ' ')
grep -v '^[[:space:]]*#' "$root/rust/capi/libraries.list" | awk -v older="$older" 'BEGIN { split(older, o, " "); for (i in o) skip[o[i]] = 1 }
NF {
    m = split($4, all, ",")
    n = 0
    for (i = 1; i <= m; i++) if (!(all[i] in skip)) nodes[++n] = all[i]
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++)
        if (nodes[j] < nodes[i]) { t = nodes[i]; nodes[i] = nodes[j]; nodes[j] = t }
    line = "lib" $1 ".so." $2 " " nodes[1]
    for (i = 2; i <= n; i++) line = line "," nodes[i]
    print line
}' | sort > "$tmp/ours.libs"
grep -v '^#' "$classic/libraries.txt" | sort > "$tmp/classic.libs"
if ! diff "$tmp/classic.libs" "$tmp/ours.libs" > "$tmp/libs.diff"; then
    failed=$((failed + 1))
    echo "run-abi: FAIL: sonames / version nodes differ from the classic libraries (< classic, > ours):" >&2
    sed 's/^/    /' "$tmp/libs.diff" >&2
fi
for file in "$root"/rust/capi/symbols/*; do
    node=$(basename "$file")
    case " $older " in *" $node "*) continue ;; esac
    grep -v '^[[:space:]]*#' "$file" | awk 'NF { print $1 }' | sort > "$tmp/ours.syms"
    [ -s "$tmp/ours.syms" ] || continue
    awk -v n="$node" '$1 == n || $1 == "-" { print $2 }' "$classic/symbols.txt" | sort > "$tmp/classic.syms"
    awk -v n="$node" '$1 == n { print $2 }' "$classic/symbols.txt" | sort > "$tmp/classic.node"
    for f in $(comm -23 "$tmp/ours.syms" "$tmp/classic.syms"); do
        failed=$((failed + 1))
        echo "run-abi: FAIL: $f is exported in $node; the classic library has it elsewhere or not at all" >&2
    done
    for f in $(comm -13 "$tmp/ours.syms" "$tmp/classic.node"); do
        failed=$((failed + 1))
        echo "run-abi: FAIL: the classic $node defines $f; ours does not export it" >&2
    done
done

# 4. The link scripts.
step "link-libs.sh / check-symbols.sh self-test" "$root/c-tests/abi/link-selftest.sh"
tail -n 1 "$tmp/step.log"

echo "run-abi: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
