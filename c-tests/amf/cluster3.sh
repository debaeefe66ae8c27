#!/bin/bash
# The AMF redundancy models on three nodes: each executive in its own UTS
# namespace with its own host name (amf1..amf3). Two service groups:
#   NM, N+M 2+1: SU1..SU3 on amf1..amf3 (component C each), SIs SI1 and
#      SI2 (one CSI each), one SI per active SU, the standby SU protects
#      both;
#   NR, no redundancy: R1 on amf1, R2 on amf2 with components C and D
#      each (D has a terminate command and a 1 s callback timeout), SI SIR
#      with one CSI for each.
# Checks, each bounded in time:
#   1. NM: two SUs ACTIVE for one SI each, the third STANDBY for both; NR:
#      SIR ACTIVE on one SU (both components);
#   2. kill -9 of SI1's active component: its standby takes SI1 over
#      (time printed) and drops its SI2 standby (CSI remove); the killed
#      one comes back STANDBY for both: redundancy restored;
#   3. kill -9 of C of SIR's SU: its healthy D gets the terminate
#      callback, answers and exits; SIR moves to the other SU; both
#      components of the failed SU come back, unassigned (a spare);
#   4. callback timeouts: D of the SIR SU is made to leave the terminate
#      callback unanswered and D of the spare the CSI set callback; kill
#      -9 of C of the SIR SU: after 1 s the executive runs D's terminate
#      command, and the spare's D, not answering its CSI set, is failed
#      over; SIR ends ACTIVE again on one of them;
#   5. kill -9 of the executive of SI2's active component: SI2's standby
#      takes it over (time printed); the node restarts and its component
#      becomes the standby of both SIs;
#   6. node switchover: an error report recommending it (amf_api report)
#      on NR's C of a node whose NM SU holds an ACTIVE: that SU is quiesced
#      (CSI set QUIESCED), then its standby takes over with the QUIESCED
#      transition, and the quiesced assignment is removed.
#
#   c-tests/amf/cluster3.sh <bin-dir> <amf_comp> <amf_api>
#
# Needs root (unshare --uts); run it inside a network namespace of its
# own on a shared machine (unicast on 127.0.0.1-3, port 6012).
set -u
here=$(cd "$(dirname "$0")" && pwd)
. "$here/../lib/cluster.sh"
. "$here/events.sh"
cluster_init "amf 3 nodes" "$1" 6012
cluster_uts_prefix=amf
cluster_node_files=amf_files
comp=$2
api=$3
cluster_members=3
cluster_extra='amf {
  mode: enabled
}'
cluster_log_tail=80
cluster_dump_also='*.log'
log=$cluster_dir/amf.log
pids=$cluster_dir/pids
mkdir -p "$pids"
: > "$log"

component() { # component <name> <cs type> <callback timeout> [extra lines]
    cat <<EOF2
                safComp = $1 {
                    saAmfCompCategory=sa_aware
                    saAmfCompCapability=x_active_or_y_standby
                    saAmfCompNumMaxActiveCsi=1
                    saAmfCompNumMaxStandbyCsi=2
                    saAmfCompDefaultClcCliTimeout=5000
                    saAmfCompDefaultCallbackTimeOut=$3
                    saAmfCompInstantiateCmd=clc.sh
                    saAmfCompInstantiateCmdArgv=instantiate $comp
                    saAmfCompCleanupCmd=clc.sh
                    saAmfCompCleanupCmdArgv=cleanup
${4:-}
                    saAmfCompCsTypes {
                        $2
                    }
                    saAmfCompCmdEnv {
                        AMF_LOG=$log
                        AMF_PID_DIR=$pids
                    }
                    saAmfCompRecoveryOnError=component_failover
                    safHealthcheckKey = key1 {
                        saAmfHealthcheckPeriod=2000
                        saAmfHealthcheckMaxDuration=1000
                    }
                }
EOF2
}

restart_limits='saAmfSGCompRestartProb=60000
            saAmfSGCompRestartMax=2
            saAmfSGSuRestartProb=60000
            saAmfSGSuRestartMax=2'

amf_conf() {
    local i
    cat <<EOF2
safAmfCluster = CL {
    saAmfClusterStartupTimeout=1500
$(for i in 1 2 3; do printf '    safAmfNode = amf%s {\n    }\n' "$i"; done)
    safApp = APP {
        clccli_path=$here
        safSg = NM {
            saAmfSGRedundancyModel=nplusm
            saAmfSGNumPrefActiveSUs=2
            saAmfSGNumPrefStandbySUs=1
            saAmfSGMaxActiveSIsperSUs=1
            saAmfSGMaxStandbySIsperSUs=2
            $restart_limits
$(for i in 1 2 3; do
        printf '            safSu = SU%s {\n                saAmfSUHostedByNode=amf%s\n' "$i" "$i"
        component C WEB 2000
        printf '            }\n'
    done)
        }
        safSg = NR {
            saAmfSGRedundancyModel=noredundancy
            $restart_limits
$(for i in 1 2; do
        printf '            safSu = R%s {\n                saAmfSUHostedByNode=amf%s\n' "$i" "$i"
        component C WEB 2000
        component D DB 1000 '                    saAmfCompTerminateCmd=clc.sh
                    saAmfCompTerminateCmdArgv=terminate'
        printf '            }\n'
    done)
        }
$(for si in SI1 SI2; do
        printf '        safSi = %s {\n            saAmfSIProtectedbySG=NM\n' "$si"
        printf '            safCsi = W {\n                saAmfCSTypeName = WEB\n                safCSIAttr = port {\n                    80\n                }\n            }\n        }\n'
    done)
        safSi = SIR {
            saAmfSIProtectedbySG=NR
            safCsi = W {
                saAmfCSTypeName = WEB
            }
            safCsi = D {
                saAmfCSTypeName = DB
            }
        }
        safCSType = WEB {
            safAmfCSAttrName = port
        }
        safCSType = DB {
        }
    }
}
EOF2
}

amf_files() { amf_conf > "$2/amf.conf"; } # node_start's hook: node i's AMF config

exec_note() { # exec_note <regex> <seconds>: a line of some executive's log
    local t=0
    until cat "$cluster_dir"/n*.log | grep -qE "$1"; do
        [ "$t" -lt $(($2 * 10)) ] || return 1
        sleep 0.1
        t=$((t + 1))
    done
}
nm() { echo "safComp=C,safSu=$1,safSg=NM,safApp=APP"; }
nr() { echo "safComp=$2,safSu=$1,safSg=NR,safApp=APP"; }
W1=safCsi=W,safSi=SI1,safApp=APP
W2=safCsi=W,safSi=SI2,safApp=APP
holder() { # holder <ha> <csi>: the component last told it holds the CSI so
    last " CSISET $1 $2 " | awk '{ print $3 }'
}
su_of() { echo "$1" | sed 's/.*safSu=\([^,]*\),.*/\1/'; }

for i in 1 2 3; do node_start "$i"; done
wait_members 3 1 2 3

# 1. Assignment.
wait_count " CSISET ACTIVE $W1 " 1 30 || cluster_fail "SI1 never ACTIVE"
wait_count " CSISET ACTIVE $W2 " 1 30 || cluster_fail "SI2 never ACTIVE"
wait_count " CSISET STANDBY $W1 " 1 30 || cluster_fail "SI1 never STANDBY"
wait_count " CSISET STANDBY $W2 " 1 30 || cluster_fail "SI2 never STANDBY"
wait_count "safSg=NR,safApp=APP CSISET ACTIVE " 2 30 || cluster_fail "SIR never ACTIVE on both components"
a1=$(holder ACTIVE "$W1")
a2=$(holder ACTIVE "$W2")
sb=$(holder STANDBY "$W1")
[ "$(holder STANDBY "$W2")" = "$sb" ] || cluster_fail "SI1 and SI2 have different standby SUs"
[ "$a1" != "$a2" ] && [ "$sb" != "$a1" ] && [ "$sb" != "$a2" ] ||
    cluster_fail "N+M 2+1: ACTIVE $a1, $a2, STANDBY $sb: not three SUs"
[ "$(count " CSISET (ACTIVE|STANDBY) safCsi=W,safSi=SI[12],")" -eq 4 ] || cluster_fail "more than 4 NM assignments"
last "$sb CSISET STANDBY $W1 " | grep -q "peer=$a1 .*get=STANDBY" || cluster_fail "bad standby: $(last "$sb CSISET STANDBY $W1")"
ra=$(su_of "$(last "safSg=NR,safApp=APP CSISET ACTIVE " | awk '{ print $3 }')")
if [ "$ra" = R1 ]; then rs=R2; else rs=R1; fi
[ "$(count "$(nr "$ra" D) CSISET ACTIVE safCsi=D,safSi=SIR")" -eq 1 ] || cluster_fail "SIR's D CSI not on $ra's D"
echo "amf 3 nodes: N+M $(su_of "$a1") ACTIVE SI1, $(su_of "$a2") ACTIVE SI2, $(su_of "$sb") STANDBY both; SIR ACTIVE on $ra"

# 2. N+M failover: kill -9 of SI1's active component.
before=$(count "$sb CSISET ACTIVE $W1 ")
before_sb=$(count "$a1 CSISET STANDBY ")
t0=$(date +%s%N)
kill -KILL "$(pid_of "$a1")"
wait_count "$sb CSISET ACTIVE $W1 " $((before + 1)) 10 || cluster_fail "the standby never took SI1 over"
line=$(last "$sb CSISET ACTIVE $W1 ")
echo "$line" | grep -q "flags=2 peer=$a1 " || cluster_fail "takeover: $line"
echo "amf 3 nodes: N+M component kill -9 -> standby ACTIVE in $(ms_between "$t0" "$(ns_of "$line")") ms"
wait_count "$sb CSIREMOVE $W2\$" 1 10 || cluster_fail "the new active SU kept its SI2 standby"
wait_count "$a1 CSISET STANDBY " $((before_sb + 2)) 20 || cluster_fail "the killed component never became STANDBY of both SIs"
last "$a1 CSISET STANDBY $W1 " | grep -q "peer=$sb " || cluster_fail "SI1 standby: $(last "$a1 CSISET STANDBY $W1 ")"
last "$a1 CSISET STANDBY $W2 " | grep -q "peer=$a2 " || cluster_fail "SI2 standby: $(last "$a1 CSISET STANDBY $W2 ")"
echo "amf 3 nodes: redundancy restored: $(su_of "$a1") STANDBY for SI1 and SI2 after $(ms_between "$t0" "$(ns_of "$(last "$a1 CSISET STANDBY ")")") ms"
old_sb=$sb
sb=$a1
a1=$old_sb

# 3. No redundancy, and the terminate callback: kill -9 of C of SIR's SU.
ca=$(nr "$ra" C)
da=$(nr "$ra" D)
before_t=$(count "$da TERMINATE\$")
before_r=$(count "$da REGISTERED")
before_s=$(count "$(nr "$rs" D) CSISET ACTIVE ")
before_any=$(count "$(nr "$ra" [CD]) CSISET ")
kill -KILL "$(pid_of "$ca")"
wait_count "$da TERMINATE\$" $((before_t + 1)) 10 || cluster_fail "$da never got the terminate callback"
wait_count "$(nr "$rs" D) CSISET ACTIVE safCsi=D,safSi=SIR,safApp=APP flags=1 " $((before_s + 1)) 10 ||
    cluster_fail "SIR never moved to $rs"
wait_count "$da REGISTERED" $((before_r + 1)) 20 || cluster_fail "$da never came back"
wait_count "$ca REGISTERED" 2 20 || cluster_fail "$ca never came back"
exec_note "component $da terminated" 5 || cluster_fail "no terminated note for $da"
sleep 1
[ "$(count "$(nr "$ra" [CD]) CSISET ")" -eq "$before_any" ] || cluster_fail "the spare $ra got an assignment"
echo "amf 3 nodes: no redundancy: SIR moved $ra -> $rs; $ra's D terminated by callback, $ra back as a spare"

# 4. Callback timeouts.
touch "$pids/$(file_of "$(nr "$rs" D)").ignore-terminate" "$pids/$(file_of "$da").ignore-csiset"
before_rs=$(count "$(nr "$rs" D) REGISTERED")
sir_d="safApp=APP CSISET ACTIVE safCsi=D,safSi=SIR"
before_back=$(count "$sir_d")
kill -KILL "$(pid_of "$(nr "$rs" C)")"
wait_count "$(nr "$rs" D) IGNORED TERMINATE" 1 10 || cluster_fail "$rs's D never got the terminate callback"
wait_count "$da IGNORED CSISET ACTIVE" 1 10 || cluster_fail "SIR never moved back to $ra"
exec_note "$(nr "$rs" D) did not answer its terminate callback within 1000 ms" 10 ||
    cluster_fail "no terminate timeout"
exec_note "$da did not answer its CSI set callback within 1000 ms" 10 || cluster_fail "no CSI set timeout"
rm -f "$pids"/*.ignore-*
wait_count "$(nr "$rs" D) REGISTERED" $((before_rs + 1)) 20 || cluster_fail "$rs's D never came back"
# SIR lands on whichever SU is in service first, and stays.
wait_count "$sir_d" $((before_back + 1)) 20 || cluster_fail "SIR never ACTIVE again"
echo "amf 3 nodes: terminate callback unanswered -> terminate command; CSI set unanswered -> failover; SIR ACTIVE on $(su_of "$(last "$sir_d" | awk '{ print $3 }')")"

# 5. Node failover: kill -9 of the executive of SI2's active component.
n=$(su_of "$a2" | tr -d SU)
before=$(count "$sb CSISET ACTIVE $W2 ")
t0=$(date +%s%N)
node_kill "$n"
wait_count "$sb CSISET ACTIVE $W2 " $((before + 1)) 20 || cluster_fail "no takeover of SI2 after node $n died"
line=$(last "$sb CSISET ACTIVE $W2 ")
echo "amf 3 nodes: executive kill -9 (token 1000) -> standby ACTIVE in $(ms_between "$t0" "$(ns_of "$line")") ms"
# Told once the survivors synced: its answer is taken, its HA state reads.
echo "$line" | grep -q "get=ACTIVE response=1" || cluster_fail "the takeover's callback came during sync: $line"
wait_count "$sb CSIREMOVE $W1\$" 1 10 || cluster_fail "the new active SU kept its SI1 standby"
before_sb=$(count "$a2 CSISET STANDBY ")
node_start "$n"
wait_count "$a2 CSISET STANDBY " $((before_sb + 2)) 40 ||
    cluster_fail "node $n came back but its component never became STANDBY of both SIs"
echo "amf 3 nodes: node $n back, $(su_of "$a2") STANDBY for both SIs"

# 6. Node switchover of the node of an ACTIVE NM SU that has an NR SU too.
k=
for si in SI1 SI2; do
    case $(holder ACTIVE "safCsi=W,safSi=$si,safApp=APP") in
    "$(nm SU1)") k=1 ;;
    "$(nm SU2)") k=2 ;;
    *) continue ;;
    esac
    x=$si
    break
done
[ -n "$k" ] || cluster_fail "no ACTIVE NM SU on amf1 or amf2"
xc="safCsi=W,safSi=$x,safApp=APP"
owner=$(nm "SU$k")
sby=$(holder STANDBY "$xc")
before_q=$(count "$owner CSISET QUIESCED $xc ")
before_a=$(count "$sby CSISET ACTIVE $xc ")
before_rm=$(count "$owner CSIREMOVE $xc\$")
# (NR's C may still be coming back after the node restart: a few tries.)
for try in $(seq 20); do
    node_run "$k" timeout 10 "$api" report "$(nr "R$k" C)" 4 > "$cluster_dir/report.log" 2>&1 && break
    [ "$try" -lt 20 ] || cluster_fail "error report: $(cat "$cluster_dir/report.log")"
    sleep 0.5
done
wait_count "$owner CSISET QUIESCED $xc " $((before_q + 1)) 10 || cluster_fail "$owner was never QUIESCED"
wait_count "$sby CSISET ACTIVE $xc " $((before_a + 1)) 10 || cluster_fail "the standby never took $x over"
line=$(last "$sby CSISET ACTIVE $xc ")
echo "$line" | grep -q "flags=2 peer=$owner .*transition=2\$" || cluster_fail "switchover: $line"
wait_count "$owner CSIREMOVE $xc\$" $((before_rm + 1)) 10 || cluster_fail "the quiesced assignment stayed"
echo "amf 3 nodes: node switchover: $(su_of "$owner") QUIESCED for $x, then $(su_of "$sby") ACTIVE (transition QUIESCED)"
echo "amf 3 nodes: passed"
