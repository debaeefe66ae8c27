# Sourced (bash) by the AMF cluster tests, demo and benchmark: helpers on
# $log, the components' event lines ("<ns> <pid> <component> EVENT ..."),
# and on $pids, where clc.sh writes each component's pid; and the amf.conf
# pieces they share.
#
#   amf_su <name> <node> <program> <cstype> <recovery> <healthcheck-ms>
#                                   an SU of one sa_aware component C run
#                                   by clc.sh, logging to $log and $pids
#   amf_pair_conf <program-1> <program-2>
#                                   the 2N pair of cluster.sh and
#                                   cluster_a.sh: SU1 on amf1, SU2 on amf2
#   last <regex>                    the last matching line
#   count <regex>                   how many lines match
#   wait_count <regex> <n> <s>      until n lines match (s seconds at most)
#   ns_of <line>, ms_between <ns> <ns>
#   file_of <component>, pid_of <component>
#   other <component>, node_of <component>   of a 2N pair $C1 (node 1), $C2 (node 2)

last() { grep -E "$1" "$log" | tail -n 1; }
ns_of() { echo "${1%% *}"; }
count() { grep -cE "$1" "$log"; }
ms_between() { echo $((($2 - $1) / 1000000)); }
wait_count() { # wait_count <regex> <n> <seconds>
    local t=0
    while [ "$(count "$1")" -lt "$2" ]; do
        [ "$t" -lt $(($3 * 20)) ] || return 1
        sleep 0.05
        t=$((t + 1))
    done
}
file_of() { printf '%s' "$1" | tr -c 'A-Za-z0-9=' '_'; }
pid_of() { cat "$pids/$(file_of "$1").pid"; }
other() { if [ "$1" = "$C1" ]; then echo "$C2"; else echo "$C1"; fi; }
node_of() { if [ "$1" = "$C1" ]; then echo 1; else echo 2; fi; }

amf_su() { # amf_su <name> <node> <program> <cstype> <recovery> <healthcheck-ms>
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
                        $4
                    }
                    saAmfCompCmdEnv {
                        AMF_LOG=$log
                        AMF_PID_DIR=$pids
                    }
                    saAmfCompRecoveryOnError=$5
                    safHealthcheckKey = key1 {
                        saAmfHealthcheckPeriod=$6
                        saAmfHealthcheckMaxDuration=500
                    }
                }
            }
EOF
}

amf_sg_2n_attrs() { # amf_sg_2n_attrs <component and SU restart max>
    cat <<EOF
            saAmfSGRedundancyModel=2n
            saAmfSGNumPrefActiveSUs=1
            saAmfSGNumPrefStandbySUs=1
            saAmfSGMaxActiveSIsperSUs=1
            saAmfSGMaxStandbySIsperSUs=1
            saAmfSGCompRestartProb=60000
            saAmfSGCompRestartMax=$1
            saAmfSGSuRestartProb=60000
            saAmfSGSuRestartMax=$1
            saAmfSGAutoAdjustProb=5000
EOF
}

amf_pair_conf() { # amf_pair_conf <program-1> <program-2>
    cat <<EOF
# 2N pair: SU1 on amf1, SU2 on amf2
safAmfCluster = CL {
    saAmfClusterStartupTimeout=1500
    safAmfNode = amf1 {
        saAmfNodeSuFailOverProb=2000
        saAmfNodeSuFailoverMax=2
    }
    safAmfNode = amf2 {
        saAmfNodeSuFailOverProb=2000
        saAmfNodeSuFailoverMax=2
    }
    safApp = APP {
        clccli_path=$here
        safSg = SG {
$(amf_sg_2n_attrs 2)
$(amf_su SU1 amf1 "$1" WEB component_failover 1000)
$(amf_su SU2 amf2 "$2" WEB component_failover 1000)
        }
        safSi = SI1 {
            saAmfSINumCSIs=1
            safCsi = CSI1 {
                saAmfCSTypeName = WEB
                safCSIAttr = port {
                    8080
                }
            }
        }
        safCSType = WEB {
            safAmfCSAttrName = port
        }
    }
}
EOF
}
