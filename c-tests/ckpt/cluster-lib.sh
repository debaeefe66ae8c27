# Shared by cluster.sh, bench.sh and demo.sh: three executives on
# 127.0.0.1-3 (unicast transport, CKPT_CLUSTER_PORT, default 16505), through
# c-tests/lib/cluster.sh, killed when the sourcing script exits.
#
# The sourcing script passes its own "$@" = <bin-dir> <ckpt-tool>.
# Provides: start <i>, on <i> <tool args...>, fail <why>, ms, and
# everything of c-tests/lib/cluster.sh (wait_members, node_kill, ...); $work.

. "$(dirname "${BASH_SOURCE[0]}")/../lib/cluster.sh"
cluster_init "ckpt cluster" "${1:?usage: $0 <bin-dir> <ckpt-tool>}" "${CKPT_CLUSTER_PORT:-16505}"
bin=$cluster_bin
tool=${2:?usage: $0 <bin-dir> <ckpt-tool>}
work=$cluster_dir

fail() { cluster_fail "$@"; }
start() { node_start "$@"; }
on() { # on <i> <ckpt_node args...>
    local i=$1
    shift
    node_run "$i" timeout -k 5 60 "$tool" "$@"
}
ms() { date +%s%3N; }
