"""LLM103 quantized-without-memory-pressure: a model quantized although its half-precision weights fit the
deployment GPU with room to spare."""

from __future__ import annotations

from collections.abc import Iterator

from ecolint.analysis.models import inference_loads, model_text
from ecolint.checks import CheckContext, check
from ecolint.checks._common import model_size, quantized_bits, weights_gb
from ecolint.diagnostics import Finding
from ecolint.energy.model_size import format_params


# The measurement rows each bit width of LLM103 quotes: a 4-bit load is answered with NF4 rows only.
_LLM103_PRECISIONS = {"4-bit": {"nf4"}, "8-bit": {"int8_default", "int8_pure"}}


@check("LLM103")
def quantized_without_memory_pressure(ctx: CheckContext) -> Iterator[Finding]:
    if ctx.gpu is None:
        return
    fraction = float(ctx.option("LLM103", "max_weight_fraction"))
    penalty = ctx.rules["LLM103"].penalty
    for load in inference_loads(ctx.facts):
        bits = quantized_bits(load)
        size = model_size(ctx, load) if bits else None
        if size is None or weights_gb(load, size) > fraction * ctx.gpu.vram_gb:
            continue
        yield Finding(
            "LLM103",
            load.site.node,
            {
                "penalty": penalty.only(_LLM103_PRECISIONS[bits]).describe() if penalty else "",
                "bits": bits,
                "model": model_text(load),
                "size": format_params(size.params_b),
                "weights_gb": f"{weights_gb(load, size):.0f}",
                "gpu": ctx.gpu.key,
                "vram_gb": f"{ctx.gpu.vram_gb:g}",
            },
        )
