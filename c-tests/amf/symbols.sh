#!/bin/sh
# The AMF symbol tables (objdump -T), as a program and ld.so see them:
#   - sonames: libSaAmf.so.2, libSaAmf.so.1 (the A.01.01 compatibility
#     library), libais.so.2;
#   - libSaAmf.so.2 and libais.so.2 define the 9 names A.01.01 and B.01.01
#     share at both nodes, B the default (OPENAIS_AMF_B.01.01) and A not
#     ((OPENAIS_AMF_A.01.01)); the 8 A-only names at A (default);
#   - libSaAmf.so.1 defines the 17 A names at A, as the default, and
#     nothing at B;
#   - a program built with <corosync/ais_amf.h> refers to name@A for each
#     A function it calls; one built with <corosync/saAmf.h> to name@B.
#
#   c-tests/amf/symbols.sh <lib-dir> <A program> <B program>
set -u
lib=$1
a_prog=$2
b_prog=$3
shared="saAmfInitialize saAmfSelectionObjectGet saAmfDispatch saAmfFinalize saAmfComponentRegister
    saAmfComponentUnregister saAmfHAStateGet saAmfProtectionGroupTrackStop saAmfResponse"
a_only="saAmfCompNameGet saAmfReadinessStateGet saAmfStoppingComplete saAmfProtectionGroupTrackStart
    saAmfErrorReport saAmfErrorCancelAll saAmfComponentCapabilityModelGet saAmfPendingOperationGet"
A=OPENAIS_AMF_A.01.01
B=OPENAIS_AMF_B.01.01
failed=0
fail() { echo "symbols: FAIL: $*"; failed=$((failed + 1)); }
# has <file> <regex>: a line of objdump -T matches (defined: not *UND*).
defines() { objdump -T "$1" | grep -v '\*UND\*' | grep -Eq "$2"; }
refers() { objdump -T "$1" | grep '\*UND\*' | grep -Eq "$2"; }

for so in libSaAmf.so.2 libSaAmf.so.1 libais.so.2; do
    name=$(objdump -p "$lib/$so" | awk '$1 == "SONAME" { print $2 }')
    [ "$name" = "$so" ] || fail "$so: SONAME is '$name'"
done
for so in libSaAmf.so.2 libais.so.2; do
    for f in $shared; do
        defines "$lib/$so" " $B $f\$" || fail "$so: no $f@@$B"
        defines "$lib/$so" " \\($A\\) $f\$" || fail "$so: no $f@$A (non-default)"
    done
    for f in $a_only; do
        defines "$lib/$so" " $A $f\$" || fail "$so: no $f@@$A"
    done
done
for f in $shared $a_only; do
    defines "$lib/libSaAmf.so.1" " $A $f\$" || fail "libSaAmf.so.1: no $f@@$A"
done
defines "$lib/libSaAmf.so.1" "$B" && fail "libSaAmf.so.1 defines something at $B"
for f in $shared $a_only; do
    refers "$a_prog" "\\($A\\) +$f\$" || fail "$(basename "$a_prog"): does not refer to $f@$A"
done
for f in saAmfInitialize saAmfDispatch saAmfResponse saAmfHAStateGet; do
    refers "$b_prog" "\\($B\\) +$f\$" || fail "$(basename "$b_prog"): does not refer to $f@$B"
done
refers "$b_prog" "$A" && fail "$(basename "$b_prog") refers to $A"
[ "$failed" -eq 0 ] && echo "symbols: sonames, both nodes, the 9 shared names per header: passed"
[ "$failed" -eq 0 ]
