#!/bin/bash
# Message queues on three executives (127.0.0.1-3, unicast transport).
#
#   c-tests/msg/cluster.sh <bin-dir> <msg_node> [<msg_api>]
#
# <bin-dir> holds aisexec and ais-cfgtool (and lib/ with libSaMsg);
# <msg_node> is the built c-tests/msg/msg_node.c. Steps:
#  1. three executives form one ring;
#  2. a queue opened on node 1 is fed from nodes 2 and 3 at once: the
#     receiver on node 1 gets every message, each sender's in its order;
#  3. priorities: sent from node 3, the highest priority is read first on 1;
#  4. sendReceive from node 2 to a server on node 1;
#  5. groups: round robin over queues on nodes 1 and 3, local round robin
#     and local best queue preferring the sender's node, broadcast to all;
#  6. the API test (if given) passes against node 2 of the three;
#  7. kill -9: a receiver on node 1 holds a queue with messages queued from
#     node 2; node 1's executive is killed; the queue, reopened on node 3,
#     holds every acknowledged message;
#  8. node 1 restarts empty and rejoins: it sees the same queue status.
# Every executive is killed when the script ends, also on failure.
# MSG_CLUSTER_PORT overrides the Totem port (default 16705).
set -u

. "$(dirname "$0")/../lib/cluster.sh"
cluster_init "msg cluster" "${1:?usage: $0 <bin-dir> <msg_node> [<msg_api>]}" "${MSG_CLUSTER_PORT:-16705}"
tool=${2:?usage: $0 <bin-dir> <msg_node> [<msg_api>]}
work=$cluster_dir
fail() { cluster_fail "$@"; }
on() { # on <i> <msg_node args...>
    local i=$1
    shift
    node_run "$i" timeout -k 5 60 "$tool" "$@"
}
# bg <name> <i> <msg_node args...>: in the background, output in $work/<name>.out;
# returns once it printed "open".
bg() {
    local name=$1 i=$2
    shift 2
    on "$i" "$@" > "$work/$name.out" 2>&1 &
    cluster_bg+=($!)
    eval "pid_$name=$!"
    wait_line "$work/$name.out" '^open' 20 || fail "$name did not open: $(cat "$work/$name.out")"
}

# 1. One ring of three.
cluster_start 3
wait_members 3 1 2 3
echo "msg cluster: 3 nodes in one ring"

# 2. Two remote senders, one receiver.
bg recv 1 recv fed 400
on 2 send fed two 200 > /dev/null || fail "send from node 2"  &
s2=$!
on 3 send fed three 200 > /dev/null || fail "send from node 3" &
s3=$!
wait $s2 || fail "sender on node 2"
wait $s3 || fail "sender on node 3"
wait "$pid_recv" || fail "receiver on node 1: $(tail -3 "$work/recv.out")"
for who in two three; do
    order=$(grep "^got $who " "$work/recv.out" | cut -d' ' -f3 | tr '\n' ' ')
    [ "$order" = "$(seq -s ' ' 1 200) " ] || fail "messages from $who out of order or missing: $order"
done
echo "msg cluster: 2 x 200 messages from nodes 2 and 3 all received on node 1, each sender's in order"

# 3. Priority order across nodes.
on 1 create prio || fail "create prio"
on 3 send prio low 3 3 > /dev/null || fail "low priority sends"
on 3 send prio high 2 0 > /dev/null || fail "high priority sends"
got=$(on 1 drain prio | cut -d' ' -f2- | tr '\n' ',')
[ "$got" = "high 1,high 2,low 1,low 2,low 3," ] || fail "priority order: $got"

# 4. sendReceive from node 2 to a server on node 1.
bg server 1 serve service 1
reply=$(on 2 ask service hello) || fail "ask from node 2"
case $reply in "reply re:hello "*) ;; *) fail "sendReceive answered '$reply'" ;; esac
wait "$pid_server" || fail "server on node 1"
echo "msg cluster: sendReceive from node 2 to node 1 answered in ${reply##* } us"

# 5. Groups over queues held open on nodes 1 and 3.
bg ga 1 recv ga 1000 30
bg gc 3 recv gc 1000 30
on 2 group rr 1 ga gc || fail "round robin group"
on 2 group lrr 2 ga gc || fail "local round robin group"
on 2 group best 3 ga gc || fail "local best group"
on 2 group all 4 ga gc || fail "broadcast group"
on 2 send rr r 4 > /dev/null || fail "send to rr"
on 3 send lrr l 2 > /dev/null || fail "send to lrr from node 3"
on 1 send best b 1 > /dev/null || fail "send to best from node 1"
on 2 send all a 1 > /dev/null || fail "send to all"
sleep 1
count() { grep -c "^got $2 " "$work/$1.out"; }
[ "$(count ga r)" = 2 ] && [ "$(count gc r)" = 2 ] || fail "round robin: $(count ga r) on 1, $(count gc r) on 3"
[ "$(count gc l)" = 2 ] || fail "local round robin from node 3 left node 3"
[ "$(count ga b)" = 1 ] || fail "local best queue from node 1 left node 1"
[ "$(count ga a)" = 1 ] && [ "$(count gc a)" = 1 ] || fail "broadcast"
kill "$pid_ga" "$pid_gc" 2>/dev/null
echo "msg cluster: round robin, local round robin, local best queue and broadcast deliver as their policies say"

if [ -n "${3:-}" ]; then
    COROSYNC_RUN_DIR=$work/n2/run timeout -k 5 90 "$3" > "$work/api.out" 2>&1 ||
        fail "msg_api on node 2 of 3: $(cat "$work/api.out")"
    echo "msg cluster: on node 2 of 3: $(grep 'passed,' "$work/api.out")"
fi

# 7. kill -9 of the executive of the node holding the queue open.
bg holder 1 hold precious
on 2 send precious p 50 > "$work/acked.out" 2>&1 || fail "sends to the held queue: $(tail -1 "$work/acked.out")"
node_kill 1
wait_members 2 2 3
got=$(on 3 drain precious | cut -d' ' -f3 | tr '\n' ' ')
[ "$got" = "$(seq -s ' ' 1 50) " ] || fail "after kill -9 of node 1, node 3 read: $got"
echo "msg cluster: node 1 killed with 50 messages queued: node 3 reopened the queue and read all 50"

# 8. Node 1 comes back empty and gets the queues by sync.
on 2 send precious again 3 > /dev/null || fail "sends after the kill"
node_start 1
wait_members 3 1 2 3
st=$(on 1 status precious) || fail "status on rejoined node 1"
[ "$st" = "messages 3 used 21 closed 1" ] || fail "status on rejoined node 1: $st"
echo "msg cluster: restarted node 1 rejoined and sees the queue with its 3 messages"
echo "msg cluster: passed"
