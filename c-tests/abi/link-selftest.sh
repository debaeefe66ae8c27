#!/bin/sh
# Tests scripts/link-libs.sh and scripts/check-symbols.sh on a stand-in
# archive built here from C (the real libraries export nothing until a
# service API is done, so this is where exported symbols, version binding
# and hiding get exercised), then shows check-symbols.sh failing on each
# kind of disagreement. Prints "link-selftest: N passed, N failed".
set -u

root=$(cd "$(dirname "$0")/../.." && pwd)
CC=${CC:-gcc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT INT TERM
passed=0
failed=0
ok() { passed=$((passed + 1)); }
bad() { failed=$((failed + 1)); echo "link-selftest: FAIL: $*" >&2; }

# --- a stand-in for libais_capi.a -------------------------------------
mkdir -p "$tmp/capi/symbols" "$tmp/profile" "$tmp/out" "$tmp/obj"
cat > "$tmp/capi/libraries.list" <<'LIST'
# name major full nodes
SaClm   2  2.0.0  OPENAIS_CLM_B.01.01
SaCkpt  2  2.0.0  OPENAIS_CKPT_B.01.01
ais     2  2.0.0  OPENAIS_CLM_B.01.01,OPENAIS_CKPT_B.01.01,OPENAIS_EVT_B.01.01
LIST
echo saClmInitialize > "$tmp/capi/symbols/OPENAIS_CLM_B.01.01"
printf '# comment\nsaCkptInitialize\n\nsaCkptFinalize\n' > "$tmp/capi/symbols/OPENAIS_CKPT_B.01.01"
: > "$tmp/capi/symbols/OPENAIS_EVT_B.01.01"
cat > "$tmp/obj/helper.c" <<'C'
int ais_internal_helper(int x) { return x + 1; }
int _ZN3ais6helper17h0123456789abcdefE(void) { return 7; }
C
cat > "$tmp/obj/clm.c" <<'C'
int ais_internal_helper(int x);
int _ZN3ais6helper17h0123456789abcdefE(void);
int saClmInitialize(void) { return ais_internal_helper(1) + _ZN3ais6helper17h0123456789abcdefE() - 7; }
C
cat > "$tmp/obj/ckpt.c" <<'C'
int saCkptInitialize(void) { return 1; }
int saCkptFinalize(void) { return 1; }
int saCkptUnlisted(void) { return 19; }
C
for f in helper clm ckpt; do
    "$CC" -c -fPIC -ffunction-sections -o "$tmp/obj/$f.o" "$tmp/obj/$f.c" || exit 1
done
ar rcs "$tmp/profile/libais_capi.a" "$tmp/obj/helper.o" "$tmp/obj/clm.o" "$tmp/obj/ckpt.o" || exit 1

export AIS_CAPI_DIR="$tmp/capi"
if "$root/scripts/link-libs.sh" "$tmp/profile" "$tmp/out" > "$tmp/link.log" 2>&1; then ok; else
    bad "link-libs.sh failed:"; cat "$tmp/link.log" >&2; echo "link-selftest: $passed passed, $failed failed"; exit 1
fi
if "$root/scripts/check-symbols.sh" "$tmp/out" > "$tmp/check.log" 2>&1; then ok; else
    bad "check-symbols.sh rejects libraries that match their lists:"; cat "$tmp/check.log" >&2
fi

# --- what a program linked against them sees ---------------------------
cat > "$tmp/prog.c" <<'C'
#include <stdio.h>
int saClmInitialize(void);
int saCkptInitialize(void);
int main(void) { printf("%d %d\n", saClmInitialize(), saCkptInitialize()); return 0; }
C
for lib in ais SaClm; do
    if [ $lib = ais ]; then libs="-lais"; else libs="-lSaClm -lSaCkpt"; fi
    # shellcheck disable=SC2086
    if "$CC" -o "$tmp/prog-$lib" "$tmp/prog.c" -L"$tmp/out" $libs 2> "$tmp/cc.log"; then ok; else
        bad "linking a program with $libs failed"; cat "$tmp/cc.log" >&2; continue
    fi
    refs=$(objdump -T "$tmp/prog-$lib" | awk '/saC/ { v = $(NF-1); gsub(/[()]/, "", v); print v " " $NF }' | sort | tr '\n' ' ')
    want="OPENAIS_CKPT_B.01.01 saCkptInitialize OPENAIS_CLM_B.01.01 saClmInitialize "
    if [ "$refs" = "$want" ]; then ok; else bad "prog-$lib references '$refs', expected '$want'"; fi
    needed=$(readelf -d "$tmp/prog-$lib" | sed -n 's/.*(NEEDED).*\[\(lib[A-Za-z]*\.so\.[0-9]*\)\].*/\1/p' | grep -v libc | tr '\n' ' ')
    case $lib in ais) wantn="libais.so.2 " ;; *) wantn="libSaClm.so.2 libSaCkpt.so.2 " ;; esac
    if [ "$needed" = "$wantn" ]; then ok; else bad "prog-$lib needs '$needed', expected '$wantn'"; fi
    out=$(LD_LIBRARY_PATH="$tmp/out" "$tmp/prog-$lib")
    if [ "$out" = "2 1" ]; then ok; else bad "prog-$lib printed '$out'"; fi
done
# A helper or an unlisted function is not reachable from outside.
cat > "$tmp/hidden.c" <<'C'
int saCkptUnlisted(void);
int main(void) { return saCkptUnlisted(); }
C
if "$CC" -o "$tmp/hidden" "$tmp/hidden.c" -L"$tmp/out" -lais 2> /dev/null; then
    bad "an unlisted function links"
else ok; fi

# --- check-symbols.sh must fail on each kind of disagreement -----------
# expect_failure <description> <message expected in its output> <edit...>
expect_failure() {
    what=$1 message=$2
    shift 2
    rm -rf "$tmp/capi2"
    cp -r "$tmp/capi" "$tmp/capi2"
    (cd "$tmp/capi2" && sh -c "$*")
    if AIS_CAPI_DIR="$tmp/capi2" "$root/scripts/check-symbols.sh" "$tmp/out" > "$tmp/neg.log" 2>&1; then
        bad "check-symbols.sh passed although $what"
    elif grep -qF -- "$message" "$tmp/neg.log"; then
        ok
    else
        bad "check-symbols.sh failed for $what without saying '$message':"; cat "$tmp/neg.log" >&2
    fi
}
expect_failure "a listed symbol is not exported" "- saClmFinalize@@OPENAIS_CLM_B.01.01" \
    "echo saClmFinalize >> symbols/OPENAIS_CLM_B.01.01"
expect_failure "an exported symbol is not listed" "+ saCkptFinalize@@OPENAIS_CKPT_B.01.01" \
    "sed -i /saCkptFinalize/d symbols/OPENAIS_CKPT_B.01.01"
expect_failure "a symbol is bound to another node" "- saCkptFinalize@@OPENAIS_CLM_B.01.01" \
    "sed -i /saCkptFinalize/d symbols/OPENAIS_CKPT_B.01.01; echo saCkptFinalize >> symbols/OPENAIS_CLM_B.01.01"
expect_failure "the soname major differs" "SONAME is 'libSaClm.so.2', expected libSaClm.so.3" \
    "sed -i 's/^SaClm   2/SaClm   3/' libraries.list"
expect_failure "a version node is missing" "- OPENAIS_MSG_B.01.01" \
    "sed -i 's/^SaClm .*/SaClm 2 2.0.0 OPENAIS_CLM_B.01.01,OPENAIS_MSG_B.01.01/' libraries.list; : > symbols/OPENAIS_MSG_B.01.01"
expect_failure "a library is missing" "libSaEvt: " \
    "echo 'SaEvt 2 2.0.0 OPENAIS_EVT_B.01.01' >> libraries.list"

# A Rust symbol that is exported is flagged even when it is listed.
rm -rf "$tmp/capi3" "$tmp/out3"
cp -r "$tmp/capi" "$tmp/capi3"
echo _ZN3ais6helper17h0123456789abcdefE >> "$tmp/capi3/symbols/OPENAIS_CLM_B.01.01"
AIS_CAPI_DIR="$tmp/capi3" "$root/scripts/link-libs.sh" "$tmp/profile" "$tmp/out3" > /dev/null 2>&1
if AIS_CAPI_DIR="$tmp/capi3" "$root/scripts/check-symbols.sh" "$tmp/out3" > "$tmp/neg.log" 2>&1; then
    bad "check-symbols.sh passed although a Rust symbol is exported"
elif grep -q "Rust symbols are exported" "$tmp/neg.log"; then ok; else
    bad "no Rust-symbol message:"; cat "$tmp/neg.log" >&2
fi

# --- two APIs sharing a name (AMF A.01.01 and B.01.01) -----------------
# symbols/TEST_A lists `fooX aisA_fooX`: the Rust function aisA_fooX is
# exported as fooX@TEST_A in libAmf.so.2 (whose TEST_B exports a plain
# fooX, the default) and as fooX@@TEST_A in the compatibility libAmf.so.1.
rm -rf "$tmp/capi4" "$tmp/out4" "$tmp/profile4"
mkdir -p "$tmp/capi4/symbols" "$tmp/out4" "$tmp/profile4"
echo 'Amf 2 2.0.0 TEST_A,TEST_B' > "$tmp/capi4/libraries.list"
echo 'Amf 1 1.0.0 TEST_A' > "$tmp/capi4/compat.list"
printf 'fooX aisA_fooX\nbarA aisA_barA\n' > "$tmp/capi4/symbols/TEST_A"
echo fooX > "$tmp/capi4/symbols/TEST_B"
cat > "$tmp/obj/amf.c" <<'C'
int fooX(void) { return 2; }
int aisA_fooX(void) { return 1; }
int aisA_barA(void) { return 3; }
C
"$CC" -c -fPIC -ffunction-sections -o "$tmp/obj/amf.o" "$tmp/obj/amf.c" &&
    ar rcs "$tmp/profile4/libais_capi.a" "$tmp/obj/amf.o" || exit 1
if AIS_CAPI_DIR="$tmp/capi4" "$root/scripts/link-libs.sh" "$tmp/profile4" "$tmp/out4" > "$tmp/link4.log" 2>&1 &&
    AIS_CAPI_DIR="$tmp/capi4" "$root/scripts/check-symbols.sh" "$tmp/out4" > "$tmp/check4.log" 2>&1; then ok; else
    bad "two APIs: link-libs.sh or check-symbols.sh failed:"; cat "$tmp/link4.log" "$tmp/check4.log" >&2
fi
defs() { objdump -T "$1" | awk '$NF ~ /^(fooX|barA)$/ { print $(NF-1) " " $NF }' | sort | tr '\n' ' '; }
got=$(defs "$tmp/out4/libAmf.so.2")
if [ "$got" = "(TEST_A) fooX TEST_A barA TEST_B fooX " ]; then ok; else bad "libAmf.so.2 defines '$got'"; fi
got=$(defs "$tmp/out4/libAmf.so.1")
if [ "$got" = "TEST_A barA TEST_A fooX " ]; then ok; else bad "libAmf.so.1 defines '$got'"; fi
if [ "$(readlink "$tmp/out4/libAmf.so")" = libAmf.so.2.0.0 ] && [ -L "$tmp/out4/libAmf.so.1" ]; then ok; else
    bad "libAmf.so should link to libAmf.so.2.0.0, libAmf.so.1 to the compatibility library"
fi
if readelf -V -W "$tmp/out4/libAmf.so.2" | grep -q "Parent 1: TEST_A"; then ok; else bad "TEST_B does not inherit TEST_A"; fi
cat > "$tmp/prog_a.c" <<'C'
#include <stdio.h>
int fooX(void) __asm__("ref_fooX_A");
__asm__(".symver ref_fooX_A, fooX@TEST_A");
int main(void) { printf("%d\n", fooX()); return 0; }
C
cat > "$tmp/prog_b.c" <<'C'
#include <stdio.h>
int fooX(void);
int main(void) { printf("%d\n", fooX()); return 0; }
C
"$CC" -o "$tmp/prog_a" "$tmp/prog_a.c" -L"$tmp/out4" -lAmf && "$CC" -o "$tmp/prog_b" "$tmp/prog_b.c" -L"$tmp/out4" -lAmf ||
    bad "two APIs: linking the programs failed"
got="$(LD_LIBRARY_PATH="$tmp/out4" "$tmp/prog_a") $(LD_LIBRARY_PATH="$tmp/out4" "$tmp/prog_b")"
if [ "$got" = "1 2" ]; then ok; else bad "the A and B programs got '$got', expected '1 2'"; fi
# The A program runs on the compatibility library too (as its soname).
mkdir -p "$tmp/only1" && cp "$tmp/out4/libAmf.so.1.0.0" "$tmp/only1/libAmf.so.2"
got=$(LD_LIBRARY_PATH="$tmp/only1" "$tmp/prog_a")
if [ "$got" = 1 ]; then ok; else bad "the A program on libAmf.so.1 got '$got'"; fi
expect_failure4() { # a disagreement in the two-API lists is found
    rm -rf "$tmp/capi5" && cp -r "$tmp/capi4" "$tmp/capi5" && (cd "$tmp/capi5" && sh -c "$2")
    if AIS_CAPI_DIR="$tmp/capi5" "$root/scripts/check-symbols.sh" "$tmp/out4" > "$tmp/neg.log" 2>&1; then
        bad "check-symbols.sh passed although $1"
    else ok; fi
}
expect_failure4 "the A function is listed under another name" "sed -i 's/^fooX aisA_fooX/fooY aisA_fooX/' symbols/TEST_A"
expect_failure4 "B no longer shares fooX (A's would be the default)" ": > symbols/TEST_B"
expect_failure4 "the compatibility library lists another node" "echo 'Amf 1 1.0.0 TEST_B' > compat.list"

echo "link-selftest: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
