"""The batch size a batching fix writes: the ``fix-batch-size`` setting, capped by the GPU's memory.

The setting (default 8: the batch of the measured LLM201/LLM202 rows) is what the fixes of per-item
generation and of ``batch_size=1`` write. When the deployment GPU (``--gpu``) and the model's size are
known, the batch is lowered until the weights plus the KV cache of every sequence fit the GPU with the
same arithmetic as ``ecolint estimate`` (``ecolint.energy.memory_fit``: 512 prompt + 256 generated
tokens per sequence, ``MEMORY_HEADROOM`` of the memory usable).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from ecolint.fixes.context import FixContext

if TYPE_CHECKING:
    from ecolint.analysis.facts import ModelLoad

HALF_PRECISIONS = ("float16", "bfloat16", "half", "auto", "fp16", "bf16")


def fix_batch_size(ctx: FixContext, load: ModelLoad | str | None = None) -> int:
    """The batch size to write: ``ctx.batch_size``, or the largest smaller one whose memory fits the GPU.

    ``load`` is the model's load (a ``ModelLoad`` fact) or its id; without it, or without a GPU, a known
    model size or a known precision, the setting is returned as it is. At least 1: a fixer that gets 1
    has nothing to batch and offers no fix.
    """
    wanted = max(1, int(ctx.batch_size))
    if ctx.gpu is None or load is None:
        return wanted
    model_id = load if isinstance(load, str) else _model_id(load)
    quantization = "fp16" if isinstance(load, str) else _quantization(load)
    if not model_id or quantization is None:
        return wanted
    from ecolint.energy.architectures import estimated_architecture, find_architecture
    from ecolint.energy.memory_fit import fit
    from ecolint.energy.model_size import resolve_model_size
    from ecolint.energy.workload import Workload

    arch = find_architecture(model_id)
    if arch is None:
        size = resolve_model_size(model_id, _base_dirs(ctx))
        if size is None:
            return wanted
        arch = estimated_architecture(size.params_b, model_id, active_params_b=size.active_params_b)
    batch = wanted
    while batch > 1 and not fit(Workload(ctx.gpu, arch, quantization, batch)).fits:
        batch -= 1
    return batch


def _model_id(load: ModelLoad) -> str | None:
    return load.model_id.text() if load.model_id is not None else None


def _quantization(load: ModelLoad) -> str | None:
    """The precision the weights are held in, as the memory estimate names it; None when unknown.

    A load without a dtype counts as float32 (transformers' default before version 5), except in vLLM,
    which runs the checkpoint's half-precision dtype."""
    if load.quant is not None:
        if load.quant.requests("load_in_4bit"):
            return "nf4"
        if load.quant.requests("load_in_8bit"):
            return "int8_default"
    if load.dtype is None:
        return "fp16" if load.engine == "vllm" else "fp32"
    from ecolint.analysis.scopes import code_of

    value = load.dtype.value
    text = value.text() or (code_of(value.node) if value.node is not None else "")
    name = text.rsplit(".", 1)[-1].strip("\"'").lower()
    if name in HALF_PRECISIONS:
        return "fp16"
    if name in ("float32", "float", "fp32"):
        return "fp32"
    return None


def _base_dirs(ctx: FixContext) -> tuple[Path, ...]:
    """Where a local checkpoint's ``config.json`` is looked for: the linted file's folder, then the working one."""
    return (*ctx.base_dirs, Path.cwd())
