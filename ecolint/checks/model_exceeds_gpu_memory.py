"""LLM107 model-exceeds-gpu-memory: an unquantized model whose half-precision weights do not fit the
deployment GPU, with the precisions that would fit."""

from __future__ import annotations

from collections.abc import Iterator

from ecolint.analysis.models import inference_loads, model_text
from ecolint.checks import CheckContext, check
from ecolint.checks._common import model_size, quantized_bits, weights_gb
from ecolint.diagnostics import Finding


@check("LLM107")
def model_exceeds_gpu_memory(ctx: CheckContext) -> Iterator[Finding]:
    if ctx.gpu is None:
        return
    nf4_from = float(ctx.option("LLM107", "nf4_min_params_b"))
    for load in inference_loads(ctx.facts):
        if quantized_bits(load):
            continue
        size = model_size(ctx, load)
        if size is None or weights_gb(load, size) <= ctx.gpu.vram_gb:
            continue
        fp16_gb, fit = _fit_text(ctx, model_text(load) or "", size, nf4_from)
        yield Finding(
            "LLM107",
            load.site.node,
            {
                "model": model_text(load),
                "size": size.short(),
                "weights_gb": f"{fp16_gb:.0f}",
                "gpu": ctx.gpu.key,
                "vram_gb": f"{ctx.gpu.vram_gb:g}",
                "fit": fit,
            },
        )


def _fit_text(ctx: CheckContext, text: str, size, nf4_from: float) -> tuple[float, str]:
    """FP16 weight memory and which precision fits the GPU (weights + KV cache + runtime overhead, as
    ``ecolint estimate`` computes it)."""
    from ecolint.energy.memory_fit import MEMORY_HEADROOM, fits_by_precision, load_architecture, usable_gb

    arch = load_architecture(text, size.params_b, size.active_params_b)
    fits = fits_by_precision(ctx.gpu, arch)
    usable = (
        f"{usable_gb(ctx.gpu):.1f} GB usable of {ctx.gpu.vram_gb:g} GB after {1 - MEMORY_HEADROOM:.0%} runtime "
        f"overhead; batch 1, 512 prompt + 256 generated tokens"
    )
    fitting = [f.describe() for f in fits if f.fits]
    too_big = [f.describe() for f in fits if not f.fits]
    if not fitting:
        return fits[0].weights_gb, (
            f"No precision fits ({usable}): {', '.join(too_big)}. Offload to CPU memory, split the model across "
            f"several GPUs, or use a smaller model"
        )
    message = f"Fits ({usable}): {', '.join(fitting)}; does not fit: {', '.join(too_big)}"
    # memory follows all the parameters (the fit above); NF4's energy follows the active ones
    if any(f.fits and f.quantization == "nf4" for f in fits) and size.compute_params_b >= nf4_from:
        message += f". NF4 measured {ctx.rules['LLM107'].penalty_text()}"
        if size.is_moe:
            message += " (dense models; extrapolated to this mixture of experts)"
    return fits[0].weights_gb, message
