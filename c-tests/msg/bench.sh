#!/bin/bash
# The message queue benchmark: send+get round trips on one node (loopback
# ordering, then a Totem ring of one), and on three nodes (127.0.0.1-3,
# unicast transport): synchronous 1 KB sends from node 2 to a queue on
# node 1 with its receiver draining it, async sends, sendReceive round
# trips from node 2 to a server on node 1. Prints figures. Not a test.
#
#   c-tests/msg/bench.sh <bin-dir> <msg_node> [messages]
#
# Use a release build for meaningful figures (target/release).
set -u
n=${3:-5000}
. "$(dirname "$0")/../lib/cluster.sh"
cluster_init "msg bench" "${1:?usage: $0 <bin-dir> <msg_node> [messages]}" "${MSG_CLUSTER_PORT:-16715}"
tool=${2:?usage: $0 <bin-dir> <msg_node> [messages]}
work=$cluster_dir
on() { local i=$1; shift; node_run "$i" timeout -k 5 300 "$tool" "$@"; }

echo "== one node, no configuration (loopback ordering, no Totem)"
"$(dirname "$0")/../lib/with-exec.sh" "$cluster_bin" "$tool" bench-local "$n" 1024 ||
    cluster_fail "bench on loopback"

echo "== one node, Totem ring of one (udpu)"
cluster_members=1
node_start 1
on 1 bench-local "$n" 1024 || cluster_fail "bench on one node"
node_kill 1
rm -rf "$work/n1"

echo "== three nodes: receiver on node 1, sender on node 2"
cluster_members=3
cluster_start 3
wait_members 3 1 2 3
on 3 bench-local "$n" 1024 || cluster_fail "round trips on node 3 of 3"
for mode in sync async; do
    on 1 bench-recv "sink-$mode" "$n" > "$work/recv.out" 2>&1 &
    recv=$!
    wait_line "$work/recv.out" '^open' 20 || cluster_fail "receiver did not open"
    on 2 bench-send "sink-$mode" "$n" 1024 $([ $mode = async ] && echo async) ||
        cluster_fail "$mode sender"
    wait "$recv" || cluster_fail "receiver: $(cat "$work/recv.out")"
    grep 'msg bench' "$work/recv.out"
done
on 1 serve service "$n" > "$work/serve.out" 2>&1 &
server=$!
wait_line "$work/serve.out" '^open' 20 || cluster_fail "server did not open"
on 2 bench-ask service "$n" || cluster_fail "sendReceive"
wait "$server" || cluster_fail "server"
