# Shared by cluster.sh and bench.sh: executives on 127.0.0.1-3 (unicast
# transport), killed (with any background job in $bg) when the sourcing
# script exits.
#
# The sourcing script passes its own "$@" = <bin-dir> <tool> [<api>] and may
# set EVT_NODES (how many members the configuration lists, default 3) and
# EVT_CLUSTER_PORT (default 16605), EVT_QUEUE_SIZE / EVT_QUEUE_RESUME (the
# event {} section, default 400 / 200) before sourcing.
# Provides: start <i>, on <i> <tool args...>, members <i>,
# wait_members <count> <nodes...>, fail <why>; $work, $pids, $bg, $ok.

bin=$(cd "${1:?usage: $0 <bin-dir> <evt_node> [<evt_api>]}" && pwd)
tool=${2:?usage: $0 <bin-dir> <evt_node> [<evt_api>]}
api=${3:-}
port=${EVT_CLUSTER_PORT:-16605}
work=$(mktemp -d /tmp/ais-evt-cluster.XXXXXX)
pids=("" "" "" "")
bg=()
ok=no

cleanup() {
    for p in "${bg[@]}"; do
        kill -KILL "$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    for i in 1 2 3; do
        p=${pids[$i]}
        if [ -n "$p" ] && kill -0 "$p" 2>/dev/null; then
            kill -KILL "$p" 2>/dev/null
            wait "$p" 2>/dev/null
        fi
    done
    if [ "$ok" != yes ]; then
        for i in 1 2 3; do
            [ -f "$work/n$i.log" ] && sed "s/^/  [node $i] /" "$work/n$i.log" | tail -40 >&2
        done
    fi
    rm -rf "$work"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

fail() {
    echo "evt cluster: FAIL: $*" >&2
    exit 1
}

start() { # start <i>
    local i=$1 d=$work/n$1
    mkdir -p "$d/run"
    {
        echo "totem {"
        echo "  version: 2"
        echo "  secauth: off"
        echo "  transport: udpu"
        echo "  token: 1000"
        echo "  interface {"
        echo "    ringnumber: 0"
        echo "    bindnetaddr: 127.0.0.$i"
        echo "    mcastport: $port"
        for m in $(seq "${EVT_NODES:-3}"); do
            echo "    member {"
            echo "      memberaddr: 127.0.0.$m"
            echo "    }"
        done
        echo "  }"
        echo "}"
        echo "logging {"
        echo "  to_syslog: no"
        echo "  to_stderr: yes"
        echo "}"
        echo "event {"
        echo "  delivery_queue_size: ${EVT_QUEUE_SIZE:-400}"
        echo "  delivery_queue_resume: ${EVT_QUEUE_RESUME:-200}"
        echo "}"
    } > "$d/corosync.conf"
    COROSYNC_RUN_DIR=$d/run COROSYNC_MAIN_CONFIG_FILE=$d/corosync.conf \
        COROSYNC_TOTEM_AUTHKEY_FILE=$d/authkey COROSYNC_AMF_CONFIG_FILE=$d/amf.conf \
        "$bin/aisexec" -f >> "$work/n$i.log" 2>&1 &
    pids[$i]=$!
    for _ in $(seq 100); do
        [ -S "$d/run/aisexec.sock" ] && return 0
        kill -0 "${pids[$i]}" 2>/dev/null || fail "node $i exited at start"
        sleep 0.1
    done
    fail "node $i: no socket after 10 s"
}

on() { # on <i> <evt_node args...>
    local i=$1
    shift
    COROSYNC_RUN_DIR=$work/n$i/run timeout -k 5 60 "$tool" "$@"
}

members() {
    COROSYNC_RUN_DIR=$work/n$1/run timeout 5 "$bin/ais-cfgtool" -s 2>/dev/null | grep -c '^member:'
}

wait_members() { # wait_members <count> <nodes...>
    local want=$1 t0=$SECONDS
    shift
    while :; do
        local all=yes
        for i in "$@"; do
            [ "$(members "$i")" = "$want" ] || all=no
        done
        [ $all = yes ] && return 0
        [ $((SECONDS - t0)) -lt 20 ] || fail "nodes $* never saw $want members"
        sleep 0.1
    done
}

