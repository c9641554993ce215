#!/usr/bin/env bash
# Efficiency tables of the README: set up .venv, add the peers' packages
# (requirements-bench.txt), then run every benchmark into work_dirs/benchmark.
# Usage: bash tools/run_benchmark.sh [cpu|cuda]
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEVICE=${1:-cpu}
bash "$ROOT/tools/setup_env.sh"
cd "$ROOT"
.venv/bin/python -m pip install -q -r requirements-bench.txt
B=(.venv/bin/python tools/analysis/benchmark.py --device "$DEVICE" --out-dir "work_dirs/benchmark/$DEVICE")
"${B[@]}" --setting cls
"${B[@]}" --setting det --warmup 1 --repeats 3
"${B[@]}" --deploy --repeats 20
"${B[@]}" --sweep --warmup 1 --repeats 3
