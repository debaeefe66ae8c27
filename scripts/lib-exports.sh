# Sourced by link-libs.sh and check-symbols.sh: what a library exports, from
# rust/capi/symbols/<node>. A line there is `name` (the Rust function of
# that name, exported as name@@node) or `name impl` (the Rust function
# `impl`, exported as name@node when another node of the same library
# exports a plain `name` (the two APIs share the name: AMF A.01.01 and
# B.01.01), else as name@@node).

# The compatibility libraries (rust/capi/compat.list): same format as
# libraries.list, but only lib<name>.so.<full> and lib<name>.so.<major>
# are made (no development link lib<name>.so, no pkg-config file).
compat_list() { # compat_list <capi-dir>
    [ -f "$1/compat.list" ] || return 0
    grep -v '^[[:space:]]*#' "$1/compat.list" | awk 'NF'
}

# node_entries <capi-dir> <node>: "name impl" per line.
node_entries() {
    file=$1/symbols/$2
    [ -f "$file" ] || { echo "missing $file" >&2; return 1; }
    sed -e 's/#.*//' "$file" | awk 'NF == 1 { print $1, $1 } NF == 2 { print $1, $2 }
        NF > 2 { print FILENAME ": bad line: " $0 > "/dev/stderr"; exit 1 }'
}

# library_exports <capi-dir> <nodes, comma separated>: "name impl node bind"
# per line, bind being @@ (default version) or @.
library_exports() {
    for node in $(echo "$2" | tr ',' ' '); do
        node_entries "$1" "$node" | awk -v n="$node" '{ print $1, $2, n }'
    done | awk '{ name[NR] = $1; impl[NR] = $2; node[NR] = $3; if ($1 == $2) plain[$1] = 1 }
        END { for (i = 1; i <= NR; i++)
            print name[i], impl[i], node[i], (name[i] != impl[i] && plain[name[i]]) ? "@" : "@@" }'
}
