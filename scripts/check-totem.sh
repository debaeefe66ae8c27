#!/bin/bash
# Builds the Totem simulator in release mode and runs the fixed CI sample
# (every node count from 1 to 8 under eight fault mixes, 512 seeds; then rings
# of 100 and 64 nodes whose nodes stall now and then, 4 seeds). Prints
# one line per failing seed and "N passed, M failed"; exits non-zero on any
# failure. Replay a failing seed with the command in the issue note, e.g.
#   cargo run --release -p totem-sim -- --seeds 4203..4204 --nodes 4 --partitions --crashes --loss 0.02 --dup 0.02
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --release -p totem-sim
cargo run --release -q -p totem-sim -- --sample
