#!/bin/bash
# The checkpoint benchmark on one node (loopback, then a Totem ring of one)
# and on three nodes (127.0.0.1-3,
# unicast transport). Prints ckpt_bench's table for each. Not a test.
#
#   c-tests/ckpt/bench.sh <bin-dir> <ckpt_bench> [seconds-per-size]
#
# Use a release build for meaningful figures (target/release).
set -u
secs=${3:-1}
CKPT_CLUSTER_PORT=${CKPT_CLUSTER_PORT:-16515}
. "$(dirname "$0")/cluster-lib.sh"

echo "== one node, no configuration (loopback ordering, no Totem)"
"$(dirname "$0")/../lib/with-exec.sh" "$bin" "$tool" "$secs" || fail "bench on loopback"

echo "== one node, Totem ring of one (udpu)"
start 1
on 1 "$secs" || fail "bench on one node"
node_kill 1
rm -rf "$work/n1"

echo "== three nodes (writer on node 1)"
for i in 1 2 3; do start "$i"; done
wait_members 3 1 2 3
on 1 "$secs" || fail "bench on three nodes"
