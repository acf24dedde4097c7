#!/usr/bin/env bash
# The torch.compile rows of ecolint/energy/data/hopper_h200.csv (rule LLM302): eager fp16 against
# fp16 with a static KV cache and compiled decoding, both architectures in one call:
#   bash docs/measurements/calibrate_compile.sh 29 OUTDIR 380
set -uo pipefail
FIRST_ROW=$1
OUTDIR=${2:-measurements-out}
BUDGET=${3:-380}
mkdir -p "$OUTDIR"
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,power.limit,power.draw,temperature.gpu,clocks.sm --format=csv
python3 -c 'import torch, transformers, triton; print("torch", torch.__version__, "cuda", torch.version.cuda,
    "transformers", transformers.__version__, "triton", triton.__version__, "gpu", torch.cuda.get_device_name(0))'
python3 -m ecolint.measure calibrate --arch qwen2-1.5b,mistral-7b \
    --quantization fp16 --batch-size 1,8 --no-kv-cache-off --no-fp32 --compile --min-run-seconds 2 \
    --input-tokens 64 --new-tokens 128 --warmup 1 --runs 3 --pause 1 --idle-seconds 2 \
    --time-budget "$BUDGET" --row-prefix h --first-row "$FIRST_ROW" \
    --source-file docs/measurements/hopper/calibrate_compile.json \
    -o "$OUTDIR/calibrate_compile.csv" --log "$OUTDIR/calibrate_compile.json"
nvidia-smi --query-gpu=name,power.draw,temperature.gpu,clocks.sm --format=csv
