#!/usr/bin/env bash
# Usage: bash tools/dist_train.sh CONFIG GPUS [train.py options]
# Env: PYTHON (default: the repository's .venv/bin/python when it exists,
# else python), NNODES, NODE_RANK, PORT, MASTER_ADDR (multi-node).
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
VENV_PYTHON="$ROOT/.venv/bin/python"
[ -x "$VENV_PYTHON" ] || VENV_PYTHON=python
CONFIG=$1
GPUS=$2
shift 2
PYTHONPATH="$ROOT":${PYTHONPATH:-} \
"${PYTHON:-$VENV_PYTHON}" -m torch.distributed.run --nnodes="${NNODES:-1}" --node_rank="${NODE_RANK:-0}" \
    --master_addr="${MASTER_ADDR:-127.0.0.1}" --master_port="${PORT:-29500}" \
    --nproc_per_node="$GPUS" \
    "$ROOT/tools/train.py" "$CONFIG" --launcher pytorch "$@"
