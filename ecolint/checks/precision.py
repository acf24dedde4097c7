"""Weights precision: ECO303 (float32 inference)."""

from __future__ import annotations

from collections.abc import Iterator

from ecolint.checks import CheckContext, check
from ecolint.checks.common import model_text
from ecolint.diagnostics import Finding

FLOAT32 = frozenset({"torch.float32", "torch.float"})


def _is_float32(value) -> bool:
    if value.kind == "symbol":
        return value.value in FLOAT32
    if value.kind == "const":
        return value.value in ("float32", "float", "fp32")
    if value.kind == "option" and value.value is not None:
        return _is_float32(value.value)  # the option's default loads in float32
    return False


@check("ECO303")
def fp32_inference(ctx: CheckContext) -> Iterator[Finding]:
    suggested = "bfloat16" if "bfloat16" in ctx.source else "float16"
    for load in ctx.facts.model_loads:
        if load.dtype is None or not _is_float32(load.dtype.value):
            continue
        if ctx.facts.is_training(load.site.unit) or load.loads_for_training:
            continue
        yield Finding(
            "ECO303",
            load.dtype.key_node,
            {"model": model_text(load) or "the model", "suggested": suggested},
            load.dtype,
        )
