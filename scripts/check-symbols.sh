#!/bin/sh
# Checks the linked C libraries against rust/capi/libraries.list and
# rust/capi/symbols/.
#
#   scripts/check-symbols.sh <out-dir>      (the out-dir of link-libs.sh)
#
# For every library: lib<name>.so.<full> exists, with the links
# lib<name>.so.<major> and lib<name>.so; its SONAME is lib<name>.so.<major>;
# its version definitions (readelf -V) are exactly the listed nodes; its
# exported symbols (defined, non-ABS dynamic symbols) are exactly the union
# of symbols/<node> for its nodes, each bound to its node as the default
# version (sym@@NODE), or as sym@NODE where scripts/lib-exports.sh says so;
# no Rust symbol (_ZN..., rust_..., __rust...) leaks. The same for the
# compatibility libraries of rust/capi/compat.list (no lib<name>.so link).
# Exits non-zero, naming each difference, otherwise.
# AIS_CAPI_DIR overrides rust/capi (for the scripts' own tests).
set -eu

if [ $# -ne 1 ]; then
    echo "usage: $0 <out-dir>" >&2
    exit 2
fi
out=$1
root=$(cd "$(dirname "$0")/.." && pwd)
capi=${AIS_CAPI_DIR:-$root/rust/capi}
READELF=${READELF:-readelf}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

failures=0
fail() {
    echo "check-symbols: $*" >&2
    failures=$((failures + 1))
}

. "$root/scripts/lib-exports.sh"
{
    grep -v '^[[:space:]]*#' "$capi/libraries.list" | awk 'NF { print $0, "dev" }'
    compat_list "$capi" | awk '{ print $0, "compat" }'
} > "$tmp/libraries"
libs=0
while read -r name major full nodes kind extra; do
    libs=$((libs + 1))
    if [ -z "$kind" ] || [ -n "$extra" ]; then
        fail "libraries.list: bad line for '$name'"
        continue
    fi
    so=$out/lib$name.so.$full
    if [ ! -f "$so" ]; then
        fail "lib$name: $so not found"
        continue
    fi
    links="lib$name.so.$major lib$name.so"
    # A compatibility library has no development link.
    [ "$kind" = dev ] || links="lib$name.so.$major"
    for link in $links; do
        target=$(readlink "$out/$link" 2>/dev/null || true)
        [ "$target" = "lib$name.so.$full" ] ||
            fail "lib$name: $out/$link should link to lib$name.so.$full (is '${target:-missing}')"
    done

    soname=$("$READELF" -d "$so" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
    [ "$soname" = "lib$name.so.$major" ] ||
        fail "lib$name: SONAME is '${soname:-none}', expected lib$name.so.$major"

    # Version definitions, without the BASE one (the soname).
    "$READELF" -V -W "$so" | awk '/Version definition section/ { d = 1; next }
        /^$|section/ { if (d) d = 0 }
        d && /Name:/ && !/Flags: BASE/ { print $NF }' | sort > "$tmp/have.nodes"
    echo "$nodes" | tr ',' '\n' | sort > "$tmp/want.nodes"
    if ! cmp -s "$tmp/want.nodes" "$tmp/have.nodes"; then
        fail "lib$name: version nodes differ from libraries.list (- listed, + in $so):"
        diff "$tmp/want.nodes" "$tmp/have.nodes" | grep '^[<>]' | sed 's/^</  -/; s/^>/  +/' >&2
    fi

    # Exported symbols as name@@node, from the defined, non-ABS entries.
    "$READELF" --dyn-syms -W "$so" | awk '$1 ~ /^[0-9]+:$/ && $7 != "UND" && $7 != "ABS" &&
        ($5 == "GLOBAL" || $5 == "WEAK" || $5 == "UNIQUE") { print $8 }' | sort > "$tmp/have.syms"
    for node in $(echo "$nodes" | tr ',' ' '); do
        [ -f "$capi/symbols/$node" ] || fail "lib$name: missing symbols file $capi/symbols/$node"
    done
    library_exports "$capi" "$nodes" | awk '{ print $1 $4 $3 }' | sort > "$tmp/want.syms"
    if ! cmp -s "$tmp/want.syms" "$tmp/have.syms"; then
        fail "lib$name: exported symbols differ from symbols/ (- listed but not exported as sym@@node, + exported but not listed):"
        diff "$tmp/want.syms" "$tmp/have.syms" | grep '^[<>]' | sed 's/^</  -/; s/^>/  +/' >&2
    fi
    if grep -E '^(_ZN|_R|rust_|__rust)' "$tmp/have.syms" >&2; then
        fail "lib$name: Rust symbols are exported (above)"
    fi
done < "$tmp/libraries"

if [ "$failures" -ne 0 ]; then
    echo "check-symbols: FAILED: $failures problem(s) in $out" >&2
    exit 1
fi
echo "check-symbols: $libs libraries in $out match libraries.list and symbols/"
