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
# version (sym@@NODE); no Rust symbol (_ZN..., rust_..., __rust...) leaks.
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

grep -v '^[[:space:]]*#' "$capi/libraries.list" | awk 'NF' > "$tmp/libraries"
libs=0
while read -r name major full nodes extra; do
    libs=$((libs + 1))
    if [ -z "$nodes" ] || [ -n "$extra" ]; then
        fail "libraries.list: bad line for '$name'"
        continue
    fi
    so=$out/lib$name.so.$full
    if [ ! -f "$so" ]; then
        fail "lib$name: $so not found"
        continue
    fi
    for link in "lib$name.so.$major" "lib$name.so"; do
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
    : > "$tmp/want.syms"
    for node in $(echo "$nodes" | tr ',' ' '); do
        file=$capi/symbols/$node
        if [ ! -f "$file" ]; then
            fail "lib$name: missing symbols file $file"
            continue
        fi
        sed -e 's/#.*//' -e 's/[[:space:]]//g' "$file" | grep -v '^$' | sed "s/\$/@@$node/" >> "$tmp/want.syms" || true
    done
    sort -o "$tmp/want.syms" "$tmp/want.syms"
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
