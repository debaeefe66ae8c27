#!/bin/sh
# Links the C libraries from the ais-capi static archive.
#
#   scripts/link-libs.sh <cargo-profile-dir> <out-dir>
#   e.g. scripts/link-libs.sh target/release target/release/lib
#
# For each line of rust/capi/libraries.list (name, soname major, full
# version, version nodes) this writes <out-dir>/lib<name>.so.<full> with
# soname lib<name>.so.<major> and the links lib<name>.so.<major> and
# lib<name>.so. The exported functions are those of rust/capi/symbols/<node>
# for each of the library's nodes, bound to that node by a generated version
# script; `local: *;` hides everything else (Rust symbols, helpers, std).
#
# Why not a cdylib: rustc passes its own version script to the linker for a
# cdylib, and ours then does not take (the symbols come out unversioned), so
# we link the staticlib ourselves. `-u <symbol>` pulls each exported
# function out of the archive; --gc-sections drops what none of them reach.
# This script does not run cargo: build `-p ais-capi` first (the Makefile
# does). AIS_CAPI_DIR overrides rust/capi (for the scripts' own tests).
set -eu

if [ $# -ne 2 ]; then
    echo "usage: $0 <cargo-profile-dir> <out-dir>" >&2
    exit 2
fi
profile=$1
out=$2
root=$(cd "$(dirname "$0")/.." && pwd)
capi=${AIS_CAPI_DIR:-$root/rust/capi}
archive=$profile/libais_capi.a
CC=${CC:-gcc}

[ -f "$archive" ] || { echo "link-libs: $archive not found (run cargo build -p ais-capi first)" >&2; exit 1; }
mkdir -p "$out"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM

# The exported functions of a version node, one a line (comments and blank
# lines in the symbols file are skipped).
node_symbols() {
    file=$capi/symbols/$1
    [ -f "$file" ] || { echo "link-libs: missing $file" >&2; return 1; }
    sed -e 's/#.*//' -e 's/[[:space:]]//g' "$file" | grep -v '^$' || true
}

count=0
grep -v '^[[:space:]]*#' "$capi/libraries.list" | awk 'NF' > "$tmp/libraries"
while read -r name major full nodes extra; do
    if [ -z "$nodes" ] || [ -n "$extra" ]; then
        echo "link-libs: $capi/libraries.list: bad line for '$name'" >&2
        exit 1
    fi
    map=$tmp/lib$name.map
    : > "$map"
    : > "$tmp/$name.undef"
    last=$(echo "$nodes" | tr ',' '\n' | tail -n 1)
    for node in $(echo "$nodes" | tr ',' ' '); do
        # One node per version node, unchained, as the classic maps were.
        {
            echo "$node {"
            syms=$(node_symbols "$node")
            if [ -n "$syms" ]; then
                echo "    global:"
                echo "$syms" | sed 's/.*/        &;/'
            fi
            if [ "$node" = "$last" ]; then
                echo "    local:"
                echo "        *;"
            fi
            echo "};"
        } >> "$map"
        node_symbols "$node" | sed 's/^/-Wl,-u,/' >> "$tmp/$name.undef"
    done
    so=lib$name.so.$full
    # shellcheck disable=SC2046
    "$CC" -shared -o "$out/$so" \
        -Wl,-soname,"lib$name.so.$major" \
        -Wl,--version-script="$map" \
        -Wl,--gc-sections \
        -Wl,--no-undefined \
        $(cat "$tmp/$name.undef") \
        "$archive" \
        -Wl,--as-needed -lgcc_s -lutil -lrt -lpthread -ldl -lm -lc
    ln -sf "$so" "$out/lib$name.so.$major"
    ln -sf "$so" "$out/lib$name.so"
    count=$((count + 1))
done < "$tmp/libraries"
echo "link-libs: linked $count libraries into $out"
