#!/usr/bin/env bash
# Set up .venv if needed, then run the test suite (CPU only).
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
bash "$ROOT/tools/setup_env.sh"
cd "$ROOT"
exec .venv/bin/python -m pytest tests "$@"
