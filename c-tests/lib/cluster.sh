# Sourced by the multi-node C tests: executives on 127.0.0.1-N (unicast
# transport), each in its own directory, all killed by pid when the sourcing
# script exits (also on failure or interruption). Every wait is bounded.
# The executives run as normal, polling processes (realtime_priority: no):
# real-time ones would keep the tests' clients off the shared CPUs.
#
#   . c-tests/lib/cluster.sh
#   cluster_init <label> <bin-dir> <port>   temp dir $cluster_dir, traps
#   cluster_members=3                       how many members the config lists
#   cluster_extra='event { ... }'           appended to every node's config
#   cluster_uts_prefix=amf                  node i runs in its own UTS namespace,
#                                           host name amf<i> (needs root)
#   cluster_node_files=<function>           called as <function> <i> <node dir>
#                                           after the config is written (more files)
#   cluster_start <n>                       nodes 1..n (node_start each)
#   node_start <i>                          (re)write config, start, wait for the socket
#   node_run <i> <cmd...>                   run a command as a client of node i
#   node_kill <i>                           SIGKILL, reaped; node_pid <i>
#   node_members <i>, wait_members <count> <nodes...>
#   wait_line <file> <regex> <seconds>
#   cluster_fail <why>                      print "<label>: FAIL: why", exit 1
#   cluster_bg+=($!)                        background clients killed on exit
#
# Layout: $cluster_dir/n<i>/{corosync.conf,run/}, log in $cluster_dir/n<i>.log.
# On a non-zero exit the node logs (last $cluster_log_tail lines each, if
# set) are printed, then the files matching $cluster_dump_also (a glob in $cluster_dir).

cluster_init() {
    cluster_label=$1
    cluster_bin=$(cd "$2" && pwd) || { echo "$1: no bin dir $2" >&2; exit 1; }
    cluster_port=$3
    cluster_members=3
    cluster_extra=""
    cluster_uts_prefix=""
    cluster_node_files=""
    cluster_log_tail=""
    cluster_dump_also=""
    cluster_dir=$(mktemp -d "/tmp/ais-${1// /-}.XXXXXX")
    cluster_pids=()
    cluster_bg=()
    trap cluster_cleanup EXIT
    trap 'exit 130' INT TERM
}

cluster_stop() { # kills every client and executive started here
    local p
    for p in "${cluster_bg[@]}" "${cluster_pids[@]}"; do
        [ -n "$p" ] || continue
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    cluster_bg=()
    cluster_pids=()
}

cluster_cleanup() {
    local status=$? f
    cluster_stop
    if [ "$status" -ne 0 ]; then
        for f in "$cluster_dir"/n*.log; do
            [ -f "$f" ] || continue
            if [ -n "$cluster_log_tail" ]; then tail -n "$cluster_log_tail" "$f"; else cat "$f"; fi |
                sed "s/^/  [$(basename "$f" .log)] /" >&2
        done
        for f in "$cluster_dir"/$cluster_dump_also; do
            [ -f "$f" ] && sed "s/^/  [$(basename "$f")] /" "$f" >&2
        done
    fi
    rm -rf "$cluster_dir"
}

cluster_fail() {
    echo "$cluster_label: FAIL: $*" >&2
    exit 1
}

cluster_config() { # cluster_config <i>: node i's corosync.conf on stdout
    local m
    cat <<EOF
totem {
  version: 2
  secauth: off
  transport: udpu
  token: 1000
  interface {
    ringnumber: 0
    bindnetaddr: 127.0.0.$1
    mcastport: $cluster_port
EOF
    for m in $(seq "$cluster_members"); do
        printf '    member {\n      memberaddr: 127.0.0.%s\n    }\n' "$m"
    done
    cat <<EOF
  }
}
logging {
  to_syslog: no
  to_stderr: yes
}
aisexec {
  realtime_priority: no
}
EOF
    [ -z "$cluster_extra" ] || echo "$cluster_extra"
}

node_start() { # node_start <i>: returns once its IPC socket is there (10 s at most)
    local i=$1 d=$cluster_dir/n$1
    mkdir -p "$d/run"
    rm -f "$d/run/aisexec.sock" # a killed node's socket would fool the wait
    cluster_config "$i" > "$d/corosync.conf"
    [ -z "$cluster_node_files" ] || "$cluster_node_files" "$i" "$d"
    local uts=()
    [ -z "$cluster_uts_prefix" ] ||
        uts=(unshare --uts -- sh -c 'hostname "$1" && shift && exec "$@"' sh "$cluster_uts_prefix$i")
    env -u OPENAIS_MAIN_CONFIG_FILE \
        COROSYNC_RUN_DIR="$d/run" \
        COROSYNC_MAIN_CONFIG_FILE="$d/corosync.conf" \
        COROSYNC_TOTEM_AUTHKEY_FILE="$d/authkey" \
        COROSYNC_AMF_CONFIG_FILE="$d/amf.conf" \
        "${uts[@]}" "$cluster_bin/aisexec" -f >> "$cluster_dir/n$i.log" 2>&1 &
    cluster_pids[$i]=$!
    for _ in $(seq 100); do
        [ -S "$d/run/aisexec.sock" ] && return 0
        kill -0 "${cluster_pids[$i]}" 2>/dev/null || cluster_fail "node $i exited at start"
        sleep 0.1
    done
    cluster_fail "node $i: no socket after 10 s"
}

cluster_start() { # cluster_start <n>: nodes 1..n
    local i
    for i in $(seq "$1"); do node_start "$i"; done
}

node_pid() { echo "${cluster_pids[$1]:-}"; }

node_kill() { # node_kill <i>: SIGKILL node i's executive and reap it
    local p=${cluster_pids[$1]:-}
    [ -n "$p" ] || return 0
    kill -KILL "$p" 2>/dev/null
    wait "$p" 2>/dev/null
    unset "cluster_pids[$1]"
}

node_run() { # node_run <i> <command...>: run a command as a client of node i
    local i=$1
    shift
    COROSYNC_RUN_DIR=$cluster_dir/n$i/run "$@"
}

node_members() { # how many members node i reports
    node_run "$1" timeout 5 "$cluster_bin/ais-cfgtool" -k 2>/dev/null | grep -c '^member:'
}

wait_members() { # wait_members <count> <nodes...>: all of them report <count> members (20 s at most)
    local want=$1 t0=$SECONDS i all
    shift
    while :; do
        all=yes
        for i in "$@"; do
            [ "$(node_members "$i")" = "$want" ] || all=no
        done
        [ $all = yes ] && return 0
        [ $((SECONDS - t0)) -lt 20 ] || cluster_fail "nodes $* never saw $want members"
        sleep 0.1
    done
}

wait_line() { # wait_line <file> <regex> <seconds>: until a line of the file matches
    for _ in $(seq $(($3 * 10))); do
        grep -qE "$2" "$1" 2>/dev/null && return 0
        sleep 0.1
    done
    return 1
}
