"""LLM102 nf4-small-model: a small model loaded in 4-bit NF4, which costs more energy than half precision;
the fix (unsafe) loads it in half precision."""

from __future__ import annotations

from collections.abc import Iterator

from ecolint.analysis.facts import ModelLoad, QuantConfig
from ecolint.analysis.models import inference_loads, model_text
from ecolint.checks import CheckContext, check
from ecolint.analysis.values import ValueKind
from ecolint.checks._common import condition, model_size
from ecolint.diagnostics import Finding
from ecolint.fixes import imports
from ecolint.fixes.bitsandbytes import is_bnb_keyword
from ecolint.fixes.context import FixContext, NoFix, Proposal
from ecolint.fixes.dtype import DTYPE_KEYWORDS, dtype_keyword
from ecolint.fixes.edits import Edit
from ecolint.fixes.layout import container_sequence, element_of
from ecolint.fixes.registry import fixer


HALF = {"torch.float16": "float16", "torch.half": "float16", "torch.bfloat16": "bfloat16",
        "float16": "float16", "half": "float16", "bfloat16": "bfloat16"}


def _four_bit(load: ModelLoad) -> bool:
    return load.quant is not None and load.quant.requests("load_in_4bit")


@check("LLM102")
def nf4_small_model(ctx: CheckContext) -> Iterator[Finding]:
    limit = float(ctx.option("LLM102", "max_params_b"))
    for load in inference_loads(ctx.facts):
        if not _four_bit(load):
            continue
        size = model_size(ctx, load)
        # NF4's small-model penalty is compute per token, so a mixture of experts counts its active parameters
        if size is None or size.compute_params_b > limit:
            continue
        yield Finding("LLM102", load.site.node, {"model": _model_text(load), "size": _size_text(size),
                                                 "condition": condition(load.quant.entry("load_in_4bit").value)}, load)


def _model_text(load: ModelLoad) -> str:
    """The model id, and the command-line option it is the default of."""
    if load.model_id is not None and load.model_id.kind == ValueKind.OPTION:
        return f"{model_text(load)} (the default of {load.model_id.flag})"
    return model_text(load)


def _size_text(size) -> str:
    if not size.is_moe:
        return size.describe()
    return f"{size.describe()}; the penalty was measured on dense models and is extrapolated to it"


def _compute_dtype(config: QuantConfig) -> str:
    entry = config.entry("bnb_4bit_compute_dtype")
    if entry is None:
        return "float16"
    value = entry.value
    key = value.value if value.kind in ("symbol", "const") and isinstance(value.value, str) else None
    return HALF.get(key, "float16")


@fixer("LLM102")
def load_in_half_precision(ctx: FixContext, finding: Finding) -> Proposal:
    load: ModelLoad = finding.subject
    call = load.site.node
    config = load.quant
    four = config.entry("load_in_4bit") if config is not None else None
    if four is None or not four.value.provably_true() or load.via_pipeline:
        raise NoFix("4-bit loading is not certain, or it is configured through a pipeline")
    if load.model_id is None or load.model_id.kind != "const":
        # a --model default or a parameter: the model actually loaded, and its size, are chosen at run time
        raise NoFix("the model is not written in the code")
    sequence = container_sequence(ctx, call)
    if config.kind == "direct":
        # load_in_4bit=True and its companions written in the call: all of them give way to the dtype
        entries = [entry for name, entry in load.entries.items.items() if is_bnb_keyword(name)]
        if any(entry.owner is not call for entry in entries):
            raise NoFix("some bitsandbytes keywords come through **kwargs")
        indexes = sorted(sequence.index_of(element_of(ctx, entry.key_node, entry.owner)) for entry in entries)
    else:
        entry = load.entries.get("quantization_config")
        if entry is None or entry.owner is not call:
            raise NoFix("the quantization_config is not written in the call")
        if load.direct_load_keywords:
            raise NoFix("load_in_* is also passed directly; which one applies is unclear")
        indexes = [sequence.index_of(element_of(ctx, entry.key_node, entry.owner))]
    if load.dtype is not None:
        edits, _ = sequence.remove(set(indexes))
        return Proposal(edits, message="Remove the 4-bit quantization (the dtype is already given)")
    ctx.require_absent(call, DTYPE_KEYWORDS)
    torch = imports.torch_module(ctx, load.site.scope, load.site.order, call.func)
    keyword = dtype_keyword(ctx, call)
    element = sequence.elements[indexes[0]]
    edits, _ = sequence.remove(set(indexes[1:]))
    edits += [Edit(element.start, element.end, f"{keyword}={torch.text}.{_compute_dtype(config)}"), *torch.edits]
    if config.kind != "direct":
        edits += imports.unused_after_removal(ctx, element.node.value)
    return Proposal(edits)
