#!/bin/bash
# Locks on three executives (127.0.0.1-3, unicast transport).
#
#   c-tests/lck/cluster.sh <bin-dir> <lck_node> [bench]
#
# <lck_node> is the built c-tests/lck/lck_node.c. Steps:
#  1. two clients on each node increment a counter in a file under an EX
#     lock: no increment is lost;
#  2. kill -9 of a holder (node 1): a waiter on node 2 gets the lock;
#  3. a lock request whose timeout runs out returns TIMEOUT and is never
#     granted later;
#  4. orphan locks: a holder with ORPHAN exits; ORPHAN requests get
#     ORPHANED, others NOT_QUEUED; a purge from another node frees it;
#  5. kill -9 of the holder's executive (node 3): the waiter on node 1 gets
#     the lock once the membership change is agreed;
#  6. node 3 restarts and rejoins: it sees the lock node 1 holds;
#  with "bench": lock/unlock pairs per second of one client, of three
#  clients on three nodes with their own resources, and six clients on
#  three nodes contending for one lock (each must make progress).
# Every executive and client is killed when the script ends, also on failure.
# LCK_CLUSTER_PORT overrides the Totem port (default 16705).
set -u

. "$(dirname "$0")/../lib/cluster.sh"
cluster_init "lck cluster" "${1:?usage: $0 <bin-dir> <lck_node> [bench]}" "${LCK_CLUSTER_PORT:-16705}"
tool=${2:?usage: $0 <bin-dir> <lck_node> [bench]}
mode=${3:-test}
work=$cluster_dir
cluster_log_tail=40

fail() { cluster_fail "$@"; }
on() { # on <i> <lck_node args...>
    local i=$1
    shift
    node_run "$i" timeout -k 5 60 "$tool" "$@"
}
bg() { # bg <name> <i> <lck_node args...>: in the background (its pid is the
    # client's, to kill -9; killed at exit), output in $work/<name>.out
    local name=$1 i=$2
    shift 2
    (export COROSYNC_RUN_DIR=$cluster_dir/n$i/run && exec "$tool" "$@") > "$work/$name.out" 2>&1 &
    cluster_bg+=($!)
    eval "pid_$name=$!"
}
wait_out() { # wait_out <name> <regex> <seconds>
    wait_line "$work/$1.out" "$2" "$3" || fail "$1 never printed '$2': $(cat "$work/$1.out")"
}
pid_of() { eval "echo \$pid_$1"; }

cluster_start 3
wait_members 3 1 2 3

if [ "$mode" = bench ]; then
    on 1 bench b1 3 > "$work/one.out" || fail "bench on node 1: $(cat "$work/one.out")"
    echo "lck bench: 1 client on node 1 of 3: $(cat "$work/one.out")"
    for i in 1 2 3; do bg own$i $i bench own$i 3; done
    total=0
    for i in 1 2 3; do
        wait "$(pid_of own$i)" || fail "bench own$i: $(cat "$work/own$i.out")"
        total=$((total + $(sed -n 's/.*per_s //p' "$work/own$i.out")))
    done
    echo "lck bench: 3 clients on 3 nodes, own resources: $total pairs/s together ($(cat "$work"/own?.out | sed -n 's/.*per_s //p' | tr '\n' ' '))"
    for i in 1 2 3; do
        bg con${i}a $i bench shared 3
        bg con${i}b $i bench shared 3
    done
    total=0
    for c in con1a con1b con2a con2b con3a con3b; do
        wait "$(pid_of $c)" || fail "bench $c: $(cat "$work/$c.out")"
        n=$(sed -n 's/^pairs \([0-9]*\).*/\1/p' "$work/$c.out")
        [ "${n:-0}" -gt 0 ] || fail "contending client $c made no progress"
        total=$((total + n))
    done
    echo "lck bench: 6 clients on 3 nodes contending for one lock: $((total / 3)) pairs/s together, each progressed"
    exit 0
fi

# 1. Counter under an EX lock, two clients per node.
n=50
echo 0 > "$work/counter"
for i in 1 2 3; do
    bg cnt${i}a $i count counter "$work/counter" $n
    bg cnt${i}b $i count counter "$work/counter" $n
done
for c in cnt1a cnt1b cnt2a cnt2b cnt3a cnt3b; do
    wait "$(pid_of $c)" || fail "counter client $c: $(cat "$work/$c.out")"
done
[ "$(cat "$work/counter")" = $((6 * n)) ] || fail "counter is $(cat "$work/counter"), not $((6 * n))"
echo "lck cluster: 6 clients on 3 nodes, $((6 * n)) increments under an EX lock, none lost"

# 2. kill -9 of a holder: its lock goes to a waiter on another node.
bg h1 1 hold r2
wait_out h1 '^held' 20
bg w2 2 wait r2 20000
sleep 0.5
grep -q granted "$work/w2.out" && fail "waiter on node 2 granted while node 1 holds"
kill -KILL "$(pid_of h1)"
wait "$(pid_of h1)" 2>/dev/null
wait "$(pid_of w2)" || fail "waiter on node 2 after the holder died: $(cat "$work/w2.out")"
echo "lck cluster: holder on node 1 killed (-9); waiter on node 2: $(cat "$work/w2.out") ms"

# 3. A timeout: TIMEOUT, and never granted later.
bg h3 3 hold r3
wait_out h3 '^held' 20
out=$(on 2 wait r3 300)
[ "$out" = timeout ] || fail "wait with 300 ms timeout on node 2: $out"
kill -KILL "$(pid_of h3)"
wait "$(pid_of h3)" 2>/dev/null
out=$(on 1 wait r3 10000) || fail "node 1 after the timed-out request: $out"
echo "lck cluster: a 300 ms request timed out on node 2 and was withdrawn; node 1 then got the lock"

# 4. Orphan locks and purge.
on 2 hold r4 orphan > /dev/null || fail "orphan holder on node 2"
out=$(on 1 try r4 orphan)
[ "$out" = orphaned ] || fail "ORPHAN request on node 1 against an orphan lock: $out"
out=$(on 3 try r4)
[ "$out" = not_queued ] || fail "NO_QUEUE request on node 3 against an orphan lock: $out"
on 3 purge r4 > /dev/null || fail "purge on node 3"
out=$(on 1 try r4)
[ "$out" = granted ] || fail "after the purge, node 1: $out"
echo "lck cluster: orphan lock of an exited client kept (ORPHANED, NOT_QUEUED), purged from node 3"

# 5. kill -9 of the holder's executive.
bg h5 3 hold r5
wait_out h5 '^held' 20
bg w5 1 wait r5 30000
sleep 0.5
node_kill 3
wait "$(pid_of w5)" || fail "waiter on node 1 after node 3 died: $(cat "$work/w5.out")"
echo "lck cluster: holder's executive (node 3) killed (-9); waiter on node 1: $(cat "$work/w5.out") ms"

# 6. Node 3 rejoins and sees node 1's lock.
bg h6 1 hold r6
wait_out h6 '^held' 20
node_start 3
wait_members 3 1 2 3
out=$(on 3 try r6)
[ "$out" = not_queued ] || fail "rejoined node 3 on a lock node 1 holds: $out"
kill -KILL "$(pid_of h6)"
wait "$(pid_of h6)" 2>/dev/null
out=$(on 3 wait r6 10000) || fail "rejoined node 3 after the holder died: $out"
echo "lck cluster: restarted node 3 got the lock state (NOT_QUEUED while node 1 held it)"

echo "lck cluster: passed"
