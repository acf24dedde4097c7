"""LLM307 dtype-without-effect: a dtype given where nothing reads it (a tokenizer, a pipeline wrapping a model
already loaded), while the model itself loads in float32 (a tokenizer's dtype is reported only next to such a load)."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from ecolint.analysis.facts import ModelLoad
from ecolint.analysis.models import inference_loads, model_text
from ecolint.analysis.values import last_name
from ecolint.checks import CheckContext, check
from ecolint.diagnostics import Finding

DTYPE_KEYWORDS = ("torch_dtype", "dtype")
TOKENIZERS = ("Tokenizer", "TokenizerFast")


def _dtype_argument(call: cst.Call) -> cst.Arg | None:
    return next((arg for arg in call.args if arg.keyword is not None and arg.keyword.value in DTYPE_KEYWORDS), None)


def _wrapped_load(ctx: CheckContext, pipeline_call: cst.Call) -> ModelLoad | None:
    """The ``from_pretrained`` of the model object a ``pipeline(model=model)`` wraps."""
    for creation in ctx.facts.pipelines:
        if creation.site.node is not pipeline_call:
            continue
        entry = creation.entries.get("model")
        if entry is None:
            return None
        return next((load for load in ctx.facts.model_loads if load.site.node is entry.value.node), None)
    return None


def _float32_loads(ctx: CheckContext) -> list[ModelLoad]:
    """The module's models loaded without a dtype and without quantization (float32 under transformers 4.x)."""
    return [load for load in inference_loads(ctx.facts) if load.dtype is None and load.quant is None
            and not load.entries.unknown_splat and not load.via_pipeline and load.engine == "transformers"]


@check("LLM307")
def dtype_without_effect(ctx: CheckContext) -> Iterator[Finding]:
    float32 = _float32_loads(ctx)
    for site in ctx.facts.collector.calls if ctx.facts.collector is not None and float32 else []:
        call = site.node
        if last_name(call.func) != "from_pretrained" or not isinstance(call.func, cst.Attribute):
            continue
        owner = last_name(call.func.value) or ""
        argument = _dtype_argument(call)
        beside = next((load for load in float32 if load.site.scope is site.scope), None)  # the model it was meant for
        if argument is not None and beside is not None and owner.endswith(TOKENIZERS):
            yield Finding("LLM307", argument.keyword, {
                "keyword": argument.keyword.value, "where": f"{owner}.from_pretrained()",
                "effect": f"a tokenizer holds no weights, while {model_text(beside) or 'the model'} is loaded "
                          "without a dtype (float32 under transformers 4.x)"}, site)
    for load in inference_loads(ctx.facts):
        if not load.via_pipeline:
            continue
        argument = _dtype_argument(load.site.node)
        wrapped = _wrapped_load(ctx, load.site.node) if argument is not None else None
        if wrapped is None or wrapped.dtype is not None or wrapped.quant is not None or wrapped.entries.unknown_splat:
            continue
        model = model_text(wrapped) or "the model"
        yield Finding("LLM307", argument.keyword, {
            "keyword": argument.keyword.value, "where": "pipeline(model=...)",
            "effect": f"the pipeline is given {model} already loaded, without a dtype (float32 under "
                      "transformers 4.x), and does not convert it"}, load)
