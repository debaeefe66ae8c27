#!/bin/bash
# The AMF demo: three executives, each in its own UTS namespace with its
# own host name (amf1-amf3), an AMF 2N service group whose counter
# component (amf_counter.c: SA-aware, its count in a checkpoint) runs
# ACTIVE on one node and STANDBY on another. The demo kills the active
# process with kill -9, then the active's whole node (its executive), and
# prints each time who became ACTIVE, how long it took, and that the count
# went on from the last checkpointed value; the killed side comes back
# STANDBY each time. Stops everything it started, also on failure.
# Bounded: about 90 s at worst (make demo wraps it in a timeout too).
#
#   c-tests/amf/demo.sh <bin-dir>      (target/release; needs root)
#
# Runs in a private network namespace of its own (re-executes itself under
# `unshare -n`), so its fixed addresses (127.0.0.1-3, port 16540) cannot
# clash with anything else on the machine.
set -u
if [ -z "${AMF_DEMO_NETNS:-}" ]; then
    exec unshare -n env AMF_DEMO_NETNS=1 bash -c 'ip link set lo up && exec "$0" "$@"' "$0" "$@"
fi
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/story-lib.sh"
story_init "amf demo" "${1:?usage: $0 <bin-dir>}" 16540
lib=$cluster_bin/lib
counter=$cluster_dir/bin/amf_counter
mkdir -p "$cluster_dir/bin"
${CC:-gcc} -std=gnu99 -O2 -Wall -I"$root/include" -o "$counter" "$here/amf_counter.c" \
    -L"$lib" -Wl,-rpath,"$lib" -lSaAmf -lSaCkpt || cluster_fail "cannot build amf_counter"

say() { echo "amf demo: $*"; }
fail() { cluster_fail "$@"; }
# The component DNs, and a short name for each: its SU and node.
C1=$(comp_dn COUNTER SU1)
C2=$(comp_dn COUNTER SU2)
short() { echo "SU$(node_of "$1") on amf$(node_of "$1") (pid $2)"; }
# The last count $1 wrote (0 when none yet).
last_written() { local l; l=$(last "$1 WROTE "); echo "${l##* }"; }

story_sg COUNTER "$counter" component_failover 1 2
say "three executives on 127.0.0.1-3, host names amf1, amf2, amf3 (token 1000 ms)"
for i in 1 2 3; do node_start "$i"; done
wait_members 3 1 2 3
say "one ring of 3 nodes; AMF instantiates the counter on amf1 and amf2"

wait_count " CSISET ACTIVE " 1 20 || fail "no counter became ACTIVE"
wait_count " CSISET STANDBY " 1 20 || fail "no counter became STANDBY"
active=$(last " CSISET ACTIVE " | awk '{ print $3 }')
standby=$(other "$active")
say "ACTIVE: $(short "$active" "$(pid_of "$active")"), STANDBY: $(short "$standby" "$(pid_of "$standby")")"

# takeover <what was killed> <kill time ns> <last count of the old active>:
# wait for the standby's ACTIVE and RESUMED lines, print and check them.
takeover() {
    local what=$1 t0=$2 before=$3 line t1 resumed
    wait_count "$standby RESUMED " $((resumed_before + 1)) 20 || fail "after $what: the standby never became ACTIVE"
    line=$(last "$standby CSISET ACTIVE ")
    t1=$(ns_of "$line")
    resumed=$(last "$standby RESUMED ")
    resumed=${resumed##* }
    say "  -> $(short "$standby" "$(echo "$line" | awk '{ print $2 }')") is ACTIVE $(ms_between "$t0" "$t1") ms after the kill"
    [ "$resumed" -ge "$before" ] || fail "it resumed from $resumed, below the last checkpointed count $before"
    # A write in flight at the kill may have reached the checkpoint.
    [ "$resumed" -le $((before + 1)) ] || fail "it resumed from $resumed, above the last count written ($before)"
    say "  -> it read $resumed from the checkpoint (the old active's last acknowledged write: $before) and counts on"
    wait_count "$standby WROTE $((resumed + 1))\$" 1 10 || fail "the new active does not count on from $resumed"
    say "  -> its next write: $((resumed + 1))"
    # The standby itself took over: not restarted on the way (a warm
    # standby that is cleaned up and instantiated again loses its state).
    [ "$(pid_of "$standby")" = "$standby_pid" ] && [ "$(echo "$line" | awk '{ print $2 }')" = "$standby_pid" ] ||
        fail "the standby (pid $standby_pid) was restarted instead of taking over: $(grep -E "$standby (REGISTERED|CSISET)" "$log" | tail -n 3)"
    active=$standby
    standby=$(other "$active")
}

# back <seconds>: the old active's component comes back STANDBY.
back() {
    wait_count "$standby CSISET STANDBY " $((standby_before + 1)) "$1" ||
        fail "$(short "$standby" -) never came back STANDBY"
    say "  -> $(short "$standby" "$(last "$standby CSISET STANDBY " | awk '{ print $2 }')") is STANDBY again: redundancy restored"
}

sleep 2
say "the counter counts (one write every 100 ms); at $(last_written "$active") now"

# 1. kill -9 of the active process.
victim=$(pid_of "$active")
resumed_before=$(count "$standby RESUMED ")
standby_before=$(count "$active CSISET STANDBY ")
standby_pid=$(pid_of "$standby")
t0=$(now_ns)
kill -KILL "$victim"
sleep 0.2 # (a write acknowledged just before the kill is logged by now)
before=$(last_written "$active")
say "kill -9 of the ACTIVE process $(short "$active" "$victim") at count $before"
takeover "the process kill" "$t0" "$before"
back 20

sleep 2
say "the counter is at $(last_written "$active")"

# 2. kill -9 of the active's executive: the whole node is gone.
n=$(node_of "$active")
resumed_before=$(count "$standby RESUMED ")
standby_before=$(count "$active CSISET STANDBY ")
standby_pid=$(pid_of "$standby")
t0=$(now_ns)
node_kill "$n"
sleep 0.2 # (a write acknowledged just before the kill is logged by now)
before=$(last_written "$active")
say "kill -9 of node amf$n's executive (the ACTIVE's node) at count $before"
takeover "the node kill" "$t0" "$before"
say "restarting node amf$n"
node_start "$n"
back 30

sleep 1
say "node amf3 (no counter there) reads the checkpoint: $(node_run 3 timeout 10 "$counter" show)"
say "done: two failovers, the count never went back"
