#!/bin/sh
# The conformance tests of issue 22: C programs that use the libraries as
# openais 0.80 programs do, against a live single-node executive
# (timeouts.c: timeouts of 0 and positive ones; header_items.c: the
# header items that differed from the classic headers, at run time).
#
#   c-tests/classic/run.sh [target-dir]    (default: <repo>/target; debug
#                                           profile, AIS_PROFILE=release for
#                                           the other)
#
# Builds each program with only -I<repo>/include and -lais, runs it bounded
# by `timeout`. Ends with "classic: N passed, N failed"; exits non-zero on
# any failure.
set -u

. "$(dirname "$0")/../lib/common.sh"
ctest_init classic "${1:-}" "${AIS_PROFILE:-debug}"
LIMIT=${CLASSIC_TEST_TIMEOUT:-60}
ctest_need aisexec
ctest_link

for prog in timeouts header_items; do
    step "build $prog" ctest_build "$prog" "$prog" ais -Wall -Wextra -Werror
    [ -x "$tmp/$prog" ] && step "run $prog" ctest_with_exec "$LIMIT" "$tmp/$prog"
done

ctest_finish
