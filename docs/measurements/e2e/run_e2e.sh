#!/usr/bin/env bash
# Everything measured on one GPU for the end-to-end table and the fp32 compute rows, in one go:
#   bash docs/measurements/e2e/run_e2e.sh WHEELS OUTDIR
# WHEELS holds main/ (nvidia-ml-py and FastAPI's wheels, for every script), tf4/ (transformers
# 4.57.6 with the tokenizers and huggingface_hub it needs: the scripts' pinned environment) and
# extra/ (typing_extensions, installed only if pydantic does not import without it).
# Part A: docs/measurements/e2e/run_e2e.py (Qwen2-1.5B shapes). Part B: practices.py --sections fp32
# for Qwen2-1.5B and Mistral-7B (rows f001-f008 and f009-f016). Each part has a time limit, so the
# whole run stays under 10 minutes (about 30 s of setup, A 330 s, B 90 + 120 s); results are saved
# after every run, so a cut part keeps what it had.
set -uo pipefail
WHEELS=${1:-.whl}
OUTDIR=${2:-${OUT:-e2e-out}}
SITE=${SITE:-/tmp/site}; SITE4=${SITE4:-/tmp/site-tf4}  # the two environments
E2E_LIMIT=${E2E_LIMIT:-330}
# DEVICE=cpu: the whole procedure on a CPU with tiny models and a simulated energy counter (a check)
DEVICE=${DEVICE:-cuda}
if [ "$DEVICE" = cpu ]; then A_DEV="--device cpu --tiny"; B_DEV="--device cpu --fake-nvml --tiny --fp32-tokens 32"
else A_DEV="--device cuda"; B_DEV=""; fi
SIZES=${SIZES:---prompts 16 --requests 6 --new-tokens 32}  # of part A (on a CPU, smaller ones keep the check short)
export PYTHONUNBUFFERED=1
mkdir -p "$OUTDIR/e2e" "$OUTDIR/fp32"
exec > >(tee "$OUTDIR/run.log") 2>&1
step() { echo "=== $(date -u +%H:%M:%S) $*"; }
PIP="python3 -m pip install -q --no-index --no-deps --no-compile --no-cache-dir --upgrade"
step "install wheels"
$PIP --target "$SITE" "$WHEELS"/main/*.whl || { echo "FAILED: main wheels"; exit 2; }
$PIP --target "$SITE4" "$WHEELS"/tf4/*.whl || { echo "FAILED: transformers 4.57 wheels"; exit 2; }
export PYTHONPATH=$SITE:$PWD${PYTHONPATH:+:$PYTHONPATH}  # $PWD: practices.py imports ecolint
if ! python3 -c "import fastapi, pydantic, fastapi.testclient" 2>/dev/null; then
    echo "fastapi/pydantic do not import with the machine's typing_extensions: adding the carried one"
    $PIP --target "$SITE" "$WHEELS"/extra/*.whl
fi
python3 -m compileall -q -j 0 "$SITE" "$SITE4" >/dev/null 2>&1
step "check the two environments"
python3 -c "import torch, transformers, pynvml; print('measuring env: torch', torch.__version__, 'cuda', torch.version.cuda,
'transformers', transformers.__version__, 'gpu', torch.cuda.get_device_name(0) if torch.cuda.is_available() else None)" \
    || { echo "FAILED: measuring env"; exit 2; }
PYTHONPATH=$SITE4:$PYTHONPATH python3 -c "import torch, transformers, tokenizers, huggingface_hub, fastapi, pydantic
assert transformers.__version__ == '4.57.6', transformers.__version__
from transformers import pipeline, AutoModelForCausalLM; from fastapi.testclient import TestClient
print('scripts env: transformers', transformers.__version__, 'tokenizers', tokenizers.__version__, 'huggingface_hub',
      huggingface_hub.__version__, 'fastapi', fastapi.__version__, 'pydantic', pydantic.__version__)" \
    || { echo "FAILED: the scripts' environment (transformers 4.57.6) does not import"; exit 2; }
nvidia-smi --query-gpu=name,driver_version,power.limit,power.draw,temperature.gpu,clocks.sm,memory.used --format=csv
nproc; free -g | head -2; df -h /var/tmp | tail -1
step "A: end-to-end scripts (limit ${E2E_LIMIT} s)"
timeout "$E2E_LIMIT" python3 docs/measurements/e2e/run_e2e.py $A_DEV --site "$SITE4" \
    --out "$OUTDIR/e2e" --work /var/tmp/ecolint-e2e --budget $((E2E_LIMIT - 40)) --runs "${RUNS:-2}" \
    $SIZES
echo "A exit $?"
P="python3 docs/measurements/practices.py --sections fp32 --model-dir /var/tmp/ecolint-models --experiment fp32_compute
   --runs 3 --min-run-s 1.5 --pause 0.5 --idle-seconds 2 --row-prefix f $B_DEV"
step "B: fp32 prefill/scoring, qwen2-1.5b"
timeout ${B1_LIMIT:-90} $P --arch qwen2-1.5b --budget 60 --first-row 1 --out "$OUTDIR/fp32/fp32_qwen2" \
    --source-file docs/measurements/hopper/fp32_qwen2-1.5b.json
echo "B qwen2-1.5b exit $?"
step "B: fp32 prefill/scoring, mistral-7b"
timeout ${B2_LIMIT:-120} $P --arch mistral-7b --budget 85 --first-row 9 --out "$OUTDIR/fp32/fp32_mistral" \
    --source-file docs/measurements/hopper/fp32_mistral-7b.json
echo "B mistral-7b exit $?"
nvidia-smi --query-gpu=name,power.draw,temperature.gpu,clocks.sm,memory.used --format=csv
step "results"
cat "$OUTDIR/e2e/e2e_table.md" 2>/dev/null
cut -d, -f1,2,6,7,10,14,17 "$OUTDIR"/fp32/*.csv 2>/dev/null
ls -la "$OUTDIR" "$OUTDIR"/*
