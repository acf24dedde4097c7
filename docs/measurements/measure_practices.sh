#!/usr/bin/env bash
# The rows of ecolint/energy/data/hopper_h200_practices.csv: five inference practices on one GPU,
# measured by docs/measurements/practices.py (random-weight models, NVML energy counter).
#   bash docs/measurements/measure_practices.sh 1 OUTDIR 1    # Mistral-7B: model load per request, beam search, autograd
#   bash docs/measurements/measure_practices.sh 2 OUTDIR 16   # Mistral-7B: CPU offload; Qwen2-1.5B: autograd, beam search
# The third argument is the number of the first row (rows p001, p002, ...).
set -uo pipefail
PART=$1
OUTDIR=${2:-measurements-out}
FIRST_ROW=${3:-1}
MODELS=${MODELS:-/var/tmp/ecolint-models}
mkdir -p "$OUTDIR" "$MODELS"
export PYTHONUNBUFFERED=1
P="python3 docs/measurements/practices.py --model-dir $MODELS --experiment practices_h200"
nvidia-smi --query-gpu=name,driver_version,power.limit,power.draw,temperature.gpu,clocks.sm,memory.used --format=csv
python3 -c 'import torch, transformers, accelerate, safetensors; print("torch", torch.__version__, "cuda", torch.version.cuda,
    "transformers", transformers.__version__, "accelerate", accelerate.__version__, "safetensors", safetensors.__version__,
    "gpu", torch.cuda.get_device_name(0))'
df -h "$MODELS" | tail -1; free -g | head -2; nproc
if [ "$PART" = 1 ]; then
    $P --arch mistral-7b --sections load,beam,autograd --budget 500 --first-row "$FIRST_ROW" \
        --source-file docs/measurements/hopper/practices_part1.json --out "$OUTDIR/practices_part1"
elif [ "$PART" = 2 ]; then
    $P --arch mistral-7b --sections offload --budget 270 --first-row "$FIRST_ROW" \
        --source-file docs/measurements/hopper/practices_part2a.json --out "$OUTDIR/practices_part2a"
    N=$(($(tail -n +2 "$OUTDIR/practices_part2a.csv" | grep -c '^p')))
    $P --arch qwen2-1.5b --sections autograd,beam --budget 230 --first-row $((FIRST_ROW + N)) \
        --source-file docs/measurements/hopper/practices_part2b.json --out "$OUTDIR/practices_part2b"
fi
nvidia-smi --query-gpu=name,power.draw,temperature.gpu,clocks.sm,memory.used --format=csv
