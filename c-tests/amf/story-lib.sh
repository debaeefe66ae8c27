# Sourced (bash) by the AMF demo and benchmark: three executives in their
# own UTS namespaces with host names amf1-amf3 (unicast on 127.0.0.1-3,
# token 1000), on top of c-tests/lib/cluster.sh (which kills them on exit),
# and the component processes the executives started (clc.sh writes their
# pids to $pids; stopped on exit too, even when their executive is gone).
#
#   story_init <label> <bin-dir> <port>
#   story_sg <name> <program> <recovery> <node-a> <node-b> [<healthcheck-period-ms>]
#                                   one 2N SG (SUs SU1 on amf<a>, SU2 on
#                                   amf<b>) with one SI; conf collected
#   story_node_start <i>            executive i as host amf<i>
#   comp_dn <sg> <su>               safComp=C,safSu=<su>,safSg=<sg>,safApp=APP
#   Log helpers on $log (the components' event lines): last, count,
#   wait_count, ns_of, ms_between, pid_of
#
# Needs root (unshare --uts).

story_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$story_here/../lib/cluster.sh"

story_init() {
    cluster_init "$1" "$2" "$3"
    trap story_cleanup EXIT
    cluster_members=3
    cluster_extra='amf {
  mode: enabled
}'
    cluster_log_tail=40
    log=$cluster_dir/amf.log
    pids=$cluster_dir/pids
    mkdir -p "$pids"
    : > "$log"
    story_sgs=""
}

# Components outlive a killed executive until they notice (they exit on
# the broken connection); kill what is left, by pid file, then the rest.
story_cleanup() {
    local status=$? f p
    for f in "$pids"/*.pid; do
        [ -f "$f" ] || continue
        p=$(cat "$f")
        # Only a process that still runs one of our programs (pids recycle).
        case $(readlink "/proc/$p/exe" 2>/dev/null) in
        "$story_programs_dir"/*) kill -KILL "$p" 2>/dev/null ;;
        esac
    done
    (exit "$status")
    cluster_cleanup
}

comp_dn() { echo "safComp=C,safSu=$2,safSg=$1,safApp=APP"; }

story_su() { # story_su <name> <node> <program> <recovery> <period>
    cat <<EOF
            safSu = $1 {
                saAmfSUHostedByNode=$2
                saAmfSUNumComponents=1
                safComp = C {
                    saAmfCompCategory=sa_aware
                    saAmfCompCapability=x_active_or_y_standby
                    saAmfCompNumMaxActiveCsi=1
                    saAmfCompNumMaxStandbyCsi=1
                    saAmfCompDefaultClcCliTimeout=5000
                    saAmfCompDefaultCallbackTimeOut=2000
                    saAmfCompInstantiateCmd=clc.sh
                    saAmfCompInstantiateCmdArgv=instantiate $3
                    saAmfCompCleanupCmd=clc.sh
                    saAmfCompCleanupCmdArgv=cleanup
                    saAmfCompCsTypes {
                        T
                    }
                    saAmfCompCmdEnv {
                        AMF_LOG=$log
                        AMF_PID_DIR=$pids
                    }
                    saAmfCompRecoveryOnError=$4
                    safHealthcheckKey = key1 {
                        saAmfHealthcheckPeriod=$5
                        saAmfHealthcheckMaxDuration=500
                    }
                }
            }
EOF
}

story_sg() { # story_sg <name> <program> <recovery> <node-a> <node-b> [<period>]
    story_programs_dir=$(dirname "$2")
    story_sgs+="        safSg = $1 {
            saAmfSGRedundancyModel=2n
            saAmfSGNumPrefActiveSUs=1
            saAmfSGNumPrefStandbySUs=1
            saAmfSGMaxActiveSIsperSUs=1
            saAmfSGMaxStandbySIsperSUs=1
            saAmfSGCompRestartProb=60000
            saAmfSGCompRestartMax=1000
            saAmfSGSuRestartProb=60000
            saAmfSGSuRestartMax=1000
            saAmfSGAutoAdjustProb=5000
$(story_su SU1 "amf$4" "$2" "$3" "${6:-1000}")
$(story_su SU2 "amf$5" "$2" "$3" "${6:-1000}")
        }
        safSi = SI_$1 {
            saAmfSINumCSIs=1
            saAmfSIProtectedbySG=$1
            safCsi = CSI {
                saAmfCSTypeName = T
                safCSIAttr = a {
                    1
                }
            }
        }
"
}

story_conf() {
    local n
    cat <<EOF
safAmfCluster = CL {
    saAmfClusterStartupTimeout=1000
EOF
    for n in 1 2 3; do
        printf '    safAmfNode = amf%s {\n        saAmfNodeSuFailOverProb=2000\n        saAmfNodeSuFailoverMax=1000\n    }\n' "$n"
    done
    cat <<EOF
    safApp = APP {
        clccli_path=$story_here
$story_sgs
        safCSType = T {
            safAmfCSAttrName = a
        }
    }
}
EOF
}

story_node_start() { # story_node_start <i>: executive i as host amf<i>
    local i=$1 d=$cluster_dir/n$1
    mkdir -p "$d/run"
    rm -f "$d/run/aisexec.sock"
    # Millisecond timestamps: the benchmark reads the membership change.
    cluster_config "$i" | sed 's/^  to_stderr: yes$/  to_stderr: yes\n  timestamp: hires/' > "$d/corosync.conf"
    story_conf > "$d/amf.conf"
    env -u OPENAIS_MAIN_CONFIG_FILE \
        COROSYNC_RUN_DIR="$d/run" \
        COROSYNC_MAIN_CONFIG_FILE="$d/corosync.conf" \
        COROSYNC_TOTEM_AUTHKEY_FILE="$d/authkey" \
        COROSYNC_AMF_CONFIG_FILE="$d/amf.conf" \
        unshare --uts -- sh -c 'hostname "$1" && shift && exec "$@"' sh "amf$i" \
        "$cluster_bin/aisexec" -f >> "$cluster_dir/n$i.log" 2>&1 &
    cluster_pids[$i]=$!
    for _ in $(seq 100); do
        [ -S "$d/run/aisexec.sock" ] && return 0
        kill -0 "${cluster_pids[$i]}" 2>/dev/null || cluster_fail "node $i exited at start"
        sleep 0.1
    done
    cluster_fail "node $i: no socket after 10 s"
}

last() { grep -E "$1" "$log" | tail -n 1; }
ns_of() { echo "${1%% *}"; }
count() { grep -cE "$1" "$log"; }
ms_between() { echo $((($2 - $1) / 1000000)); }
now_ns() { date +%s%N; }
wait_count() { # wait_count <regex> <n> <seconds>
    local t=0
    while [ "$(count "$1")" -lt "$2" ]; do
        [ "$t" -lt $(($3 * 20)) ] || return 1
        sleep 0.05
        t=$((t + 1))
    done
}
pid_of() { cat "$pids/$(printf '%s' "$1" | tr -c 'A-Za-z0-9=' '_').pid"; }
