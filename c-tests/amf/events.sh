# Sourced (bash) by the AMF cluster tests, demo and benchmark: helpers on
# $log, the components' event lines ("<ns> <pid> <component> EVENT ..."),
# and on $pids, where clc.sh writes each component's pid.
#
#   last <regex>                    the last matching line
#   count <regex>                   how many lines match
#   wait_count <regex> <n> <s>      until n lines match (s seconds at most)
#   ns_of <line>, ms_between <ns> <ns>
#   file_of <component>, pid_of <component>
#   other <component>, node_of <component>   of a 2N pair $C1 (node 1), $C2 (node 2)

last() { grep -E "$1" "$log" | tail -n 1; }
ns_of() { echo "${1%% *}"; }
count() { grep -cE "$1" "$log"; }
ms_between() { echo $((($2 - $1) / 1000000)); }
wait_count() { # wait_count <regex> <n> <seconds>
    local t=0
    while [ "$(count "$1")" -lt "$2" ]; do
        [ "$t" -lt $(($3 * 20)) ] || return 1
        sleep 0.05
        t=$((t + 1))
    done
}
file_of() { printf '%s' "$1" | tr -c 'A-Za-z0-9=' '_'; }
pid_of() { cat "$pids/$(file_of "$1").pid"; }
other() { if [ "$1" = "$C1" ]; then echo "$C2"; else echo "$C1"; fi; }
node_of() { if [ "$1" = "$C1" ]; then echo 1; else echo 2; fi; }
