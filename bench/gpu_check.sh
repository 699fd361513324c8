#!/usr/bin/env bash
# The GPU check: train and serve the transformer at IndoBERT-base shape (random weights) on a
# machine with a GPU and write the figures as JSON (default docs/bench/gpu_check.json).
#   bench/gpu_check.sh                         # on the GPU machine
#   bench/gpu_check.sh --smoke --out /tmp/x.json   # tiny shape on the CPU: checks that it runs
# Options: python -m bench.gpu_check --help
set -euo pipefail
cd "$(dirname "$0")/.."
PY="${PY:-.venv/bin/python}"
[ -x "$PY" ] || PY=python3
exec "$PY" -m bench.gpu_check "$@"
