#!/bin/bash
# `make demo`: start a single-node executive in the foreground with a
# temporary run directory and no config file (a one-node cluster on
# loopback), ask it for its status with `ais-cfgtool -s`, stop it with
# SIGTERM and remove the run directory. Bounded: about 30 s at worst.
#
#   scripts/demo.sh <bin-dir>        (target/release)
set -euo pipefail

bin=$(cd "${1:?usage: $0 <bin-dir>}" && pwd)
run=$(mktemp -d /tmp/ais-demo.XXXXXX)
pid=""

# shellcheck disable=SC2317  # called by the trap
cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
    fi
    rm -rf "$run"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

say() { printf '\n### %s\n' "$*"; }

# No config file: the executive reads /etc/ais/corosync.conf only if it
# exists (a machine where it does runs the demo with that config).
export COROSYNC_RUN_DIR=$run
unset COROSYNC_MAIN_CONFIG_FILE OPENAIS_MAIN_CONFIG_FILE
if [ -e /etc/ais/corosync.conf ]; then
    echo "demo: note: /etc/ais/corosync.conf exists and will be used" >&2
fi

say "COROSYNC_RUN_DIR=$run $bin/aisexec -f"
"$bin/aisexec" -f > >(sed -u 's/^/  [aisexec] /') 2>&1 &
pid=$!

# Wait (10 s at most) for the executive's IPC socket to appear.
for _ in $(seq 100); do
    [ -n "$(find "$run" -type s 2>/dev/null)" ] && break
    kill -0 "$pid" 2>/dev/null || { echo "demo: aisexec exited early" >&2; exit 1; }
    sleep 0.1
done
[ -n "$(find "$run" -type s)" ] || { echo "demo: no IPC socket in $run after 10 s" >&2; exit 1; }
echo "  (socket: $(find "$run" -type s))"

say "COROSYNC_RUN_DIR=$run $bin/ais-cfgtool -s"
status=0
timeout 10 "$bin/ais-cfgtool" -s || status=$?

say "kill -TERM $pid   (stop the executive)"
kill -TERM "$pid"
for _ in $(seq 100); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$pid" 2>/dev/null; then
    echo "demo: aisexec did not stop within 10 s of SIGTERM" >&2
    exit 1
fi
wait "$pid" || true
pid=""
# The lock file stays by design (removing a flock'ed file races with the
# next executive); anything else would be a leak.
left=$(find "$run" -mindepth 1 ! -name aisexec.lock)
[ -z "$left" ] || echo "demo: the executive left behind: $left" >&2

say "done (ais-cfgtool exit status $status)"
exit "$status"
