#!/usr/bin/env bash
# Set up .venv if needed, then run the embedded default job (tools/demo.py):
# generated data, training, evaluation and drawn predictions, on the CPU.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/tools/setup_env.sh"
cd "$ROOT"
exec .venv/bin/python tools/demo.py "$@"
