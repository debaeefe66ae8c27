#!/bin/bash
# Events on three executives (127.0.0.1-3, unicast transport).
#
#   c-tests/evt/cluster.sh <bin-dir> <evt_node> [<evt_api>]
#
# <bin-dir> holds aisexec and ais-cfgtool (and lib/ with libSaEvt);
# <evt_node> is the built c-tests/evt/evt_node.c. Steps:
#  1. nodes 1 and 2 form a ring; node 1 publishes a retained event and a
#     retained event it then clears;
#  2. node 3 joins: a subscriber there receives the retained event (synced
#     to the joining node), not the cleared one;
#  3. subscribers on nodes 2 and 3 with prefix / suffix / exact filters get
#     exactly the matching events published on node 1;
#  4. nodes 1 and 2 publish at once; pass-all subscribers on nodes 1 and 3
#     receive every event, in the same order;
#  5. the API test (if given) passes against node 2 of the three, where the
#     configured event { delivery_queue_size: 400 } decides when events are lost;
#  6. node 1 is killed and restarted empty: after it rejoins, a subscriber
#     there still receives the retained event.
# Every executive is killed when the script ends, also on failure.
# EVT_CLUSTER_PORT overrides the Totem port (default 16605).
set -u

. "$(dirname "$0")/cluster-lib.sh"

# sub_bg <name> <node> <evt_node sub args...>: a subscriber in the
# background, output in $work/<name>.out; returns once it is subscribed.
sub_bg() {
    local name=$1 i=$2
    shift 2
    on "$i" sub "$@" > "$work/$name.out" 2>&1 &
    cluster_bg+=($!)
    eval "pid_$name=$!"
    for _ in $(seq 200); do
        grep -q '^ready' "$work/$name.out" && return 0
        sleep 0.05
    done
    fail "subscriber $name never got ready: $(cat "$work/$name.out")"
}

wait_sub() { # wait_sub <name>: its exit status must be 0
    local p
    eval "p=\$pid_$1"
    wait "$p" || fail "subscriber $1: $(cat "$work/$1.out")"
}

# 1. Two nodes; a retained event, and one retained then cleared.
start 1
start 2
wait_members 2 1 2
kept=$(on 1 pub ret kept 3600000 retained-data | sed -n 's/^id //p') || fail "publish retained"
gone=$(on 1 pub ret kept 3600000 cleared-data | sed -n 's/^id //p') || fail "publish to clear"
on 2 clear ret "$gone" || fail "clear on node 2"
echo "evt cluster: retained event $kept published on node 1 of 2"

# 2. Node 3 joins and sees the retained event only.
start 3
wait_members 3 1 2 3
got=$(on 3 sub ret all "" 1 5000) || fail "node 3 did not get exactly one retained event: $got"
echo "$got" | grep -q "^event $kept kept retained-data$" || fail "node 3 got: $got"
echo "evt cluster: joining node 3 received retained event $kept"

# 3. Filters across nodes.
sub_bg pre 2 filt prefix "alarm." 2 10000
sub_bg suf 3 filt suffix ".crit" 2 10000
sub_bg ex 3 filt exact "alarm.disk.crit" 1 10000
for p in alarm.disk.crit alarm.net.warn power.crit info; do
    on 1 pub filt "$p" 0 "data-$p" > /dev/null || fail "publish $p"
done
wait_sub pre
wait_sub suf
wait_sub ex
[ "$(grep '^event' "$work/pre.out" | cut -d' ' -f3 | tr '\n' ' ')" = "alarm.disk.crit alarm.net.warn " ] ||
    fail "prefix subscriber on node 2 got: $(cat "$work/pre.out")"
[ "$(grep '^event' "$work/suf.out" | cut -d' ' -f3 | tr '\n' ' ')" = "alarm.disk.crit power.crit " ] ||
    fail "suffix subscriber on node 3 got: $(cat "$work/suf.out")"
echo "evt cluster: prefix, suffix and exact filters on nodes 2 and 3 got exactly the matching events"

# 4. Two publishers at once; two subscribers see the same order.
n=200
sub_bg all1 1 flood all "" $((2 * n)) 30000
sub_bg all3 3 flood all "" $((2 * n)) 30000
t0=$(date +%s%3N)
on 1 pub flood a 0 from-1 $n > /dev/null & p1=$!
on 2 pub flood b 0 from-2 $n > /dev/null & p2=$!
wait $p1 || fail "publisher on node 1"
wait $p2 || fail "publisher on node 2"
wait_sub all1
wait_sub all3
t1=$(date +%s%3N)
cmp -s <(grep '^event' "$work/all1.out") <(grep '^event' "$work/all3.out") ||
    fail "nodes 1 and 3 saw different orders"
echo "evt cluster: 2 x $n events from 2 nodes, same order on nodes 1 and 3, $((t1 - t0)) ms"

# 5. The API test against node 2 of 3.
if [ -n "$api" ]; then
    EVT_QUEUE_SIZE=400 COROSYNC_RUN_DIR=$work/n2/run timeout -k 5 90 "$api" > "$work/api.out" 2>&1 ||
        fail "evt_api on node 2 of 3: $(tail -20 "$work/api.out")"
    echo "evt cluster: on node 2 of 3: $(grep 'passed,' "$work/api.out")"
fi

# 6. Node 1 restarts empty; the retained event is synced back to it.
node_kill 1
wait_members 2 2 3
start 1
wait_members 3 1 2 3
got=$(on 1 sub ret all "" 1 5000) || fail "restarted node 1 did not get the retained event: $got"
echo "$got" | grep -q "^event $kept " || fail "restarted node 1 got: $got"
id=$(on 1 pub ret new 0 x | sed -n 's/^id //p')
[ "$id" -gt "$kept" ] || fail "restarted node 1 reused an event id: $id <= $kept"
echo "evt cluster: restarted node 1 received retained event $kept; its new ids continue ($id)"

echo "evt cluster: passed"
