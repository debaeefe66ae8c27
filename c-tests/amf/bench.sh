#!/bin/bash
# The AMF benchmark (`make bench-amf`, part of `make bench`): three
# executives with host names amf1-amf3 (token 1000 ms, unicast on
# 127.0.0.1-3), the SA-aware test component amf_comp.c started by clc.sh.
# Prints min/median/max over the repetitions of:
#
#   1. kill -9 of the ACTIVE component (2N, component_failover) -> the
#      standby's saAmfCSISetCallback ACTIVE                   (aim < 500 ms)
#   2. kill -9 of the ACTIVE component (2N, component_restart) -> the same
#      component restarted (cleanup, instantiate, register) and ACTIVE
#      again                                                  (aim < 1 s)
#   3. kill -9 of the ACTIVE's executive -> the standby ACTIVE, beside the
#      membership change (the survivors' "processor left" log line)
#                                                 (aim < membership + 200 ms)
#   4. healthcheck jitter at period 1000 ms: |interval - 1000| between
#      consecutive callbacks of each component               (aim <= 50 ms)
#   5. idle CPU of the executives with 100 components (50 2N SGs over the
#      3 nodes, healthchecks every second)                    (aim < 1%)
#
#   c-tests/amf/bench.sh <bin-dir> [repetitions]     (target/release; root)
#
# Not a test (it only fails when something never happens), never in make
# check. Re-executes itself under `unshare -n` (fixed addresses and port
# 16550 cannot clash with anything else). Bounded: `make bench-amf` wraps
# it in a timeout.
set -u
if [ -z "${AMF_BENCH_NETNS:-}" ]; then
    exec unshare -n env AMF_BENCH_NETNS=1 bash -c 'ip link set lo up && exec "$0" "$@"' "$0" "$@"
fi
here=$(cd "$(dirname "$0")" && pwd)
root=$(cd "$here/../.." && pwd)
. "$here/story-lib.sh"
story_init "amf bench" "${1:?usage: $0 <bin-dir> [repetitions]}" 16550
reps=${2:-5}
lib=$cluster_bin/lib
comp=$cluster_dir/bin/amf_comp
mkdir -p "$cluster_dir/bin"
${CC:-gcc} -std=gnu99 -O2 -Wall -I"$root/include" -o "$comp" "$here/amf_comp.c" \
    -L"$lib" -Wl,-rpath,"$lib" -lSaAmf || cluster_fail "cannot build amf_comp"
fail() { cluster_fail "$@"; }
say() { echo "amf bench: $*"; }

# stats: numbers on stdin -> "min/median/max ms (n)", with the 99th
# percentile when there are 100 or more
stats() {
    sort -n | awk '{ v[NR] = $1 } END { if (NR == 0) { print "none"; exit }
        printf "%s/%s/%s ms (n=%d", v[1], v[int((NR + 1) / 2)], v[NR], NR
        if (NR >= 100) printf ", 99th percentile %s", v[int(NR * 0.99)]
        print ")" }'
}

# The time (ns) of the first "processor left" line at or after $2 (ns) in
# node $1's log (hires local-time stamps: "Dec 07 08:57:01.123 ").
left_ns() {
    local stamp
    while read -r stamp; do
        local t=$(($(date -d "$stamp" +%s%3N) * 1000000))
        [ "$t" -ge $(($2 - 1000000)) ] && { echo "$t"; return 0; }
    done < <(grep 'processor left' "$cluster_dir/n$1.log" | awk '{ print $1, $2, $3 }')
    return 1
}

# CPU time (ns, from schedstat: exact, where utime/stime ticks would round
# each idle component to 0) of all threads of the given pids.
cpu_ns() {
    local p s=0 f
    for p in "$@"; do
        for f in /proc/"$p"/task/*/schedstat; do
            [ -r "$f" ] && s=$((s + $(awk '{ print $1 }' "$f" 2>/dev/null || echo 0)))
        done
    done
    echo "$s"
}
exec_pids() { echo "${cluster_pids[1]} ${cluster_pids[2]} ${cluster_pids[3]}"; }
comp_pids() { cat "$pids"/*.pid; }
# Voluntary context switches (wakeups) of all threads of the given pids.
wakeups() {
    local p s=0 f
    for p in "$@"; do
        for f in /proc/"$p"/task/*/status; do
            [ -r "$f" ] && s=$((s + $(awk '/^voluntary_ctxt_switches/ { print $2 }' "$f" 2>/dev/null || echo 0)))
        done
    done
    echo "$s"
}
idle_cpu() { # idle_cpu <seconds> <label>: the executives' and the components' CPU share
    local e0=() e1=() w0 w1 c0 c1 x0 x1 wall_ms i sum=0 max=0 d
    for i in 1 2 3; do e0[$i]=$(cpu_ns "${cluster_pids[$i]}"); done
    c0=$(cpu_ns $(comp_pids))
    x0=$(wakeups $(exec_pids))
    w0=$(now_ns)
    sleep "$1"
    for i in 1 2 3; do e1[$i]=$(cpu_ns "${cluster_pids[$i]}"); done
    c1=$(cpu_ns $(comp_pids))
    x1=$(wakeups $(exec_pids))
    w1=$(now_ns)
    wall_ms=$(((w1 - w0) / 1000000))
    for i in 1 2 3; do
        d=$((e1[i] - e0[i]))
        sum=$((sum + d))
        [ "$d" -le "$max" ] || max=$d
    done
    pct() { awk -v t="$1" -v ms="$wall_ms" 'BEGIN { printf "%.2f%%", t / 10000 / ms }'; }
    say "5. idle CPU, $2, over $1 s: executives $(pct "$max") of one core at most per node, $(pct "$sum") the 3 together ($(((x1 - x0) * 1000 / wall_ms / 3)) wakeups/s per node); the components $(pct $((c1 - c0))) together"
}

# jitter <since ns>: |interval - 1000| ms of each component's consecutive
# HEALTHCHECK lines after <since>, one per line.
jitter() {
    awk -v since="$1" '$4 == "HEALTHCHECK" && $1 >= since {
        k = $2 " " $3
        if (k in prev) { d = ($1 - prev[k]) / 1000000 - 1000; if (d < 0) d = -d; printf "%d\n", d }
        prev[k] = $1 }' "$log"
}

# --- Part 1: failover and restart times, 2 SGs ---
F1=$(comp_dn F SU1)
F2=$(comp_dn F SU2)
R1=$(comp_dn R SU1)
story_sg F "$comp" component_failover 1 2
story_sg R "$comp" component_restart 2 3
for i in 1 2 3; do node_start "$i"; done
wait_members 3 1 2 3
wait_count " CSISET ACTIVE " 2 30 || fail "the SGs were never assigned"
wait_count " CSISET STANDBY " 2 30 || fail "the SGs never got standbys"
say "3 nodes, token 1000; SG F (component_failover) on amf1/amf2, SG R (component_restart) on amf2/amf3; $reps repetitions"
t_start=$(now_ns)

active_of() { # the component of SG $1 that was made ACTIVE last
    last "safSg=$1,safApp=APP CSISET ACTIVE " | awk '{ print $3 }'
}
other_f() { if [ "$1" = "$F1" ]; then echo "$F2"; else echo "$F1"; fi; }

# 1. Component failover.
: > "$cluster_dir/failover"
for _ in $(seq "$reps"); do
    a=$(active_of F)
    s=$(other_f "$a")
    n_act=$(count "$s CSISET ACTIVE ")
    n_sb=$(count "$a CSISET STANDBY ")
    t0=$(now_ns)
    kill -KILL "$(pid_of "$a")"
    wait_count "$s CSISET ACTIVE " $((n_act + 1)) 10 || fail "component failover: no takeover"
    ms_between "$t0" "$(ns_of "$(last "$s CSISET ACTIVE ")")" >> "$cluster_dir/failover"
    wait_count "$a CSISET STANDBY " $((n_sb + 1)) 20 || fail "component failover: the killed one never came back"
    sleep 0.5
done
say "1. kill -9 of the active component -> standby ACTIVE:        $(stats < "$cluster_dir/failover")"

# 2. Component restart.
: > "$cluster_dir/restart"
for _ in $(seq "$reps"); do
    a=$(active_of R)
    n_act=$(count "$a CSISET ACTIVE ")
    t0=$(now_ns)
    kill -KILL "$(pid_of "$a")"
    wait_count "$a CSISET ACTIVE " $((n_act + 1)) 10 || fail "component restart: never ACTIVE again"
    ms_between "$t0" "$(ns_of "$(last "$a CSISET ACTIVE ")")" >> "$cluster_dir/restart"
    sleep 0.5
done
say "2. kill -9 of the active component -> restarted, ACTIVE again: $(stats < "$cluster_dir/restart")"

# 3. Node failover: kill the executive of F's active; the node comes back
# (its components instantiated again) before the next round.
: > "$cluster_dir/node"
: > "$cluster_dir/membership"
: > "$cluster_dir/after"
for _ in $(seq "$reps"); do
    a=$(active_of F)
    s=$(other_f "$a")
    if [ "$a" = "$F1" ]; then n=1; survivor=2; else n=2; survivor=1; fi
    n_act=$(count "$s CSISET ACTIVE ")
    n_sb=$(count "$a CSISET STANDBY ")
    n_r1=$(count "$R1 CSISET STANDBY ")
    s_pid=$(pid_of "$s")
    t0=$(now_ns)
    node_kill "$n"
    wait_count "$s CSISET ACTIVE " $((n_act + 1)) 20 || fail "node failover: no takeover"
    t1=$(ns_of "$(last "$s CSISET ACTIVE ")")
    sleep 0.3 # the log line is written
    # The standby itself took over (and was not restarted just after).
    [ "$(pid_of "$s")" = "$s_pid" ] ||
        fail "node failover: the standby (pid $s_pid) was restarted: $(grep -E "$s (REGISTERED|CSISET)" "$log" | tail -n 3)"
    tm=$(left_ns "$survivor" "$t0") || fail "node failover: no membership change in node $survivor's log"
    ms_between "$t0" "$t1" >> "$cluster_dir/node"
    ms_between "$t0" "$tm" >> "$cluster_dir/membership"
    echo $((($t1 - $tm) / 1000000)) >> "$cluster_dir/after"
    node_start "$n"
    wait_count "$a CSISET STANDBY " $((n_sb + 1)) 30 || fail "node failover: node $n's component never came back"
    # Node 2 also hosts SG R's SU1: it comes back STANDBY too.
    if [ "$n" = 2 ]; then
        wait_count "$R1 CSISET STANDBY " $((n_r1 + 1)) 30 || fail "node failover: SG R not whole again"
    fi
    sleep 1
done
say "3. kill -9 of the active's node -> standby ACTIVE:            $(stats < "$cluster_dir/node")"
say "   of which membership (kill -> survivors' 'processor left'):  $(stats < "$cluster_dir/membership")"
say "   and AMF after the membership change:                       $(stats < "$cluster_dir/after")"

j=$(jitter "$t_start" | stats)
say "4. healthcheck jitter, period 1000, 4 components (during 1-3):  $j"
sleep 2
idle_cpu 10 "4 components"
cluster_stop
sleep 1

# --- Part 2: 100 components idle ---
story_sgs=""
for g in $(seq 50); do
    a=$(((g % 3) + 1))
    b=$((((g + 1) % 3) + 1))
    story_sg "G$g" "$comp" component_failover "$a" "$b"
done
: > "$log"
rm -f "$pids"/*.pid
for i in 1 2 3; do
    rm -rf "$cluster_dir/n$i/run"
    : > "$cluster_dir/n$i.log"
    node_start "$i"
done
wait_members 3 1 2 3
wait_count " CSISET ACTIVE " 50 60 || fail "100 components: not all 50 SGs assigned ($(count " CSISET ACTIVE ") ACTIVE)"
wait_count " CSISET STANDBY " 50 60 || fail "100 components: not all 50 SGs have a standby"
say "100 components (50 2N SGs over amf1-amf3, healthcheck 1000 ms each) assigned; settling 5 s"
sleep 5
t_idle=$(now_ns)
idle_cpu 30 "100 components"
j=$(jitter "$t_idle" | stats)
say "4. healthcheck jitter, period 1000, 100 components (idle):  $j"
