#!/bin/bash
# CPG and EVS on three executives (127.0.0.1-3, unicast transport,
# GROUPS_CLUSTER_PORT, default 16485), through libcpg / libevs:
#   1. the EVS ring reports three nodes on every node; an EVS member on
#      each node multicasts: all three deliver the same sequence;
#   2. a member on each node joins one group, waits for three members,
#      multicasts (agreed and safe): all three deliver the same sequence;
#      ais-cpgtool on node 2 lists the group with its three members;
#   3. node 3 is killed (executive and client): the members on nodes 1
#      and 2 get a confchg with node 3's member left, reason NODEDOWN; an
#      EVS client on node 1 gets a configuration change with node 3 left;
#   4. node 3 restarts: a new member there sees the members of nodes 1
#      and 2 (group memberships exchanged when the configurations merge);
#   5. partition and merge with members on both sides: node 3's executive
#      is stopped (SIGSTOP) past the token timeout, so nodes 1-2 and node 3
#      each drop the other's members (NODEDOWN), then continued: after the
#      merge, ais-cpgtool prints the same groups on all three nodes, and the
#      member on node 1 saw node 3's member leave (NODEDOWN) and come back
#      (NODEUP).
#
#   c-tests/groups/cluster.sh [target-dir]   (default $CARGO_TARGET_DIR or
#                                             <repo>/target; AIS_PROFILE, default debug)
#   c-tests/groups/cluster.sh --bench [target-dir] [cpgbench args]
#       forms the 3-node ring and runs cpgbench on node 1 (alone in its
#       group; every message still goes round the ring), then on all three
#       nodes at once.
#
# Every executive and client is started here and killed by its pid on
# exit, also on failure; every wait is bounded.
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
bench=no
if [ "${1:-}" = "--bench" ]; then
    bench=yes
    shift
fi
target=${1:-${CARGO_TARGET_DIR:-$root/target}}
bin=$target/${AIS_PROFILE:-debug}
lib=$bin/lib
CC=${CC:-gcc}
PORT=${GROUPS_CLUSTER_PORT:-16485}
K=20
[ $# -ge 1 ] && shift
. "$root/c-tests/lib/cluster.sh"
cluster_init groups-cluster "$bin" "$PORT"
tmp=$cluster_dir

cluster_dump_also='client*.out'
die() { cluster_fail "$@"; }
on() { node_run "$@"; }

[ -x "$bin/aisexec" ] || die "$bin/aisexec not found: build first"
[ -x "$bin/ais-cpgtool" ] || die "$bin/ais-cpgtool not found: build ais-tools first"
if [ ! -e "$lib/libcpg.so" ] || [ ! -e "$lib/libevs.so" ]; then
    "$root/scripts/link-libs.sh" "$bin" "$lib" >/dev/null || die "link-libs"
fi
$CC -std=gnu99 -Wall -Wextra -Werror -g -I"$root/include" -o "$tmp/cpg_node" \
    "$root/c-tests/groups/cpg_node.c" -L"$lib" -Wl,-rpath,"$lib" -lcpg -levs || die "build cpg_node"
$CC -O2 -std=gnu99 -Wall -I"$root/include" -o "$tmp/cpgbench" \
    "$root/c-tests/groups/cpgbench.c" -L"$lib" -Wl,-rpath,"$lib" -lcpg || die "build cpgbench"

cluster_start 3
for i in 1 2 3; do
    on "$i" timeout 20 "$tmp/cpg_node" ring 3 > /dev/null || die "node $i: the EVS ring never had 3 nodes"
done
echo "groups-cluster: EVS ring of 3 nodes on every node"

if [ $bench = no ]; then
    evs_clients=()
    for i in 1 2 3; do
        COROSYNC_RUN_DIR=$tmp/n$i/run "$tmp/cpg_node" evs 3 $K > "$tmp/evs$i.out" 2>&1 &
        evs_clients+=($!)
        cluster_bg+=($!)
    done
    for p in "${evs_clients[@]}"; do wait "$p" || die "an EVS client failed: $(cat "$tmp"/evs?.out)"; done
    e1=$(grep '^evseq ' "$tmp/evs1.out")
    for i in 2 3; do
        [ "$(grep '^evseq ' "$tmp/evs$i.out")" = "$e1" ] || die "EVS: node $i delivered another order"
    done
    [ "$(echo "$e1" | wc -w)" -eq $((3 * K + 1)) ] || die "EVS: wrong message count: $e1"
    echo "groups-cluster: EVS members on 3 nodes delivered the same $((3 * K)) messages in the same order"
fi

if [ $bench = yes ]; then
    echo "groups-cluster: cpgbench on node 1 of 3"
    on 1 timeout 300 "$tmp/cpgbench" "$@" || die "cpgbench"
    echo "groups-cluster: cpgbench on all 3 nodes at once (node 1's figures; the others in the log)"
    for i in 2 3; do
        COROSYNC_RUN_DIR=$tmp/n$i/run "$tmp/cpgbench" "$@" > "$tmp/bench$i.out" 2>&1 &
        cluster_bg+=($!)
    done
    on 1 timeout 300 "$tmp/cpgbench" "$@" || die "cpgbench"
    for p in "${cluster_bg[@]}"; do wait "$p"; done
    for i in 2 3; do sed "s/^/  [node $i] /" "$tmp/bench$i.out"; done
    exit 0
fi

declare -A client=()
for i in 1 2 3; do
    # Started directly (no wrapper) so that $! is the client itself;
    # cpg_node bounds its own waits.
    COROSYNC_RUN_DIR=$tmp/n$i/run "$tmp/cpg_node" run grp 3 $K > "$tmp/client$i.out" 2>&1 &
    client[$i]=$!
    cluster_bg+=($!)
done
for i in 1 2 3; do
    wait_line "$tmp/client$i.out" '^seq ' 30 || die "client on node $i delivered no sequence"
done
s1=$(grep '^seq ' "$tmp/client1.out")
for i in 2 3; do
    [ "$(grep '^seq ' "$tmp/client$i.out")" = "$s1" ] || die "node $i delivered another order"
done
[ "$(echo "$s1" | wc -w)" -eq $((3 * K + 1)) ] || die "wrong message count: $s1"
echo "groups-cluster: 3 members on 3 nodes delivered the same $((3 * K)) messages in the same order"

on 2 timeout 10 "$bin/ais-cpgtool" > "$tmp/cpgtool.out" 2>&1 || die "ais-cpgtool failed: $(cat "$tmp/cpgtool.out")"
want_tool="group: grp"
for i in 1 2 3; do
    node=$(grep '^ready ' "$tmp/client$i.out" | cut -d' ' -f2)
    want_tool="$want_tool
  member: node $node pid ${client[$i]}"
done
[ "$(cat "$tmp/cpgtool.out")" = "$want_tool" ] ||
    die "ais-cpgtool printed:
$(cat "$tmp/cpgtool.out")
expected:
$want_tool"
echo "groups-cluster: ais-cpgtool on node 2 lists the group and its 3 members"

n3=$(grep '^ready ' "$tmp/client3.out" | cut -d' ' -f2)
COROSYNC_RUN_DIR=$tmp/n1/run "$tmp/cpg_node" evshold 60 > "$tmp/evshold1.out" 2>&1 &
cluster_bg+=($!)
wait_line "$tmp/evshold1.out" '^evs ready' 10 || die "EVS watcher not ready"
# The executive first: killed together, node 3's executive could see its
# client's socket close and multicast a leave (PROCDOWN) before it dies.
{
    kill -KILL "$(node_pid 3)"
    kill -KILL "${client[3]}"
    wait "${client[3]}"
} 2>/dev/null
node_kill 3
for i in 1 2; do
    wait "${client[$i]}" || die "client on node $i saw no departure"
    grep -qE "^left $n3 3 members 2\$" "$tmp/client$i.out" ||
        die "node $i: expected 'left $n3 3 members 2', got: $(grep '^left' "$tmp/client$i.out")"
done
wait_line "$tmp/evshold1.out" "^evsconfchg 2 left $n3 joined\$" 10 ||
    die "EVS on node 1: no configuration change with node 3 left: $(cat "$tmp/evshold1.out")"
echo "groups-cluster: node 3 killed: both survivors saw its member leave with NODEDOWN; EVS reported node 3 left"

for i in 1 2; do
    COROSYNC_RUN_DIR=$tmp/n$i/run "$tmp/cpg_node" run grp2 3 1 > "$tmp/client${i}b.out" 2>&1 &
    cluster_bg+=($!)
done
sleep 1
node_start 3
on 3 timeout 30 "$tmp/cpg_node" ring 3 > /dev/null || die "node 3 did not rejoin the ring"
on 3 timeout 30 "$tmp/cpg_node" members grp2 3 > "$tmp/client3b.out" 2>&1 ||
    die "the restarted node 3 does not see the members of nodes 1 and 2: $(cat "$tmp/client3b.out")"
echo "groups-cluster: node 3 restarted: it sees the group members of nodes 1 and 2 ($(cat "$tmp/client3b.out"))"

for i in 1 3; do
    COROSYNC_RUN_DIR=$tmp/n$i/run "$tmp/cpg_node" hold merged 60 > "$tmp/hold$i.out" 2>&1 &
    cluster_bg+=($!)
done
for i in 1 3; do
    wait_line "$tmp/hold$i.out" '^confchg 2 ' 10 || die "hold client on node $i never saw 2 members"
done
pid3=$(grep '^joined ' "$tmp/hold3.out" | cut -d' ' -f3)
kill -STOP "$(node_pid 3)"
wait_line "$tmp/hold1.out" "^confchg 1 left $n3/$pid3:3 " 15 || { kill -CONT "$(node_pid 3)"; die "node 1 never saw node 3's member leave"; }
kill -CONT "$(node_pid 3)"
wait_line "$tmp/hold1.out" "^confchg 2 left joined $n3/$pid3:4\$" 20 || die "node 1 never saw node 3's member come back with NODEUP"
listing_agrees() {
    local first="" out i
    for i in 1 2 3; do
        out=$(on "$i" timeout 10 "$bin/ais-cpgtool" 2>&1) || return 1
        echo "$out" | grep -q "^group: merged\$" || return 1
        if [ -z "$first" ]; then first=$out; elif [ "$out" != "$first" ]; then return 1; fi
    done
    echo "$first" > "$tmp/listing"
}
for _ in $(seq 50); do listing_agrees && break; sleep 0.2; done
listing_agrees || die "the nodes list different groups after the merge: $(for i in 1 2 3; do on $i "$bin/ais-cpgtool"; done)"
[ "$(awk '/^group: /{g=$2} /member:/{if (g == "merged") c++} END{print c+0}' "$tmp/listing")" = 2 ] || die "group 'merged' lost a member: $(cat "$tmp/listing")"
echo "groups-cluster: partition and merge: node 1 saw node 3's member leave (NODEDOWN) and return (NODEUP); all 3 nodes list the same groups"
echo "groups-cluster: passed"
