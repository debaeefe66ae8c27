#!/bin/bash
# Runs a command against a live single-node executive.
#
#   c-tests/lib/with-exec.sh <bin-dir> <command> [args...]
#
# Starts `<bin-dir>/aisexec -f` with a fresh temporary COROSYNC_RUN_DIR and
# no configuration file (a one-node cluster on loopback), waits for its IPC
# socket, runs the command with COROSYNC_RUN_DIR exported, then stops the
# executive (SIGTERM, then SIGKILL) and removes the run directory, also when
# the command fails or this script is interrupted. Exit status: the
# command's, or 1 if the executive could not be started or did not stop.
# The executive's log goes to $AIS_EXEC_LOG if set, else into the run
# directory and is printed when the command fails.
set -uo pipefail

bin=$(cd "${1:?usage: $0 <bin-dir> <command> [args...]}" && pwd)
shift
[ $# -gt 0 ] || { echo "usage: $0 <bin-dir> <command> [args...]" >&2; exit 2; }

run=$(mktemp -d /tmp/ais-test.XXXXXX)
log=${AIS_EXEC_LOG:-$run.log}
pid=""

cleanup() {
    if [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null; then
        kill -KILL "$pid" 2>/dev/null || true
        wait "$pid" 2>/dev/null || true
    fi
    rm -rf "$run"
    [ -n "${AIS_EXEC_LOG:-}" ] || rm -f "$log"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# A config file named in the environment would override "no config".
unset COROSYNC_MAIN_CONFIG_FILE OPENAIS_MAIN_CONFIG_FILE
if [ -e /etc/ais/corosync.conf ]; then
    echo "with-exec: /etc/ais/corosync.conf exists; tests need a machine without it" >&2
    exit 1
fi
export COROSYNC_RUN_DIR=$run

"$bin/aisexec" -f > "$log" 2>&1 &
pid=$!
for _ in $(seq 100); do
    [ -S "$run/aisexec.sock" ] && break
    kill -0 "$pid" 2>/dev/null || { echo "with-exec: aisexec exited early:" >&2; cat "$log" >&2; exit 1; }
    sleep 0.1
done
[ -S "$run/aisexec.sock" ] || { echo "with-exec: no socket after 10 s" >&2; cat "$log" >&2; exit 1; }
# The socket is there before the main loop serves it; on a loaded machine
# the first call could wait out its handshake. Wait until it answers.
if [ -x "$bin/ais-cfgtool" ]; then
    for _ in $(seq 100); do
        "$bin/ais-cfgtool" -s > /dev/null 2>&1 && break
        sleep 0.1
    done
fi

"$@"
status=$?

kill -TERM "$pid" 2>/dev/null
for _ in $(seq 50); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
done
if kill -0 "$pid" 2>/dev/null; then
    echo "with-exec: aisexec did not stop within 5 s of SIGTERM" >&2
    [ "$status" -ne 0 ] || status=1
fi
wait "$pid" 2>/dev/null
pid=""
if [ "$status" -ne 0 ]; then
    echo "with-exec: command failed ($status); executive log:" >&2
    sed 's/^/  [aisexec] /' "$log" >&2
fi
exit "$status"
