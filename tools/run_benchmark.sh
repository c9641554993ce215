#!/usr/bin/env bash
# The README's efficiency tables: set up .venv, add the optional peers'
# packages (requirements-bench.txt), then run tools/analysis/benchmark.py.
# Usage: bash tools/run_benchmark.sh [cpu|cuda]   (tables in work_dirs/benchmark/<device>)
# On a machine with only torch and timm (no .venv), run the benchmark itself:
#   PYTHONPATH=. python tools/analysis/benchmark.py --device cuda --amp --channels-last --compile --deploy --out-dir work_dirs/benchmark/cuda
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEVICE=${1:-cpu}
bash "$ROOT/tools/setup_env.sh"
cd "$ROOT"
.venv/bin/python -m pip install -q -r requirements-bench.txt
B=(.venv/bin/python tools/analysis/benchmark.py --device "$DEVICE" --deploy --channels-last --out-dir "work_dirs/benchmark/$DEVICE")
if [ "$DEVICE" = cuda ]; then
  "${B[@]}" --amp --compile
else
  # fp32 batch-1 latency (eager, deploy-folded, onnxruntime), the
  # classification and detection settings; one thread timed by the CPU
  # clock, which other load on a shared machine moves least.
  CPU=(--measure latency --threads 1 --clock cpu --rounds 3 --onnxruntime)
  "${B[@]}" "${CPU[@]}" --setting cls
  "${B[@]}" "${CPU[@]}" --setting det --warmup 1 --min-run-time 0
fi
