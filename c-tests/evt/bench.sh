#!/bin/bash
# Event benchmark: published and delivered events/s by data size, on one
# node and on three (publisher on node 1, subscribers on nodes 2 and 3).
#
#   c-tests/evt/bench.sh [target-dir]   (AIS_PROFILE=release recommended)
#
# Needs aisexec, ais-cfgtool and ais-capi built in that target dir. Runs its
# own executives on 127.0.0.1-3 (ports 16615 and 16625) with a delivery
# queue of 100000 events, so the figures are of throughput, not of losses
# (a subscriber that lost events is reported). Prints a table; not a test.
set -u

root=$(cd "$(dirname "$0")/../.." && pwd)
target=${1:-$root/target}
bindir=$target/${AIS_PROFILE:-debug}
"$root/scripts/link-libs.sh" "$bindir" "$bindir/lib" > /dev/null || exit 1
tool=$(mktemp /tmp/evtbench.XXXXXX)
gcc -std=gnu99 -O2 -Wall -Wextra -Werror -I"$root/include" -o "$tool" "$root/c-tests/evt/evtbench.c" \
    -L"$bindir/lib" -Wl,-rpath,"$bindir/lib" -lSaEvt || exit 1
SIZES=${EVT_BENCH_SIZES:-"0 100 1000 10000 65536"}

count_for() { # fewer events for larger sizes, about 40 MB at most
    local size=$1 n=20000
    [ "$size" -gt 1000 ] && n=$((40000000 / size))
    [ "$n" -gt 20000 ] && n=20000
    echo "$n"
}

# run <nodes> <label>: for each size, subscribers then the publisher.
run() {
    local nodes=$1 label=$2 size n pub d2 d3 subs
    for size in $SIZES; do
        n=$(count_for "$size")
        if [ "$nodes" = 1 ]; then subs="1"; else subs="2 3"; fi
        cluster_bg=()
        for i in $subs; do
            on "$i" sub "bench-$size" "$n" 120 > "$work/sub$i.out" 2>&1 &
            cluster_bg+=($!)
        done
        for i in $subs; do
            for _ in $(seq 200); do grep -q '^ready' "$work/sub$i.out" && break; sleep 0.05; done
        done
        pub=$(on 1 pub "bench-$size" "$size" "$n") || fail "publisher: $pub"
        for p in "${cluster_bg[@]}"; do wait "$p"; done
        cluster_bg=()
        line="$label $(printf '%6s' "$size") $(printf '%6s' "$n") $(echo "$pub" | awk '{printf "%9s", $4}')"
        for i in $subs; do
            d=$(grep '^delivered' "$work/sub$i.out")
            line="$line $(echo "$d" | awk '{printf "%9s", $6}')"
            echo "$d" | awk '$4 != 0 || $2 != '"$n"' {exit 1}' || line="$line (node $i: $d)"
        done
        echo "$line"
    done
}

# One node.
set -- "$bindir" "$tool"
EVT_NODES=1 EVT_CLUSTER_PORT=16615 EVT_QUEUE_SIZE=100000 EVT_QUEUE_RESUME=50000
export EVT_NODES EVT_CLUSTER_PORT EVT_QUEUE_SIZE EVT_QUEUE_RESUME
(
    . "$root/c-tests/evt/cluster-lib.sh"
    start 1
    wait_members 1 1
    echo "nodes  bytes  count  pub/s     deliv/s (per subscriber node)"
    run 1 "1    "
)
# Three nodes.
EVT_NODES=3 EVT_CLUSTER_PORT=16625
(
    . "$root/c-tests/evt/cluster-lib.sh"
    for i in 1 2 3; do start "$i"; done
    wait_members 3 1 2 3
    run 3 "3    "
)
rm -f "$tool"
