#!/bin/bash
# AMF A.01.01 clients (<corosync/ais_amf.h>) as components of the model, on
# two nodes (own host names amf1, amf2, as cluster.sh; port 6014): the same
# 2N configuration, with amf_a (built against libSaAmf.so.2) on amf1 and
# amf_a linked to the compatibility libSaAmf.so.1 (as a binary of openais
# <= 0.70.1 is) on amf2. Checks, each bounded in time:
#   1. each component is told IN_SERVICE (readiness callback) before its
#      CSI; one gets ACTIVE and the other STANDBY through the A CSI-set
#      callback (*haState, activeCompName = the active one's name,
#      SA_AMF_CSI_ADD_NEW_ISTANCE), saAmfHAStateGet and
#      saAmfReadinessStateGet agree inside the callback, saAmfResponse
#      answers SA_OK; AMF invokes the healthcheck of the configured key
#      every second (HEARTBEAT); `amf_a check` passes against node 1;
#   2. saAmfErrorReport(active, SA_AMF_COMPONENT_RESTART = 3, an A value):
#      the same component is restarted (new process) and ACTIVE again,
#      the standby stays STANDBY (untranslated, 3 would be B's
#      COMPONENT_FAILOVER);
#   3. saAmfErrorReport(active, SA_AMF_COMPONENT_FAILOVER = 4): the
#      standby becomes ACTIVE (SA_AMF_CSI_NOT_QUIESCED), the failed one is
#      restarted and STANDBY again; an A.01.01 protection group tracker
#      (SA_TRACK_CHANGES_ONLY) gets each change in its own buffer;
#   4. kill -9 of the active component: the standby becomes ACTIVE.
#
#   c-tests/amf/cluster_a.sh <bin-dir> <amf_a> <amf_a linked to libSaAmf.so.1> [<amf_a built otherwise>...]
#   (each amf_a runs `check` in step 1)
#
# Needs root (unshare --uts); run it inside a network namespace of its
# own on a shared machine.
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/cluster.sh"
. "$here/events.sh"
cluster_init "amf a cluster" "$1" 6014
cluster_uts_prefix=amf
cluster_node_files=amf_files
comp1="$2 comp"
comp2="$3 comp"
api=$2
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

amf_files() { amf_pair_conf "$comp1" "$comp2" > "$2/amf.conf"; } # node_start's hook: node i's AMF config

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
echo "$active_line" | grep -q "safCsi=CSI1,safSi=SI1,safApp=APP flags=1 peer=.* transition=1 get=ACTIVE ready=IN_SERVICE response=1" ||
    cluster_fail "bad ACTIVE assignment: $active_line"
last " CSISET STANDBY " | grep -q "flags=1 peer=$active transition=1 get=STANDBY ready=IN_SERVICE response=1" ||
    cluster_fail "bad STANDBY assignment: $(last " CSISET STANDBY ")"
for c in "$C1" "$C2"; do
    first=$(grep -E "$c (READINESS|CSISET)" "$log" | head -n 1)
    echo "$first" | grep -q "READINESS IN_SERVICE response=1" || cluster_fail "$c: not IN_SERVICE before its CSI: $first"
done
wait_count "$active HEALTHCHECK HEARTBEAT" 2 10 || cluster_fail "no healthchecks of $active"
wait_count "$standby HEALTHCHECK HEARTBEAT" 2 10 || cluster_fail "no healthchecks of $standby"
echo "amf a cluster: $active ACTIVE, $standby STANDBY (one on libSaAmf.so.1), readiness first, healthchecks"
for a in "$api" "${more_apis[@]}"; do
    node_run 1 timeout 30 "$a" check "$C1" "$C2" safCsi=CSI1,safSi=SI1,safApp=APP > "$cluster_dir/api.log" 2>&1 ||
        cluster_fail "$a check: $(cat "$cluster_dir/api.log")"
    echo "amf a cluster: $(tail -n 1 "$cluster_dir/api.log") ($(basename "$a"))"
done

# 2. Error report with the A COMPONENT_RESTART (3): restarted, ACTIVE again.
victim=$(pid_of "$active")
before=$(count "$active CSISET ACTIVE ")
before_sb=$(count "$standby CSISET ACTIVE ")
t0=$(date +%s%N)
node_run "$(node_of "$active")" timeout 10 "$api" report "$active" 3 > "$cluster_dir/report.log" 2>&1 ||
    cluster_fail "report: $(cat "$cluster_dir/report.log")"
wait_count "$active CSISET ACTIVE " $((before + 1)) 20 || cluster_fail "the restarted component never became ACTIVE again"
back=$(last "$active CSISET ACTIVE ")
[ "$(echo "$back" | awk '{ print $2 }')" != "$victim" ] || cluster_fail "ACTIVE again, but the same pid: not restarted"
[ "$(count "$standby CSISET ACTIVE ")" = "$before_sb" ] || cluster_fail "COMPONENT_RESTART (A 3) failed over"
echo "amf a cluster: error report COMPONENT_RESTART -> restarted and ACTIVE again in $(ms_between "$t0" "$(ns_of "$back")") ms"

# 3. Error report with the A COMPONENT_FAILOVER (4): the standby takes over;
# an A.01.01 tracker on the standby's node is told, in its own buffer.
pg=$cluster_dir/pg.log
(COROSYNC_RUN_DIR=$cluster_dir/n$(node_of "$standby")/run exec "$api" track safCsi=CSI1,safSi=SI1,safApp=APP 60 > "$pg" 2>&1) &
tracker=$!
cluster_bg+=("$tracker")
wait_line "$pg" TRACKING 10 || cluster_fail "the tracker did not start"
before=$(count "$standby CSISET ACTIVE ")
before_sb=$(count "$active CSISET STANDBY ")
t0=$(date +%s%N)
node_run "$(node_of "$active")" timeout 10 "$api" report "$active" 4 > "$cluster_dir/report.log" 2>&1 ||
    cluster_fail "report: $(cat "$cluster_dir/report.log")"
wait_count "$standby CSISET ACTIVE " $((before + 1)) 20 || cluster_fail "COMPONENT_FAILOVER: the standby never became ACTIVE"
last "$standby CSISET ACTIVE " | grep -q "peer=$active transition=3 " ||
    cluster_fail "takeover: $(last "$standby CSISET ACTIVE ")"
t1=$(ns_of "$(last "$standby CSISET ACTIVE ")")
wait_count "$active CSISET STANDBY " $((before_sb + 1)) 20 || cluster_fail "the failed component never came back STANDBY"
echo "amf a cluster: error report COMPONENT_FAILOVER -> standby ACTIVE in $(ms_between "$t0" "$t1") ms, redundancy restored"
# The takeover (the new active's STATE_CHANGE, the old one REMOVED), then
# the old one ADDED back as STANDBY.
wait_line "$pg" "$active=2/2" 10 || cluster_fail "the A tracker never saw $active come back: $(cat "$pg")"
grep -q "^PG 1 2 err=1 buf=caller .*$standby=1/4 $active=1/3" "$pg" || cluster_fail "the A tracker missed the takeover: $(cat "$pg")"
kill "$tracker" 2>/dev/null
wait "$tracker" 2>/dev/null
echo "amf a cluster: A.01.01 protection group tracker told: $(grep -c '^PG' "$pg") changes, in its buffer"

# 4. kill -9 of the active component.
active=$standby
standby=$(other "$active")
before=$(count "$standby CSISET ACTIVE ")
t0=$(date +%s%N)
kill -KILL "$(pid_of "$active")"
wait_count "$standby CSISET ACTIVE " $((before + 1)) 10 || cluster_fail "kill -9: the standby never became ACTIVE"
echo "amf a cluster: component kill -9 -> standby ACTIVE in $(ms_between "$t0" "$(ns_of "$(last "$standby CSISET ACTIVE ")")") ms"
echo "amf a cluster: passed"
