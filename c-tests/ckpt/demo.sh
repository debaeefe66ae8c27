#!/bin/bash
# The failover demo: three local executives (127.0.0.1-3), an active process
# on node 1 counting and checkpointing its state, a standby on node 2. The
# demo kills node 1 (its executive and the active, kill -9); the standby
# notices the state stopped changing, reads the last checkpointed value and
# counts on from it. Prints what happened and how long the takeover took.
# Stops everything it started.
#
#   c-tests/ckpt/demo.sh <bin-dir> [<ckpt_demo>]
#
# Without <ckpt_demo>, builds c-tests/ckpt/ckpt_demo.c with $CC (gcc)
# against include/ and <bin-dir>/lib (run scripts/link-libs.sh first).
set -u
CKPT_CLUSTER_PORT=${CKPT_CLUSTER_PORT:-16525}
if [ -z "${2:-}" ]; then
    here=$(cd "$(dirname "$0")" && pwd)
    root=$(cd "$here/../.." && pwd)
    demo_bin=$(mktemp /tmp/ais-ckpt-demo.XXXXXX)
    libdir=$(cd "${1:?usage: $0 <bin-dir> [<ckpt_demo>]}/lib" && pwd) || exit 1
    ${CC:-gcc} -std=gnu99 -O2 -I"$root/include" -o "$demo_bin" "$here/ckpt_demo.c" \
        -L"$libdir" -Wl,-rpath,"$libdir" -lSaCkpt || exit 1
    set -- "$1" "$demo_bin"
fi
. "$(dirname "$0")/cluster-lib.sh"
[ -z "${demo_bin:-}" ] || trap 'cluster_cleanup; rm -f "$demo_bin"' EXIT

echo "demo: starting three executives on 127.0.0.1, 127.0.0.2, 127.0.0.3"
for i in 1 2 3; do start "$i"; done
wait_members 3 1 2 3
echo "demo: one ring of 3 nodes"

on 1 active > "$work/active.out" 2>&1 & active=$!
sleep 1
on 2 standby 600 > "$work/standby.out" 2>&1 & standby=$!
sleep 2
echo "demo: the active on node 1 so far:"
tail -3 "$work/active.out" | sed 's/^/    /'
killed=$(ms)
kill -KILL "$(node_pid 1)" "$active" 2>/dev/null
node_kill 1
wait "$active" 2>/dev/null
last=$(grep 'counted' "$work/active.out" | tail -1 | awk '{print $3}')
echo "demo: kill -9 of node 1 (executive and active) at $killed ms; last acknowledged count: $last"
wait "$standby"
cat "$work/standby.out" | sed 's/^/    /' | head -6
took=$(grep 'taking over' "$work/standby.out" | awk '{print $NF}')
from=$(grep 'taking over' "$work/standby.out" | sed 's/.*from \([0-9-]*\) at.*/\1/')
[ -n "$took" ] || fail "the standby never took over"
echo "demo: the standby on node 2 took over from $from ($((took - killed)) ms after the kill; it waits for 600 ms of silence before acting)"
[ "$from" -ge "$last" ] || fail "the standby started from $from, below the acknowledged $last"
echo "demo: nothing acknowledged was lost (standby resumed at $from >= $last)"
echo "demo: node 3 reads $(on 3 show)"
