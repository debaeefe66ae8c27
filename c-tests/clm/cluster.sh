#!/bin/bash
# CLM on three executives (127.0.0.1-3, unicast transport, port 16455),
# through libSaClm:
#   1. all three report the same view number and member list;
#   2. tracking clients on nodes 1 (SA_TRACK_CHANGES) and 2
#      (SA_TRACK_CHANGES_ONLY) see node 3 LEFT after `kill -9`, and
#      JOINED after it restarts, with the right flags and member counts;
#   3. after the rejoin all three agree on a view numbered after the
#      survivors' view.
#
#   c-tests/clm/cluster.sh [target-dir]   (default <repo>/target, debug profile)
#
# Every executive is started here and killed by its pid on exit, also on
# failure; every wait is bounded. Exit status 0 only if everything held.
set -uo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
target=${1:-$root/target}
bin=$target/${AIS_PROFILE:-debug}
lib=$bin/lib
CC=${CC:-gcc}
PORT=${CLM_CLUSTER_PORT:-16455}
. "$root/c-tests/lib/cluster.sh"
cluster_init clm-cluster "$bin" "$PORT"
tmp=$cluster_dir

cluster_dump_also='watch*.out'
die() { cluster_fail "$@"; }
on() { node_run "$@"; }

[ -x "$bin/aisexec" ] || die "$bin/aisexec not found: build first"
[ -e "$lib/libSaClm.so" ] || "$root/scripts/link-libs.sh" "$bin" "$lib" >/dev/null || die "link-libs"
$CC -std=gnu99 -Wall -Wextra -Werror -g -I"$root/include" -o "$tmp/clm_cluster" \
    "$root/c-tests/clm/clm_cluster.c" -L"$lib" -Wl,-rpath,"$lib" -lSaClm || die "build clm_cluster"

node_id() { echo $((127 + ($1 << 24))); } # 127.0.0.i as the executive reads it

# Waits (up to $2 s) until every node in $1 reports the same view with
# member ids $3; prints the view number.
agreed_view() {
    local nodes=$1 limit=$2 want=$3 first v
    for _ in $(seq $((limit * 5))); do
        first=""
        for i in $nodes; do
            v=$(on "$i" timeout 10 "$tmp/clm_cluster" view 2>/dev/null) || { first=""; break; }
            if [ -z "$first" ]; then first=$v; elif [ "$v" != "$first" ]; then first=""; break; fi
        done
        if [ -n "$first" ] && [ "${first#* }" = "$want" ]; then
            echo "${first%% *}"
            return 0
        fi
        sleep 0.2
    done
    return 1
}

n1=$(node_id 1)
n2=$(node_id 2)
n3=$(node_id 3)
all=$(printf '%s\n' "$n1" "$n2" "$n3" | sort -n | tr '\n' ' ' | sed 's/ $//')
two=$(printf '%s\n' "$n1" "$n2" | sort -n | tr '\n' ' ' | sed 's/ $//')

cluster_start 3
v_formed=$(agreed_view "1 2 3" 20 "$all") || die "no agreed 3-node view"
echo "clm-cluster: 3 nodes agree on view $v_formed: $all"

on 1 timeout 90 "$tmp/clm_cluster" watch changes "$n3" 60 > "$tmp/watch1.out" 2>&1 &
cluster_bg+=($!)
w1=$!
on 2 timeout 90 "$tmp/clm_cluster" watch changes_only "$n3" 60 > "$tmp/watch2.out" 2>&1 &
cluster_bg+=($!)
w2=$!
wait_line "$tmp/watch1.out" '^ready' 10 && wait_line "$tmp/watch2.out" '^ready' 10 || die "watchers not ready"

node_kill 3
wait_line "$tmp/watch1.out" '^left ' 10 && wait_line "$tmp/watch2.out" '^left ' 10 ||
    die "no LEFT callback on both survivors within 10 s"
v_left=$(agreed_view "1 2" 10 "$two") || die "survivors disagree"
echo "clm-cluster: node 3 killed: survivors told, agree on view $v_left: $two"

node_start 3
wait "$w1" || die "watcher on node 1 (CHANGES) failed"
wait "$w2" || die "watcher on node 2 (CHANGES_ONLY) failed"
cluster_bg=()
v_back=$(agreed_view "1 2 3" 15 "$all") || die "no agreed view after the rejoin"
[ "$v_back" -gt "$v_left" ] && [ "$v_left" -gt "$v_formed" ] ||
    die "view numbers do not increase: $v_formed, $v_left, $v_back"
echo "clm-cluster: node 3 rejoined: all told, agree on view $v_back"
echo "clm-cluster: passed"
