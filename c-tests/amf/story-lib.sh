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
#   node_start <i>                  executive i as host amf<i>
#   comp_dn <sg> <su>               safComp=C,safSu=<su>,safSg=<sg>,safApp=APP
#   the log helpers of events.sh, and now_ns
#
# Needs root (unshare --uts).

story_here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
. "$story_here/../lib/cluster.sh"
. "$story_here/events.sh"

story_init() {
    cluster_init "$1" "$2" "$3"
    cluster_uts_prefix=amf
    cluster_node_files=story_files
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

story_sg() { # story_sg <name> <program> <recovery> <node-a> <node-b> [<period>]
    story_programs_dir=$(dirname "$2")
    story_sgs+="        safSg = $1 {
$(amf_sg_2n_attrs 1000)
$(amf_su SU1 "amf$4" "$2" T "$3" "${6:-1000}")
$(amf_su SU2 "amf$5" "$2" T "$3" "${6:-1000}")
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

story_files() { # node_start's hook: millisecond timestamps (the benchmark
    # reads the membership change) and the AMF config
    sed -i 's/^  to_stderr: yes$/  to_stderr: yes
  timestamp: hires/' "$2/corosync.conf"
    story_conf > "$2/amf.conf"
}

now_ns() { date +%s%N; }
