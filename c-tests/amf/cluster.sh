#!/bin/bash
# The AMF failover story on two nodes: each executive in its own UTS
# namespace with its own host name (amf1, amf2), so each is the AMF node
# of that name in amf.conf; a 2N service group with one SU per node, one
# component each (amf_comp, started and cleaned up by clc.sh), one SI with
# one CSI. Checks, each bounded in time:
#   1. the cluster instantiates both components and gives one ACTIVE and
#      one STANDBY (with the CSI's attribute, the peer's name, and
#      saAmfHAStateGet agreeing), and AMF-invoked healthchecks run; the
#      API test (amf_api check) passes against node 1;
#   2. kill -9 of the active component: the standby becomes ACTIVE (time
#      printed), the killed one is cleaned up, instantiated again and
#      becomes STANDBY; a protection group tracker (amf_api track) on the
#      standby's node is told each change;
#   3. kill -9 of the active component's executive: the standby becomes
#      ACTIVE (time printed); the node restarts, its component is
#      instantiated again and becomes STANDBY.
#
#   c-tests/amf/cluster.sh <bin-dir> <amf_comp> <amf_api> [<amf_api built otherwise>...]
#
# Needs root (unshare --uts); run it inside a network namespace of its
# own on a shared machine (unicast on 127.0.0.1-2, port 6010).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/cluster.sh"
. "$here/events.sh"
cluster_init "amf cluster" "$1" 6010
cluster_uts_prefix=amf
cluster_node_files=amf_files
comp=$2
api=$3
shift 3
more_apis=("$@")
cluster_members=2
cluster_extra='amf {
  mode: enabled
}'
cluster_log_tail=60
cluster_dump_also='*.log'
log=$cluster_dir/amf.log
pids=$cluster_dir/pids
mkdir -p "$pids"
: > "$log"

amf_files() { amf_pair_conf "$comp" "$comp" > "$2/amf.conf"; } # node_start's hook: node i's AMF config

C1=safComp=C,safSu=SU1,safSg=SG,safApp=APP
C2=safComp=C,safSu=SU2,safSg=SG,safApp=APP

node_start 1
node_start 2
wait_members 2 1 2

# 1. Assignment.
wait_count " CSISET ACTIVE " 1 20 || cluster_fail "no component became ACTIVE"
wait_count " CSISET STANDBY " 1 20 || cluster_fail "no component became STANDBY"
active_line=$(last " CSISET ACTIVE ")
active=$(echo "$active_line" | awk '{ print $3 }')
standby=$(last " CSISET STANDBY " | awk '{ print $3 }')
[ "$standby" = "$(other "$active")" ] || cluster_fail "ACTIVE $active and STANDBY $standby: not the two SUs"
echo "$active_line" | grep -q "safCsi=CSI1,safSi=SI1,safApp=APP flags=1 .*attr=port=8080 get=ACTIVE response=1" ||
    cluster_fail "bad ACTIVE assignment: $active_line"
last " CSISET STANDBY " | grep -q "peer=$active attr=port=8080 get=STANDBY" ||
    cluster_fail "bad STANDBY assignment: $(last " CSISET STANDBY ")"
wait_count "$active HEALTHCHECK key1" 2 10 || cluster_fail "no healthchecks of $active"
echo "amf cluster: $active ACTIVE, $standby STANDBY, healthchecks every second"
for a in "$api" "${more_apis[@]}"; do
    node_run 1 timeout 30 "$a" check > "$cluster_dir/api.log" 2>&1 || cluster_fail "$a check"
    echo "amf cluster: $(tail -n 1 "$cluster_dir/api.log") ($(basename "$a"))"
done
pg=$cluster_dir/pg.log
# (exec: $! is the tracker itself, which bounds its own time.)
(COROSYNC_RUN_DIR=$cluster_dir/n$(node_of "$standby")/run exec "$api" track 60 > "$pg" 2>&1) &
tracker=$!
cluster_bg+=("$tracker")
wait_line "$pg" TRACKING 10 || cluster_fail "the tracker did not start"

# 2. kill -9 of the active component.
victim=$(pid_of "$active")
before=$(count "$standby CSISET ACTIVE ")
before_sb=$(count "$active CSISET STANDBY ")
t0=$(date +%s%N)
kill -KILL "$victim"
wait_count "$standby CSISET ACTIVE " $((before + 1)) 10 || cluster_fail "the standby never became ACTIVE"
t1=$(ns_of "$(last "$standby CSISET ACTIVE ")")
last "$standby CSISET ACTIVE " | grep -q "flags=2 peer=$active" || cluster_fail "takeover: $(last "$standby CSISET ACTIVE ")"
echo "amf cluster: component kill -9 -> standby ACTIVE in $(ms_between "$t0" "$t1") ms"
wait_count "$active CSISET STANDBY " $((before_sb + 1)) 20 || cluster_fail "the killed component never came back STANDBY"
back=$(last "$active CSISET STANDBY ")
[ "$(echo "$back" | awk '{ print $2 }')" != "$victim" ] || cluster_fail "STANDBY again, but the same pid"
echo "amf cluster: killed component restarted, STANDBY again after $(ms_between "$t0" "$(ns_of "$back")") ms"
# The tracker saw the takeover (the new active's STATE_CHANGE, the old
# one REMOVED), then the old one ADDED back as STANDBY.
wait_line "$pg" "$active=2/2" 10 || cluster_fail "the tracker never saw $active come back"
grep -q "^PG 1 .* $standby=1/4 $active=1/3" "$pg" || cluster_fail "the tracker missed the takeover: $(cat "$pg")"
kill "$tracker" 2>/dev/null
wait "$tracker" 2>/dev/null
echo "amf cluster: protection group tracker told: $(grep -c '^PG' "$pg") changes"

# 3. kill -9 of the active component's executive.
active=$standby
standby=$(other "$active")
n=$(node_of "$active")
before=$(count "$standby CSISET ACTIVE ")
t0=$(date +%s%N)
node_kill "$n"
wait_count "$standby CSISET ACTIVE " $((before + 1)) 20 || cluster_fail "no takeover after node $n died"
t1=$(ns_of "$(last "$standby CSISET ACTIVE ")")
echo "amf cluster: executive kill -9 (token 1000) -> standby ACTIVE in $(ms_between "$t0" "$t1") ms"
# Told once the survivors synced: its answer is taken, its HA state reads.
last "$standby CSISET ACTIVE " | grep -q "get=ACTIVE response=1" ||
    cluster_fail "the takeover's callback came during sync: $(last "$standby CSISET ACTIVE ")"
before_sb=$(count "$active CSISET STANDBY ")
node_start "$n"
wait_count "$active CSISET STANDBY " $((before_sb + 1)) 30 || cluster_fail "node $n came back but its component never became STANDBY"
echo "amf cluster: node $n back, its component STANDBY again"
n_active=$(grep -c " CSISET ACTIVE " "$log")
echo "amf cluster: passed ($n_active ACTIVE assignments in all)"
