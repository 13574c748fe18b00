#!/usr/bin/env bash
# Distributed training on one or more machines with torchrun (`python -m torch.distributed.run`).
#   bash tools/dist_train.sh CONFIG GPUS [train.py args...]
# GPUS is the number of processes on this machine (one per GPU; on a CPU-only host each process
# trains on CPU with the gloo backend). Multi-node: run it on every node with the same
# NNODES, MASTER_ADDR and PORT and that node's NODE_RANK (0 .. NNODES-1).
set -euo pipefail
if [ $# -lt 2 ]; then
    echo "usage: $0 CONFIG GPUS [train.py args...]" >&2
    exit 2
fi
CONFIG=$1
GPUS=$2
shift 2
NNODES=${NNODES:-1}
NODE_RANK=${NODE_RANK:-0}
PORT=${PORT:-29500}
MASTER_ADDR=${MASTER_ADDR:-127.0.0.1}
ROOT=$(cd "$(dirname "$0")/.." && pwd)
# The project's venv when there is one (PY overrides it, as in demo.sh).
if [ -z "${PY:-}" ]; then
    if [ -x "$ROOT/.venv/bin/python" ]; then PY=$ROOT/.venv/bin/python; else PY=python; fi
fi

PYTHONPATH="$ROOT${PYTHONPATH:+:$PYTHONPATH}" exec "$PY" -m torch.distributed.run \
    --nnodes="$NNODES" --node_rank="$NODE_RANK" --master_addr="$MASTER_ADDR" \
    --master_port="$PORT" --nproc_per_node="$GPUS" \
    "$ROOT/tools/train.py" "$CONFIG" --launcher pytorch "$@"
