#!/usr/bin/env bash
# Measures how long one file holding a stack of N layers takes to build, for N = 4..24.
# usage: scripts/deep_stack_build_times.sh [PATTERN]   (PATTERN: see gen_deep_stack.py)
# Prints "depth seconds" lines; the facade is built first so only the stack file is timed.
set -euo pipefail
cd "$(dirname "$0")/.."
pattern="${1:-}"
example=examples/zz_deep_stack_timing.rs
trap 'rm -f "$example"' EXIT
cargo build -q --examples >/dev/null 2>&1 || true
echo "depth seconds (pattern: ${pattern:-every layer})"
for depth in 4 8 12 16 20 24; do
  python3 scripts/gen_deep_stack.py "$depth" $pattern > "$example"
  TIMEFORMAT="$depth %R"
  time CARGO_INCREMENTAL=0 cargo build -q --example zz_deep_stack_timing
done
