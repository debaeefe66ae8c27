#!/bin/sh
# The CLC command of the test components (amf.conf names it for
# instantiate and cleanup):
#   clc.sh instantiate <program> [<arg>...]   start it in the background, its pid in
#                                  $AMF_PID_DIR/<component name>.pid; exit 0
#   clc.sh terminate               kill -TERM that pid (if alive); exit 0
#   clc.sh cleanup                 kill -9 that pid (if alive); exit 0
# $SA_AMF_COMPONENT_NAME and $AMF_PID_DIR come from the executive.
set -u
pidfile=$AMF_PID_DIR/$(printf '%s' "$SA_AMF_COMPONENT_NAME" | tr -c 'A-Za-z0-9=' '_').pid
case $1 in
instantiate)
    shift
    "$@" < /dev/null > /dev/null 2>&1 &
    echo $! > "$pidfile"
    ;;
terminate)
    if [ -f "$pidfile" ]; then
        kill -TERM "$(cat "$pidfile")" 2>/dev/null
        rm -f "$pidfile"
    fi
    ;;
cleanup)
    if [ -f "$pidfile" ]; then
        kill -KILL "$(cat "$pidfile")" 2>/dev/null
        rm -f "$pidfile"
    fi
    ;;
*)
    exit 2
    ;;
esac
exit 0
