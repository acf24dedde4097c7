"""``ecolint estimate``: what a deployment costs in energy, money and carbon, now and optimized."""

from __future__ import annotations

from ecolint.advisor.common import (
    add_transparency,
    add_warnings,
    base_payload,
    configuration_items,
    cost_items,
    estimate_dict,
    estimator_for,
    figure_text,
    monthly,
    num,
    short_basis,
    workload,
)
from ecolint.advisor.optimizer import recommend
from ecolint.advisor.report import Bullets, Report, Table
from ecolint.advisor.validation import Inputs, quantization_label, warn_batch_one


def _saving(current: float | None, optimized: float | None) -> str:
    if current is None or optimized is None or current == 0:
        return "n/a"
    return f"{(optimized / current - 1) * 100:+.1f}%"


def _money_change(value: float) -> str:
    return f"{'-' if value < 0 else '+'}${num(abs(value), 2)}"


def impossible_plan(inputs: Inputs) -> str | None:
    """One line when the plan cannot run on the GPU at any precision the advisor knows, else None.

    The fit is weights + KV cache + runtime overhead (``ecolint.energy.memory_fit``); when the
    requested precision does not fit but another does, the plan can still be estimated (with a
    warning), so only a plan that no precision makes fit is refused.
    """
    from ecolint.energy.memory_fit import fit, fits_by_precision, usable_gb

    requested = fit(workload(inputs))
    if requested.fits:
        return None
    others = fits_by_precision(
        inputs.gpu, inputs.model.arch, inputs.batch_size, inputs.sequence_length, inputs.generation_length
    )
    if any(f.fits for f in others):
        return None
    gpu = inputs.gpu
    return (
        f"this plan cannot run: {inputs.model.text} needs {requested.describe()} at batch {inputs.batch_size} "
        f"with {inputs.sequence_length} + {inputs.generation_length} tokens, and {gpu.key} offers "
        f"{usable_gb(gpu):.1f} GB ({gpu.vram_gb:g} GB less runtime overhead); no precision fits "
        f"({', '.join(f.describe() for f in others)}). Use several GPUs, offload to CPU memory, "
        f"a smaller model or a smaller batch; no cost is estimated for a plan that cannot run."
    )


def misfit(inputs: Inputs, quantization: str | None = None, batch_size: int | None = None) -> str | None:
    """One sentence when the plan (at ``quantization``/``batch_size``, else the inputs') does not fit the GPU."""
    from ecolint.energy.memory_fit import fit

    w = workload(inputs, quantization, batch_size)
    needed = fit(w)
    if needed.fits:
        return None
    return (
        f"{quantization_label(w.quantization, True)} at batch {w.batch_size} does not fit {inputs.gpu.key}: it needs "
        f"{needed.describe()} of the {needed.usable_gb:.1f} GB usable ({inputs.gpu.vram_gb:g} GB less runtime "
        f"overhead)"
    )


def build(inputs: Inputs) -> Report:
    estimator = estimator_for(inputs)
    use_case = inputs.use_case or "api"
    if use_case != "chat":
        warn_batch_one(inputs, f"for the {use_case} use case")
    current = estimator.estimate(workload(inputs))
    rec = recommend(estimator, inputs, use_case)
    optimized = rec.best.estimate
    now, opt = monthly(inputs, current), monthly(inputs, optimized)
    m = inputs.model

    report = Report(f"Energy estimate: {m.text} on {inputs.gpu.key}")
    does_not_fit = misfit(inputs)
    if does_not_fit:
        report.section(
            "Does not fit",
            f"{does_not_fit}. The figures below are what this plan would cost if it ran; "
            f"`ecolint optimize` gives one that fits.",
        )
    report.section("Configuration", Bullets(configuration_items(inputs) + cost_items(inputs)))
    add_warnings(report, inputs)
    report.section(
        "Performance",
        Bullets(
            [
                f"Throughput: {figure_text(current.throughput)}"
                + (f" (all {inputs.batch_size} sequences together)" if inputs.batch_size > 1 else ""),
                f"Latency: {figure_text(current.latency_ms(), 0)} per request of {inputs.generation_length} tokens",
                f"Power: {figure_text(current.power)} board average",
            ]
        ),
    )
    report.section(
        "Energy & efficiency",
        Bullets(
            [
                f"Energy per 1k tokens: {figure_text(current.energy_per_1k, 0)}",
                f"Energy per request: {figure_text(current.energy_per_request())}",
                f"Efficiency: {figure_text(current.tokens_per_joule(), 3)}",
            ]
        ),
    )
    cost = f"${num(now.cost, 2)}" if now.cost is not None else "n/a (no price: pass --price)"
    kwh_range = f" (range {num(now.kwh_range[0])}-{num(now.kwh_range[1])})" if now.kwh_range else ""
    report.section(
        f"Monthly estimate ({inputs.requests_text}{'; if it could run: it does not fit' if does_not_fit else ''})",
        Bullets(
            [
                f"Energy: {num(now.kwh)} kWh{kwh_range} = energy per request x requests x PUE {inputs.pue:g}",
                f"Cost: {cost}",
                f"Carbon: {num(now.kg_co2)} kgCO2 at {inputs.grid:g} gCO2/kWh",
            ]
        ),
    )

    def money(value):
        return "n/a" if value is None else f"${num(value, 2)}"

    table = Table(
        [
            "Metric",
            f"Current ({quantization_label(inputs.quantization, True)}, BS={inputs.batch_size}"
            f"{', does not fit' if does_not_fit else ''})",
            f"Optimized ({quantization_label(optimized.workload.quantization, True)}, "
            f"BS={optimized.workload.batch_size})",
            "Change",
        ],
        [
            [
                "Energy (J/1k tokens)",
                num(current.energy_per_1k.value),
                num(optimized.energy_per_1k.value),
                _saving(current.energy_per_1k.value, optimized.energy_per_1k.value),
            ],
            [
                "Energy per request (J)",
                num(current.energy_per_request().value),
                num(optimized.energy_per_request().value),
                _saving(current.energy_per_request().value, optimized.energy_per_request().value),
            ],
            ["Energy (kWh/month)", num(now.kwh), num(opt.kwh), _saving(now.kwh, opt.kwh)],
            [
                "Cost ($/month)",
                money(now.cost),
                money(opt.cost),
                "n/a" if now.cost is None else _money_change(opt.cost - now.cost),
            ],
            [
                "Carbon (kgCO2/month)",
                num(now.kg_co2),
                num(opt.kg_co2),
                _saving(now.kg_co2, opt.kg_co2),
            ],
            [
                "Throughput (tok/s)",
                num(current.throughput.value),
                num(optimized.throughput.value),
                _saving(current.throughput.value, optimized.throughput.value),
            ],
            [
                "Latency (ms/request)",
                num(current.latency_ms().value),
                num(optimized.latency_ms().value),
                _saving(current.latency_ms().value, optimized.latency_ms().value),
            ],
            ["Basis", short_basis(current.energy_per_1k), short_basis(optimized.energy_per_1k), ""],
        ],
    )
    report.section(f"Current vs optimized ({use_case} use case; `ecolint optimize` explains the choice)", table)
    changes = []
    if optimized.workload.quantization != inputs.quantization:
        same_batch = rec.at(optimized.workload.quantization, inputs.batch_size)
        changes.append(
            f"Quantization {quantization_label(inputs.quantization, True)} -> "
            f"{quantization_label(optimized.workload.quantization, True)}: "
            f"{_saving(current.energy_per_1k.value, same_batch.energy if same_batch else None)} "
            f"energy per token at the current batch size."
        )
    if optimized.workload.batch_size != inputs.batch_size:
        same_q = (
            rec.at(inputs.quantization, optimized.workload.batch_size)
            if inputs.quantization in ("fp16", "nf4", "int8_default", "int8_pure")
            else None
        )
        effect = _saving(current.energy_per_1k.value, same_q.energy) if same_q else "n/a"
        changes.append(
            f"Batch size {inputs.batch_size} -> {optimized.workload.batch_size}: {effect} energy per token with the "
            f"current quantization; each decode step's fixed cost is shared by more sequences "
            f"(use-case limit {rec.batch_cap}; latency per request {num(current.latency_ms().value)} -> "
            f"{num(optimized.latency_ms().value)} ms)."
        )
    if not rec.fits_any:
        changes.append(
            f"No configuration fits {inputs.gpu.vram_gb:g} GB: the smallest-memory option is shown; "
            f"use a GPU with more memory or a smaller model."
        )
    if not changes:
        changes.append("The current configuration is already the lowest-energy one for this use case.")
    report.section("Optimization breakdown", Bullets(changes))

    report.data = base_payload("estimate", inputs)
    report.data.update(
        {
            "use_case": use_case,
            "current": estimate_dict(current, inputs),
            "optimized": estimate_dict(optimized, inputs),
            "savings": {
                "energy_pct": (opt.kwh / now.kwh - 1) * 100 if now.kwh else None,
                "kwh_per_month": now.kwh - opt.kwh,
                "usd_per_month": None if now.cost is None else now.cost - opt.cost,
                "kg_co2_per_month": now.kg_co2 - opt.kg_co2,
            },
            "changes": changes,
            "fits": does_not_fit is None,
        }
    )
    if does_not_fit:
        report.data["does_not_fit"] = does_not_fit
    report.data["warnings"] = [w.to_dict() for w in inputs.warnings]
    add_transparency(report, estimator, [current, optimized], inputs)
    return report
