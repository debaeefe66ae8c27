#!/bin/sh
# The CMake test: `make install PREFIX=/usr DESTDIR=<stage>`, then configure
# and build the project beside this script with find_package(Ais) against
# <stage>/usr and run it on the staged libraries. The package config must be
# relocatable: it was written for /usr but is used from the stage. Installs
# the debug build (AIS_PROFILE=release: the release one).
set -eu

root=$(cd "$(dirname "$0")/../.." && pwd)
MAKE=${MAKE:-make}
profile=${AIS_PROFILE:-debug}   # the cargo profile to install
CMAKE=${CMAKE:-cmake}
tmp=$(mktemp -d /tmp/ais-cmake-test.XXXXXX)
trap 'rm -rf "$tmp"' EXIT INT TERM
stage=$tmp/root

"$MAKE" -s -C "$root" install PROFILE="$profile" PREFIX=/usr DESTDIR="$stage" >/dev/null
"$CMAKE" -S "$root/c-tests/cmake" -B "$tmp/build" -DCMAKE_PREFIX_PATH="$stage/usr" \
    -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF >"$tmp/configure.log" 2>&1 ||
    { cat "$tmp/configure.log" >&2; exit 1; }
"$CMAKE" --build "$tmp/build" >"$tmp/build.log" 2>&1 || { cat "$tmp/build.log" >&2; exit 1; }
readelf -d "$tmp/build/consumer" | grep -q 'NEEDED.*\[libSaCkpt\.so\.2\]' ||
    { echo "cmake: consumer does not need libSaCkpt.so.2" >&2; exit 1; }
LD_LIBRARY_PATH="$stage/usr/lib" ldd "$tmp/build/consumer" | grep -q "libSaCkpt.so.2 => $stage/usr/lib/" ||
    { echo "cmake: libSaCkpt.so.2 does not resolve into the stage" >&2; exit 1; }
LD_LIBRARY_PATH="$stage/usr/lib" "$tmp/build/consumer"
echo "cmake: find_package(Ais), Ais::SaCkpt against the stage: ok"
