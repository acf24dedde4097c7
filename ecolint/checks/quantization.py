"""bitsandbytes checks: LLM101-LLM107."""

from __future__ import annotations

from collections.abc import Iterator

from ecolint.analysis.facts import ModelLoad, QuantConfig
from ecolint.checks import CheckContext, check
from ecolint.analysis.models import inference_loads, model_text
from ecolint.analysis.parameters import number
from ecolint.checks._common import both_condition, condition, model_size, mutually_exclusive
from ecolint.diagnostics import Finding
from ecolint.energy.model_size import format_params


def _inference_configs(ctx: CheckContext) -> Iterator[QuantConfig]:
    for config in ctx.facts.quant_configs:
        if not ctx.facts.is_training(config.unit):
            yield config


@check("LLM101")
def int8_outlier_threshold(ctx: CheckContext) -> Iterator[Finding]:
    for config in _inference_configs(ctx):
        flag = config.entry("load_in_8bit")
        if flag is None or not flag.value.maybe_true():
            continue
        threshold = config.entry("llm_int8_threshold")
        if threshold is None:
            if config.entries.unknown_splat:
                continue  # the threshold may come through **kwargs
            described = " unset (bitsandbytes default)"
        else:
            value = number(threshold.value)
            if value is None or value == 0:
                continue
            described = f"={value:g}"
        yield Finding("LLM101", flag.key_node, {"threshold": described, "condition": condition(flag.value)}, config)


@check("LLM104")
def conflicting_bits(ctx: CheckContext) -> Iterator[Finding]:
    for config in ctx.facts.quant_configs:
        eight, four = config.entry("load_in_8bit"), config.entry("load_in_4bit")
        if not (eight and four and eight.value.maybe_true() and four.value.maybe_true()):
            continue
        if mutually_exclusive(eight.value, four.value, ctx.facts.raising_guards):
            continue  # ``bits == 8`` and ``bits == 4``: never both true
        where = config.anchor if config.kind == "config" else (eight.owner or config.anchor)
        yield Finding("LLM104", where, {"condition": both_condition(eight.value, four.value)}, config)


@check("LLM105")
def four_bit_options_without_four_bit(ctx: CheckContext) -> Iterator[Finding]:
    for config in ctx.facts.quant_configs:
        options = config.bnb_4bit_options()
        if not options or config.entries.unknown_splat:
            continue
        four = config.entry("load_in_4bit")
        if four is not None and not four.value.provably_false():
            continue
        names = ", ".join(option.name for option in options)
        yield Finding(
            "LLM105", options[0].key_node, {"options": names, "verb": "have" if len(options) > 1 else "has"}, config
        )


@check("LLM106")
def removed_load_in_keyword(ctx: CheckContext) -> Iterator[Finding]:
    from ecolint.checks._versions import transformers_major, transformers_pin

    # Pinned to 4.x only: deprecated there (a warning); a pin that allows v5, or none: v5 rejects it (an error).
    below_5 = transformers_major(ctx.versions) == "4"
    status = "deprecated in transformers 4.x and rejected by v5" if below_5 else "transformers v5 rejects it"
    for load in ctx.facts.model_loads:
        callee = "pipeline(model_kwargs=...)" if load.via_pipeline else "from_pretrained"
        for entry in load.direct_load_keywords:
            context = {"keyword": entry.name, "callee": callee, "status": status, "pin": transformers_pin(ctx.versions)}
            yield Finding("LLM106", entry.key_node, context, load, severity="warning" if below_5 else None)


def _four_bit(load: ModelLoad) -> bool:
    return load.quant is not None and load.quant.requests("load_in_4bit")


def _quantized_bits(load: ModelLoad) -> str | None:
    if load.quant is None:
        return None
    if load.quant.requests("load_in_4bit"):
        return "4-bit"
    if load.quant.requests("load_in_8bit"):
        return "8-bit"
    return None


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
        yield Finding("LLM102", load.site.node, {"model": model_text(load), "size": _size_text(size)}, load)


def _size_text(size) -> str:
    if not size.is_moe:
        return size.describe()
    return f"{size.describe()}; the penalty was measured on dense models and is extrapolated to it"


def _weights_gb(load: ModelLoad, size) -> float:
    """FP16 weight memory of a load, as the advisor's fit computes it (``memory_fit.weights_gb``)."""
    from ecolint.energy.memory_fit import weights_gb

    return weights_gb(model_text(load) or "", size.params_b, "fp16", size.active_params_b)


# The measurement rows each bit width of LLM103 quotes: a 4-bit load is answered with NF4 rows only.
_LLM103_PRECISIONS = {"4-bit": {"nf4"}, "8-bit": {"int8_default", "int8_pure"}}


@check("LLM103")
def quantized_without_memory_pressure(ctx: CheckContext) -> Iterator[Finding]:
    if ctx.gpu is None:
        return
    fraction = float(ctx.option("LLM103", "max_weight_fraction"))
    penalty = ctx.rules["LLM103"].penalty
    for load in inference_loads(ctx.facts):
        bits = _quantized_bits(load)
        size = model_size(ctx, load) if bits else None
        if size is None or _weights_gb(load, size) > fraction * ctx.gpu.vram_gb:
            continue
        yield Finding(
            "LLM103",
            load.site.node,
            {
                "penalty": penalty.only(_LLM103_PRECISIONS[bits]).describe() if penalty else "",
                "bits": bits,
                "model": model_text(load),
                "size": format_params(size.params_b),
                "weights_gb": f"{_weights_gb(load, size):.0f}",
                "gpu": ctx.gpu.key,
                "vram_gb": f"{ctx.gpu.vram_gb:g}",
            },
        )


@check("LLM107")
def model_exceeds_gpu_memory(ctx: CheckContext) -> Iterator[Finding]:
    if ctx.gpu is None:
        return
    nf4_from = float(ctx.option("LLM107", "nf4_min_params_b"))
    for load in inference_loads(ctx.facts):
        if _quantized_bits(load):
            continue
        size = model_size(ctx, load)
        if size is None or _weights_gb(load, size) <= ctx.gpu.vram_gb:
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
