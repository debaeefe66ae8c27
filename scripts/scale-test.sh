#!/bin/bash
# Live scale test (not part of `make check`: it takes minutes). Builds
# aisexec and scale-test in release mode and starts N executives in network
# namespaces on one bridge; prints the time to form one ring of N, its
# stability over a quiet period, EVS throughput from several nodes, the
# failover time after kill -9 of one node and its rejoin time (see
# rust/tools/src/bin/scale-test.rs). Needs root and iproute2. Extra
# arguments go to scale-test, e.g.
#
#   scripts/scale-test.sh 64
#   scripts/scale-test.sh 32 --quiet 30 --senders 8 --totem token=3000
#
# Bounded: scale-test stops itself after SCALE_TIME_LIMIT seconds (900),
# and is stopped from here a minute after that. On exit, also Ctrl-C, it
# stops its executives and removes its namespaces and temp directory; if
# it has to be killed, this script removes what it left (namespaces
# aisx-<its pid>-*, ${TMPDIR:-/tmp}/ais-scale-<its pid>), nothing else.
set -euo pipefail

cd "$(dirname "$0")/.."
if [ $# -lt 1 ]; then
    echo "usage: scripts/scale-test.sh N [scale-test options]" >&2
    exit 2
fi
nodes=$1
shift
limit=${SCALE_TIME_LIMIT:-900}
target=${CARGO_TARGET_DIR:-target}
cargo build --release -q -p aisexec -p ais-tools

"$target/release/scale-test" --nodes "$nodes" --time-limit "$limit" --aisexec "$target/release/aisexec" "$@" &
pid=$!

cleanup() {
    kill -0 "$pid" 2>/dev/null || return 0
    # SIGTERM: scale-test stops its executives and removes its namespaces.
    kill -TERM "$pid" 2>/dev/null || true
    for _ in $(seq 150); do
        kill -0 "$pid" 2>/dev/null || return 0
        sleep 0.1
    done
    kill -KILL "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
    for ns in $(ip netns list | awk '{print $1}' | grep "^aisx-$pid-" || true); do
        for p in $(ip netns pids "$ns"); do kill -KILL "$p" 2>/dev/null || true; done
        ip netns del "$ns" || true
    done
    rm -rf "${TMPDIR:-/tmp}/ais-scale-$pid"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A minute past its own limit, it is stopped from here.
deadline=$((SECONDS + limit + 60))
while kill -0 "$pid" 2>/dev/null && [ "$SECONDS" -lt "$deadline" ]; do
    sleep 1
done
if kill -0 "$pid" 2>/dev/null; then
    echo "scale-test.sh: scale-test still running after $((limit + 60)) s, stopping it" >&2
    exit 124
fi
rc=0
wait "$pid" || rc=$?
exit "$rc"
