#!/bin/sh
# The pkg-config test: `make install DESTDIR=<stage>`, then build main.c with
# only the flags `pkg-config --cflags --libs libSaCkpt` gives for the stage,
# run it against the staged libraries, and check that `make uninstall`
# leaves nothing behind. Installs the debug build (AIS_PROFILE=release: the
# release one).
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
here=$root/c-tests/pkgconfig
MAKE=${MAKE:-make}
profile=${AIS_PROFILE:-debug}   # the cargo profile to install
CC=${CC:-gcc}
PREFIX=/usr/local
stage=$(mktemp -d /tmp/ais-pc-stage.XXXXXX)
trap 'rm -rf "$stage"' EXIT INT TERM

"$MAKE" -s -C "$root" install PROFILE="$profile" PREFIX="$PREFIX" DESTDIR="$stage/root" STRIP=1 >/dev/null
# STRIP=1: no symbol table left in the programs and libraries.
for f in "$stage/root$PREFIX/sbin/aisexec" "$stage/root$PREFIX/lib/libSaCkpt.so".*.*.*; do
    if readelf -S "$f" | grep -q '\.symtab'; then echo "pkgconfig: $f not stripped" >&2; exit 1; fi
done
# The classic include path and the lowercase pkg-config names.
[ -f "$stage/root$PREFIX/include/openais/saAis.h" ] || { echo "pkgconfig: no include/openais/saAis.h" >&2; exit 1; }

# The tree: every library of libraries.list with its links, and nothing that
# the manifest does not list.
lib=$stage/root$PREFIX/lib
grep -v '^[[:space:]]*#' "$root/rust/capi/libraries.list" | awk 'NF' |
while read -r name major full _nodes; do
    so=lib$name.so
    if ! { [ -f "$lib/$so.$full" ] && [ ! -L "$lib/$so.$full" ] &&
        [ "$(readlink "$lib/$so.$major")" = "$so.$full" ] &&
        [ "$(readlink "$lib/$so")" = "$so.$major" ]; }; then
        echo "pkgconfig: $so.$full or its links are wrong" >&2
        exit 1
    fi
    case $name in
        Sa*) [ "$(readlink "$lib/libsa${name#Sa}.so")" = "$so" ] ||
            { echo "pkgconfig: libsa${name#Sa}.so missing" >&2; exit 1; } ;;
    esac
done
# The compatibility libraries (compat.list): the file and its soname link.
grep -v '^[[:space:]]*#' "$root/rust/capi/compat.list" | awk 'NF' |
while read -r name major full _nodes; do
    so=lib$name.so
    if ! { [ -f "$lib/$so.$full" ] && [ ! -L "$lib/$so.$full" ] &&
        [ "$(readlink "$lib/$so.$major")" = "$so.$full" ]; }; then
        echo "pkgconfig: compatibility library $so.$full or its link is wrong" >&2
        exit 1
    fi
done
manifest=$lib/ais/install-manifest
(cd "$stage/root" && find . ! -type d | sed 's/^\.//' | sort) > "$stage/found"
{ sed -n 's/^[fl] //p' "$manifest"; echo "$PREFIX/lib/ais/install-manifest"; } | sort > "$stage/listed"
if ! cmp -s "$stage/found" "$stage/listed"; then
    echo "pkgconfig: installed files differ from the manifest:" >&2
    diff "$stage/listed" "$stage/found" >&2
    exit 1
fi

export PKG_CONFIG_PATH="$stage/root$PREFIX/lib/pkgconfig"
export PKG_CONFIG_SYSROOT_DIR="$stage/root"
export PKG_CONFIG_LIBDIR="$PKG_CONFIG_PATH"   # nothing from the machine
for pc in libSaClm libSaCkpt libSaEvt libSaAmf libSaLck libSaMsg libais libevs libcpg libsaCkpt libsaClm; do
    pkg-config --exists "$pc" || { echo "pkgconfig: $pc.pc missing or invalid" >&2; exit 1; }
done
flags=$(pkg-config --cflags --libs libSaCkpt)
echo "pkg-config --cflags --libs libSaCkpt: $flags"
# --no-as-needed: the program calls no library function yet, and must still
# depend on (and load) libSaCkpt.so.2.
# shellcheck disable=SC2086
"$CC" -Wall -Wextra -Werror -o "$stage/prog" "$here/main.c" -Wl,--no-as-needed $flags
LD_LIBRARY_PATH="$stage/root$PREFIX/lib" "$stage/prog" "$stage/root$PREFIX/lib/"

"$MAKE" -s -C "$root" uninstall PREFIX="$PREFIX" DESTDIR="$stage/root" >/dev/null
left=$(find "$stage/root" -mindepth 1)
if [ -n "$left" ]; then
    echo "pkgconfig: make uninstall left behind:" >&2
    echo "$left" >&2
    exit 1
fi
echo "pkgconfig: install, build, run and uninstall: ok"
