#!/bin/sh
# The lock benchmark on one node, then on three nodes (127.0.0.1-3, unicast transport): EX
# lock/unlock pairs per second of one client, of three clients on three
# nodes with their own resources, and of six clients on three nodes
# contending for one lock. Not a test.
#
#   c-tests/lck/bench.sh [target-dir]    (use AIS_PROFILE=release for figures)
set -u
. "$(dirname "$0")/../lib/common.sh"
ctest_init lck-bench "${1:-}" "${AIS_PROFILE:-debug}"
ctest_need aisexec ais-cfgtool
ctest_link
ctest_build lck_node lck_node SaLck -O2 || exit 1
echo "lck bench: 1 client, one node (no configuration: loopback): $("$root/c-tests/lib/with-exec.sh" "$bin" "$tmp/lck_node" bench b 3)"
LCK_CLUSTER_PORT=${LCK_CLUSTER_PORT:-16715} timeout -k 10 120 "$here/cluster.sh" "$bin" "$tmp/lck_node" bench
