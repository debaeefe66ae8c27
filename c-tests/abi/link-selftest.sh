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

echo "link-selftest: $passed passed, $failed failed"
[ "$failed" -eq 0 ]
