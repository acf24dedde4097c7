#!/usr/bin/env bash
# Environment check and timing probe, run before a calibration on a new machine.
#   bash docs/measurements/check_gpu.sh OUTDIR
set -uo pipefail
OUTDIR=${1:-measurements-out}
mkdir -p "$OUTDIR"
export PYTHONUNBUFFERED=1
M="python3 -m ecolint.measure"
nvidia-smi --query-gpu=name,driver_version,power.limit,power.draw,temperature.gpu,clocks.sm,memory.used --format=csv
python3 - <<'PY'
import torch, transformers, bitsandbytes
print("torch", torch.__version__, "cuda", torch.version.cuda, "transformers", transformers.__version__,
      "bitsandbytes", bitsandbytes.__version__, "gpu", torch.cuda.get_device_name(0))
PY
# 1. ecolint measure against a fixed load (bf16 matrix products, 3 s), twice
$M measure --idle-seconds 3 --repeat 2 --cooldown 2 --timeline --json "$OUTDIR/measure_matmul.json" \
    -- python3 docs/measurements/matmul_load.py --seconds 3
# 2. how long one configuration takes (1 run each)
$M calibrate --arch qwen2-1.5b --quantization fp16,nf4,int8_default --batch-size 1,8 --no-fp32 \
    --runs 1 --warmup 1 --pause 0.5 --idle-seconds 1 -o "$OUTDIR/probe_qwen2.csv"
$M calibrate --arch mistral-7b --quantization int8_default --batch-size 8 --no-fp32 --no-kv-cache-off \
    --runs 1 --warmup 1 --pause 0.5 --idle-seconds 1 -o "$OUTDIR/probe_mistral.csv"
