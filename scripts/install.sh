#!/bin/sh
# Installs or uninstalls the built tree; `make install`/`make uninstall` and
# `cmake --install` both run this, so the two install the same files.
#
#   scripts/install.sh install <bin-dir> <lib-dir>
#   scripts/install.sh uninstall
#
# <bin-dir> holds aisexec, ais-keygen and ais-cfgtool (target/release);
# <lib-dir> the output of scripts/link-libs.sh (target/release/lib).
#
# Directories come from the environment; empty or unset means the default:
#   PREFIX          /usr/local
#   LIBDIR          $PREFIX/lib
#   INCLUDEDIR      $PREFIX/include
#   SBINDIR         $PREFIX/sbin
#   SYSCONFDIR      /etc if PREFIX is /usr, else $PREFIX/etc
#   MANDIR          $PREFIX/share/man
#   SYSTEMDUNITDIR  $PREFIX/lib/systemd/system
#   DESTDIR         (none) staging root, prepended to every path
#   STRIP=1         strip the installed programs and libraries
#
# Install only installs: it never builds, so `sudo make install` works
# after `make` without cargo on root's PATH.
#
# Libraries, pkg-config files and CMake targets come from
# rust/capi/libraries.list; compatibility libraries (no development link,
# no pkg-config file) from rust/capi/compat.list. Every file, link and directory that install
# creates is recorded in $LIBDIR/ais/install-manifest; uninstall removes
# exactly those (directories only when empty), then the manifest.
set -eu

root=$(cd "$(dirname "$0")/.." && pwd)
PREFIX=${PREFIX:-/usr/local}
PREFIX=${PREFIX%/}
LIBDIR=${LIBDIR:-$PREFIX/lib}
INCLUDEDIR=${INCLUDEDIR:-$PREFIX/include}
SBINDIR=${SBINDIR:-$PREFIX/sbin}
if [ "$PREFIX" = /usr ]; then SYSCONFDIR=${SYSCONFDIR:-/etc}; else SYSCONFDIR=${SYSCONFDIR:-$PREFIX/etc}; fi
MANDIR=${MANDIR:-$PREFIX/share/man}
SYSTEMDUNITDIR=${SYSTEMDUNITDIR:-$PREFIX/lib/systemd/system}
DESTDIR=${DESTDIR:-}
DESTDIR=${DESTDIR%/}
MANIFEST=$LIBDIR/ais/install-manifest
for d in "$PREFIX" "$LIBDIR" "$INCLUDEDIR" "$SBINDIR" "$SYSCONFDIR" "$MANDIR" "$SYSTEMDUNITDIR"; do
    case $d in /*) ;; *) echo "install: '$d' is not an absolute path" >&2; exit 1 ;; esac
done
BINARIES="aisexec ais-keygen ais-cfgtool ais-cpgtool"
VERSION=$(sed -n 's/^version *= *"\(.*\)"/\1/p' "$root/Cargo.toml" | head -n 1)

die() { echo "install: $*" >&2; exit 1; }

# The library table without comments: name major full nodes.
libraries() { grep -v '^[[:space:]]*#' "$root/rust/capi/libraries.list" | awk 'NF'; }

# $1 relative to $PREFIX as ${prefix}/..., for pkg-config; else as is.
pc_path() { case $1 in "$PREFIX"/*) echo "\${prefix}${1#"$PREFIX"}" ;; *) echo "$1" ;; esac; }

record() { echo "$1 $2" >> "$new_manifest"; }

# mkdir -p that records each directory it creates.
make_dir() {
    path="" rest=${1#/}
    while [ -n "$rest" ]; do
        case $rest in */*) part=${rest%%/*} rest=${rest#*/} ;; *) part=$rest rest="" ;; esac
        [ -n "$part" ] || continue
        path=$path/$part
        if [ ! -d "$DESTDIR$path" ]; then
            mkdir "$DESTDIR$path"
            record d "$path"
        fi
    done
}

# put_binary MODE SRC DEST: a program or library, stripped with STRIP=1.
put_binary() {
    put "$@"
    if [ "${STRIP:-0}" = 1 ]; then strip --strip-unneeded "$DESTDIR$3"; fi
}

# put MODE SRC DEST: install one file.
put() {
    [ -f "$2" ] || die "$2 not found"
    make_dir "$(dirname "$3")"
    install -m "$1" "$2" "$DESTDIR$3"
    record f "$3"
}

# link TARGET NAME: a symbolic link NAME -> TARGET.
link() {
    make_dir "$(dirname "$2")"
    ln -sfn "$1" "$DESTDIR$2"
    record l "$2"
}

# subst TEMPLATE OUT: @VAR@ replaced by the values above; "##" lines dropped.
subst() {
    sed -e "s|@PREFIX@|$PREFIX|g" -e "s|@LIBDIR@|$LIBDIR|g" \
        -e "s|@INCLUDEDIR@|$INCLUDEDIR|g" -e "s|@SBINDIR@|$SBINDIR|g" \
        -e "s|@SYSCONFDIR@|$SYSCONFDIR|g" -e "s|@VERSION@|$VERSION|g" \
        -e "s|@PC_LIBDIR@|$(pc_path "$LIBDIR")|g" \
        -e "s|@PC_INCLUDEDIR@|$(pc_path "$INCLUDEDIR")|g" \
        -e "s|@REL_INCLUDEDIR@|$rel_includedir|g" \
        -e "s|@LIBRARIES@|$cmake_libraries|g" \
        -e "s|@NAME@|${name:-}|g" -e "/^##/d" "$1" > "$2"
}

do_install() {
    bindir=$1 libdir=$2
    tmp=$(mktemp -d)
    # The manifest is written even when install fails half way, so that
    # uninstall can remove what it did put there.
    trap 'write_manifest; rm -rf "$tmp"' EXIT
    trap 'exit 1' INT TERM
    new_manifest=$tmp/manifest
    : > "$new_manifest"
    [ -z "$DESTDIR" ] || mkdir -p "$DESTDIR"
    # Keep what an earlier install recorded (directories it created above all).
    [ -f "$DESTDIR$MANIFEST" ] && cat "$DESTDIR$MANIFEST" >> "$new_manifest"

    for b in $BINARIES; do
        [ -f "$bindir/$b" ] || die "$bindir/$b not found: build first (make, or make build-debug for PROFILE=debug)"
    done
    for b in $BINARIES; do put_binary 0755 "$bindir/$b" "$SBINDIR/$b"; done

    set -- "$root"/include/corosync/*.h
    [ -f "$1" ] || die "no headers in $root/include/corosync"
    for h in "$@"; do put 0644 "$h" "$INCLUDEDIR/corosync/${h##*/}"; done
    # Classic programs include <openais/saAis.h>.
    link corosync "$INCLUDEDIR/openais"

    rel_includedir=$(realpath -m -s --relative-to="$LIBDIR/cmake/Ais" "$INCLUDEDIR")
    cmake_libraries=""
    libraries > "$tmp/libraries"
    while read -r name major full _nodes; do
        so=lib$name.so
        put_binary 0755 "$libdir/$so.$full" "$LIBDIR/$so.$full"
        link "$so.$full" "$LIBDIR/$so.$major"
        link "$so.$major" "$LIBDIR/$so"
        case $name in
            Sa*) link "$so" "$LIBDIR/libsa${name#Sa}.so" ;;
        esac
        subst "$root/pkgconfig/lib.pc.in" "$tmp/lib$name.pc"
        put 0644 "$tmp/lib$name.pc" "$LIBDIR/pkgconfig/lib$name.pc"
        case $name in
            Sa*) link "lib$name.pc" "$LIBDIR/pkgconfig/libsa${name#Sa}.pc" ;;
        esac
        cmake_libraries="$cmake_libraries $name:$major:$full"
    done < "$tmp/libraries"
    name=""
    cmake_libraries=${cmake_libraries# }
    # Compatibility libraries (rust/capi/compat.list, e.g. libSaAmf.so.1 for
    # AMF A.01.01 binaries): the runtime file and its soname link only.
    grep -v '^[[:space:]]*#' "$root/rust/capi/compat.list" | awk 'NF' > "$tmp/compat"
    while read -r name major full _nodes; do
        put_binary 0755 "$libdir/lib$name.so.$full" "$LIBDIR/lib$name.so.$full"
        link "lib$name.so.$full" "$LIBDIR/lib$name.so.$major"
    done < "$tmp/compat"
    name=""

    subst "$root/cmake/AisConfig.cmake.in" "$tmp/AisConfig.cmake"
    subst "$root/cmake/AisConfigVersion.cmake.in" "$tmp/AisConfigVersion.cmake"
    put 0644 "$tmp/AisConfig.cmake" "$LIBDIR/cmake/Ais/AisConfig.cmake"
    put 0644 "$tmp/AisConfigVersion.cmake" "$LIBDIR/cmake/Ais/AisConfigVersion.cmake"

    put 0644 "$root/conf/corosync.conf.example" "$SYSCONFDIR/ais/corosync.conf.example"
    put 0644 "$root/conf/corosync.conf.example.udpu" "$SYSCONFDIR/ais/corosync.conf.example.udpu"
    for page in "$root"/man/*.[1-8]; do
        put 0644 "$page" "$MANDIR/man${page##*.}/${page##*/}"
    done
    subst "$root/init/aisexec.service.in" "$tmp/aisexec.service"
    put 0644 "$tmp/aisexec.service" "$SYSTEMDUNITDIR/aisexec.service"
    subst "$root/init/aisexec.logrotate.in" "$tmp/aisexec.logrotate"
    put 0644 "$tmp/aisexec.logrotate" "$SYSCONFDIR/logrotate.d/aisexec"
    echo "install: $(sort -u "$new_manifest" | grep -c '^[fl] ') files and links under ${DESTDIR:-/}; manifest $MANIFEST"
}

write_manifest() {
    [ -s "$new_manifest" ] || return 0
    make_dir "$(dirname "$MANIFEST")"
    # One line per path, first occurrence kept (directories stay parent-first).
    awk '!seen[$0]++' "$new_manifest" > "$DESTDIR$MANIFEST"
    chmod 0644 "$DESTDIR$MANIFEST"
}

do_uninstall() {
    m=$DESTDIR$MANIFEST
    [ -f "$m" ] || die "no manifest $m (installed with another PREFIX or LIBDIR?)"
    dirs=$(sed -n 's/^d //p' "$m")
    sed -n 's/^[fl] //p' "$m" | while IFS= read -r path; do
        rm -f "$DESTDIR$path"
    done
    rm -f "$m"
    # Children before parents; a directory that is not empty (say an
    # admin's corosync.conf in $SYSCONFDIR/ais) stays.
    printf '%s\n' "$dirs" | awk 'NF' | sort -r | while IFS= read -r path; do
        rmdir "$DESTDIR$path" 2>/dev/null || true
    done
    echo "uninstall: removed what ${DESTDIR}$MANIFEST listed"
}

case "${1:-}" in
    install) [ $# -eq 3 ] || die "usage: $0 install <bin-dir> <lib-dir>"; do_install "$2" "$3" ;;
    uninstall) do_uninstall ;;
    *) die "usage: $0 install <bin-dir> <lib-dir> | uninstall" ;;
esac
