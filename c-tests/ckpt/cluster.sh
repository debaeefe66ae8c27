#!/bin/bash
# Checkpoints on three executives (127.0.0.1-3, unicast transport): replicas
# agree, and the failover story holds.
#
#   c-tests/ckpt/cluster.sh <bin-dir> <ckpt_node> [<ckpt_api>]
#
# <bin-dir> holds aisexec and ais-cfgtool (and lib/ with libSaCkpt);
# <ckpt_node> is the built c-tests/ckpt/ckpt_node.c. Steps:
#  1. three executives form one ring;
#  2. a value put on node 1 is read on nodes 2 and 3;
#  3. clients on all three nodes write at once; every node dumps the same content;
#     the API test (if given) passes against node 2 of the three;
#  4. failover: a writer on node 1 counts into a checkpoint; node 1's executive
#     is killed with SIGKILL; a reader on node 2 reads a value >= the last one
#     the writer saw acknowledged (and at most one more);
#  5. node 1 is restarted empty and joins: it reads the same content (sync);
#  6. node 1 (the lowest id) is killed and restarted at once, before the
#     others can notice: nothing is lost anywhere.
# Every executive is killed when the script ends, also on failure or
# interruption. CKPT_CLUSTER_PORT overrides the Totem port (default 16505).
set -u

. "$(dirname "$0")/cluster-lib.sh"

# 1. One ring of three.
for i in 1 2 3; do start "$i"; done
wait_members 3 1 2 3
echo "ckpt cluster: 3 nodes in one ring"

# 2. Put on node 1, read on 2 and 3.
on 1 put shared s hello || fail "put on node 1"
for i in 2 3; do
    got=$(on "$i" get shared s) || fail "get on node $i"
    [ "$got" = hello ] || fail "node $i read '$got', expected hello"
done

# 3. Writers on all three nodes at once; all replicas end identical.
t0=$(ms)
on 1 hammer multi a 200 & w1=$!
on 2 hammer multi b 200 & w2=$!
on 3 hammer multi c 200 & w3=$!
for w in $w1 $w2 $w3; do wait "$w" || fail "a concurrent writer failed"; done
t1=$(ms)
echo "ckpt cluster: 3 x 200 overwrites from 3 nodes in $((t1 - t0)) ms"
want=$(printf 'a=a-200\nb=b-200\nc=c-200')
for i in 1 2 3; do
    got=$(on "$i" dump multi) || fail "dump on node $i"
    [ "$got" = "$want" ] || fail "node $i dump differs: $got"
done

if [ -n "${3:-}" ]; then
    COROSYNC_RUN_DIR=$work/n2/run timeout -k 5 60 "$3" > "$work/api.out" 2>&1 ||
        fail "ckpt_api on node 2 of 3: $(cat "$work/api.out")"
    echo "ckpt cluster: on node 2 of 3: $(grep 'passed,' "$work/api.out")"
fi

# 4. Failover: writer on node 1, node 1 killed, reader on node 2.
on 1 count failover > "$work/count.out" 2>&1 & writer=$!
sleep 2
grep -q '^acked' "$work/count.out" || fail "the writer acknowledged nothing: $(cat "$work/count.out")"
t0=$(ms)
node_kill 1
wait "$writer"
last=$(grep '^acked' "$work/count.out" | tail -1 | cut -d' ' -f2)
value=$(on 2 get failover counter) || fail "get on node 2 after the kill"
t1=$(ms)
echo "ckpt cluster: writer acked up to $last, node 2 reads $value, $((t1 - t0)) ms after kill -9 of node 1"
case $value in '' | *[!0-9]*) fail "node 2 read '$value'" ;; esac
[ "$value" -ge "$last" ] || fail "acknowledged write lost: read $value < acked $last"
[ "$value" -le $((last + 1)) ] || fail "read $value is beyond anything written (acked $last)"
got=$(on 3 get failover counter)
[ "$got" = "$value" ] || fail "node 3 reads $got, node 2 $value"

# 5. Node 1 comes back empty and gets everything by sync.
t0=$(ms)
start 1
wait_members 3 1 2 3
got=$(on 1 get failover counter) || fail "get on rejoined node 1"
t1=$(ms)
[ "$got" = "$value" ] || fail "rejoined node 1 reads '$got', expected $value"
echo "ckpt cluster: restarted node 1 rejoined and read the counter in $((t1 - t0)) ms"
for i in 1 2 3; do
    got=$(on "$i" dump multi) || fail "dump on node $i after rejoin"
    [ "$got" = "$want" ] || fail "node $i dump after rejoin differs: $got"
done
[ "$(on 1 get shared s)" = hello ] || fail "rejoined node 1 lost 'shared'"

# 6. A restart of node 1 faster than failure detection.
node_kill 1
start 1
wait_members 3 1 2 3
for i in 1 2 3; do
    got=$(on "$i" get failover counter) || fail "get on node $i after the quick restart"
    [ "$got" = "$value" ] || fail "node $i reads '$got' after node 1's quick restart, expected $value"
done
echo "ckpt cluster: node 1 killed and restarted at once: every node still reads $value"

echo "ckpt cluster: passed"
