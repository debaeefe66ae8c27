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
# The same for each line of rust/capi/compat.list, without lib<name>.so.
# A function exported under another name than its Rust one (symbols/ line
# `name impl`, scripts/lib-exports.sh) is renamed in a copy of the archive
# (objcopy) to name@node or name before the link.
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

. "$root/scripts/lib-exports.sh"
OBJCOPY=${OBJCOPY:-objcopy}

count=0
{
    grep -v '^[[:space:]]*#' "$capi/libraries.list" | awk 'NF { print $0, "dev" }'
    compat_list "$capi" | awk '{ print $0, "compat" }'
} > "$tmp/libraries"
while read -r name major full nodes kind extra; do
    if [ -z "$kind" ] || [ -n "$extra" ]; then
        echo "link-libs: $capi/libraries.list: bad line for '$name'" >&2
        exit 1
    fi
    so=lib$name.so.$full
    exports=$tmp/$so.exports
    library_exports "$capi" "$nodes" > "$exports"
    map=$tmp/$so.map
    : > "$map"
    last=$(echo "$nodes" | tr ',' '\n' | tail -n 1)
    prev=""
    for node in $(echo "$nodes" | tr ',' ' '); do
        # One node per version node, unchained as the classic maps were;
        # except a node after one whose names it shares (B.01.01 after
        # A.01.01), which inherits from it.
        parent=""
        if [ -n "$prev" ] && awk -v n="$prev" '$3 == n && $4 == "@" { f = 1 } END { exit !f }' "$exports"; then
            parent=" $prev"
        fi
        {
            echo "$node {"
            syms=$(awk -v n="$node" '$3 == n && $4 == "@@" { print $1 }' "$exports")
            if [ -n "$syms" ]; then
                echo "    global:"
                echo "$syms" | sed 's/.*/        &;/'
            fi
            if [ "$node" = "$last" ]; then
                echo "    local:"
                echo "        *;"
            fi
            echo "}$parent;"
        } >> "$map"
        prev=$node
    done
    # Pull each export out of the archive (by its versioned name if not the default).
    awk '$4 == "@@" { print "-Wl,-u," $1 } $4 == "@" { print "-Wl,-u," $1 "@" $3 }' "$exports" > "$tmp/$so.undef"
    # Exports of another Rust function than their name: renamed in a copy
    # of the archive to name@node (the linker binds such a name to that
    # node) or, when it is the default, to name (and a function of the
    # archive that has that name is put out of the way).
    lib_archive=$archive
    awk '$1 != $2 && $4 == "@" { print "--redefine-sym=" $2 "=" $1 "@" $3 }
         $1 != $2 && $4 == "@@" { print "--redefine-sym=" $1 "=" $1 "__ais_not_exported"; print "--redefine-sym=" $2 "=" $1 }' \
        "$exports" > "$tmp/$so.renames"
    if [ -s "$tmp/$so.renames" ]; then
        # One copy per set of renames (libSaAmf.so.2 and libais.so.2 share one).
        lib_archive=$tmp/renamed-$(cksum < "$tmp/$so.renames" | cut -d' ' -f1).a
        # shellcheck disable=SC2046
        [ -f "$lib_archive" ] || "$OBJCOPY" $(cat "$tmp/$so.renames") "$archive" "$lib_archive"
    fi
    # shellcheck disable=SC2046
    "$CC" -shared -o "$out/$so" \
        -Wl,-soname,"lib$name.so.$major" \
        -Wl,--version-script="$map" \
        -Wl,--gc-sections \
        -Wl,--no-undefined \
        $(cat "$tmp/$so.undef") \
        "$lib_archive" \
        -Wl,--as-needed -lgcc_s -lutil -lrt -lpthread -ldl -lm -lc
    ln -sf "$so" "$out/lib$name.so.$major"
    [ "$kind" = compat ] || ln -sf "$so" "$out/lib$name.so"
    count=$((count + 1))
done < "$tmp/libraries"
echo "link-libs: linked $count libraries into $out"
