#!/usr/bin/env bash
# The calibration behind ecolint/energy/data/hopper_h200.csv, one architecture per call:
#   bash docs/measurements/calibrate_hopper.sh qwen2-1.5b 1  OUTDIR
#   bash docs/measurements/calibrate_hopper.sh mistral-7b 15 OUTDIR
set -uo pipefail
ARCH=$1
FIRST_ROW=$2
OUTDIR=${3:-measurements-out}
BUDGET=${4:-500}
mkdir -p "$OUTDIR"
export PYTHONUNBUFFERED=1
nvidia-smi --query-gpu=name,driver_version,power.limit,power.draw,temperature.gpu,clocks.sm --format=csv
python3 -m ecolint.measure calibrate --arch "$ARCH" \
    --quantization fp16,bf16,nf4,int8_default,int8_pure --batch-size 1,8 --kv-cache-off --fp32 \
    --input-tokens 64 --new-tokens 128 --warmup 1 --runs 3 --pause 1 --idle-seconds 2 \
    --time-budget "$BUDGET" --row-prefix h --first-row "$FIRST_ROW" \
    --source-file "docs/measurements/hopper/calibrate_$ARCH.json" \
    -o "$OUTDIR/calibrate_$ARCH.csv" --log "$OUTDIR/calibrate_$ARCH.json"
nvidia-smi --query-gpu=name,power.draw,temperature.gpu,clocks.sm --format=csv
