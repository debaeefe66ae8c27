# Shared by cluster.sh and bench.sh: executives on 127.0.0.1-3 (unicast
# transport), through c-tests/lib/cluster.sh, killed (with any background
# job in $cluster_bg) when the sourcing script exits.
#
# The sourcing script passes its own "$@" = <bin-dir> <tool> [<api>] and may
# set EVT_NODES (how many members the configuration lists, default 3) and
# EVT_CLUSTER_PORT (default 16605), EVT_QUEUE_SIZE / EVT_QUEUE_RESUME (the
# event {} section, default 400 / 200) before sourcing.
# Provides: start <i>, on <i> <tool args...>, fail <why>, and everything of
# c-tests/lib/cluster.sh (wait_members, node_kill, ...); $work, $api.

. "$(dirname "${BASH_SOURCE[0]}")/../lib/cluster.sh"
cluster_init "evt cluster" "${1:?usage: $0 <bin-dir> <evt_node> [<evt_api>]}" "${EVT_CLUSTER_PORT:-16605}"
bin=$cluster_bin
tool=${2:?usage: $0 <bin-dir> <evt_node> [<evt_api>]}
api=${3:-}
work=$cluster_dir
cluster_members=${EVT_NODES:-3}
cluster_log_tail=40
cluster_extra="event {
  delivery_queue_size: ${EVT_QUEUE_SIZE:-400}
  delivery_queue_resume: ${EVT_QUEUE_RESUME:-200}
}"

fail() { cluster_fail "$@"; }
start() { node_start "$@"; }
on() { # on <i> <evt_node args...>
    local i=$1
    shift
    node_run "$i" timeout -k 5 60 "$tool" "$@"
}
