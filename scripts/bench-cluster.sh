#!/bin/bash
# Throughput bench: builds aisexec and totem-bench in release mode and runs
# totem-bench in its cluster mode, which starts its own executives in
# network namespaces on a bridge (1 and 3 nodes, secauth off and on),
# measures every message size, stops them and removes the namespaces.
# Needs root and iproute2. Extra arguments go to totem-bench, e.g.
#
#   scripts/bench-cluster.sh --nodes 3 --secauth on --seconds 5
#   scripts/bench-cluster.sh --totem max_messages=50 --totem window_size=100
set -euo pipefail

cd "$(dirname "$0")/.."
target=${CARGO_TARGET_DIR:-target}
cargo build --release -q -p aisexec -p ais-tools
exec "$target/release/totem-bench" --aisexec "$target/release/aisexec" "$@"
