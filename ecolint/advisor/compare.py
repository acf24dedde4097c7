"""``ecolint compare``: FP16, NF4, INT8 default and INT8 pure side by side for one model and GPU."""

from __future__ import annotations

from dataclasses import dataclass

from ecolint.advisor import evidence
from ecolint.advisor.common import (
    COMPARED,
    add_transparency,
    add_warnings,
    base_payload,
    configuration_items,
    cost_items,
    estimate_dict,
    estimator_for,
    monthly,
    num,
    short_basis,
    workload,
)
from ecolint.advisor.optimizer import MEMORY_HEADROOM
from ecolint.advisor.report import BarChart, Bullets, Report, Table
from ecolint.advisor.validation import Inputs, quantization_label, small_for_nf4
from ecolint.energy.estimator import Estimate


@dataclass
class Column:
    quantization: str
    estimate: Estimate  # at the user's batch size
    at_bs1: Estimate
    vram_gb: float
    fits: bool
    rank: int = 0

    @property
    def energy(self) -> float:
        return self.estimate.energy_per_1k.value

    @property
    def label(self) -> str:
        return quantization_label(self.quantization, True)


def _columns(inputs: Inputs) -> list[Column]:
    estimator = estimator_for(inputs)
    columns = []
    # Keep the columns within FP16's experiment where another experiment measured the same configuration.
    reference = estimator.measured_row(workload(inputs, "fp16"))
    reference_bs1 = estimator.measured_row(workload(inputs, "fp16", 1))
    experiment = reference.measurement.experiment if reference else None
    experiment_bs1 = reference_bs1.measurement.experiment if reference_bs1 else None
    for q in COMPARED:
        w = workload(inputs, q)
        columns.append(
            Column(
                q,
                estimator.estimate(w, experiment),
                estimator.estimate(workload(inputs, q, 1), experiment_bs1),
                w.vram_bytes() / 1e9,
                w.vram_bytes() / 1e9 <= inputs.gpu.vram_gb * MEMORY_HEADROOM,
            )
        )
    for rank, col in enumerate(sorted(columns, key=lambda c: c.energy), start=1):
        col.rank = rank
    return columns


def _std(fig) -> str:
    size = abs(fig.value)
    digits = 0 if size >= 100 else 1 if size >= 10 else 2 if size >= 1 else 3
    if fig.low is not None and fig.high is not None:  # a measured row's band or the extrapolation range
        return f"{num(fig.value, digits)} ({num(fig.low, digits)}-{num(fig.high, digits)})"
    return num(fig.value, digits)


def _percent(new: float, old: float) -> str:
    return f"{(new / old - 1) * 100:+.1f}%"


def paradox_warnings(columns: list[Column], inputs: Inputs) -> list[str]:
    by_q = {c.quantization: c for c in columns}
    fp16 = by_q["fp16"]
    items = []
    for c in columns:
        if c is fp16:
            continue
        if c.estimate.power.value < fp16.estimate.power.value and c.energy > fp16.energy:
            items.append(
                f"**{c.label}** draws less power than FP16 ({num(c.estimate.power.value)} vs "
                f"{num(fp16.estimate.power.value)} W) yet uses {_percent(c.energy, fp16.energy)} energy per token: "
                f"throughput falls {_percent(c.estimate.throughput.value, fp16.estimate.throughput.value)}, "
                "and energy is power x time."
            )
    d = evidence.int8_default_vs_fp16()
    if d:
        items.append(
            f"**INT8 default**: the outlier decomposition of LLM.int8() costs {d.per_gpu()} energy over FP16 "
            f"(rows {d.row_ids}). {evidence.threshold_zero_advice()}"
        )
    if small_for_nf4(inputs, slack=0.5):
        s = evidence.nf4_small_models()
        if s:
            items.append(
                f"**NF4** on a {inputs.model.size_text()} model: measured {s.span()} above FP16 for "
                f"models up to 3B (rows {s.row_ids}); the 4-bit weights save memory that is not needed."
            )
    return list(dict.fromkeys(items))


def build(inputs: Inputs) -> Report:
    estimator = estimator_for(inputs)
    columns = _columns(inputs)
    by_q = {c.quantization: c for c in columns}
    fp16 = by_q["fp16"]
    m = inputs.model
    report = Report(
        f"Comparison: {m.text} ({m.size_text()} parameters) on {inputs.gpu.key}, batch {inputs.batch_size}"
    )
    report.section("Configuration", Bullets(configuration_items(inputs) + cost_items(inputs)))
    add_warnings(report, inputs)
    rows = [
        ["Throughput (tok/s)"] + [_std(c.estimate.throughput) for c in columns],
        ["Energy (J/1k tokens)"] + [_std(c.estimate.energy_per_1k) for c in columns],
        ["Δ energy vs FP16"] + ["—" if c is fp16 else _percent(c.energy, fp16.energy) for c in columns],
        ["Efficiency (tok/J)"] + [num(c.estimate.tokens_per_joule().value, 3) for c in columns],
        ["VRAM (GB, weights + KV)"] + [num(c.vram_gb) + ("" if c.fits else " ⚠") for c in columns],
        ["Latency (ms/request, BS=1)"] + [num(c.at_bs1.latency_ms().value, 0) for c in columns],
        ["Power (W)"] + [num(c.estimate.power.value) for c in columns],
        ["**Rank (energy)**"] + [f"**{c.rank}**" for c in columns],
        ["Basis"] + [short_basis(c.estimate.energy_per_1k) for c in columns],
    ]
    misfits = [c for c in columns if not c.fits]
    table = Table(["Metric"] + [c.label for c in columns], rows)
    if misfits:
        report.section(
            "Side by side",
            f"Does not fit {inputs.gpu.vram_gb:g} GB ({inputs.gpu.vram_gb * MEMORY_HEADROOM:.1f} GB usable), "
            f"marked ⚠, figures as if it ran: "
            + ", ".join(f"{c.label} ({num(c.vram_gb)} GB)" for c in misfits)
            + ".",
            table,
        )
    else:
        report.section("Side by side", table)
    report.section(
        "Energy per 1k tokens",
        BarChart(
            [(c.label, c.energy, f"{num(c.energy)} J ({short_basis(c.estimate.energy_per_1k)})") for c in columns]
        ),
    )

    fitting = [c for c in columns if c.fits]  # the command refuses a plan that no precision makes fit
    best = min(fitting, key=lambda c: c.energy)
    reasons = [
        f"Lowest energy per token that fits {inputs.gpu.vram_gb:g} GB: {num(best.energy)} J/1k "
        f"({short_basis(best.estimate.energy_per_1k)})."
    ]
    skipped = [c for c in columns if not c.fits and c.energy < best.energy]
    for c in skipped:
        reasons.append(f"{c.label} would use less energy ({num(c.energy)} J/1k) but needs {num(c.vram_gb)} GB.")
    extrapolated = [c for c in columns if c.estimate.basis == "extrapolated"]
    if extrapolated and best.estimate.basis == "extrapolated":
        lo, hi = best.estimate.energy_per_1k.low, best.estimate.energy_per_1k.high
        overlaps = [
            c.label
            for c in columns
            if c is not best
            and c.estimate.energy_per_1k.low is not None
            and c.estimate.energy_per_1k.low <= hi
            and lo <= (c.estimate.energy_per_1k.high or c.energy)
        ]
        if overlaps:
            reasons.append(f"Extrapolated: the range overlaps {', '.join(overlaps)}; measure both before committing.")
    benefits = []
    per_month = {c.quantization: monthly(inputs, c.estimate) for c in columns}
    for c in columns:
        if c is best:
            continue
        money = ""
        if per_month[best.quantization].cost is not None:
            money = (
                f", ${num(per_month[c.quantization].cost - per_month[best.quantization].cost, 2)}/month at "
                f"{inputs.requests_text}"
            )
        speed = best.estimate.throughput.value / c.estimate.throughput.value - 1
        benefits.append(
            f"vs {c.label}{'' if c.fits else ' (does not fit; as if it ran)'}: "
            f"{(1 - best.energy / c.energy) * 100:.1f}% less energy, "
            f"{speed * 100:+.0f}% throughput{money}"
        )
    report.section(
        "Recommendation",
        f"**Use {quantization_label(best.quantization)}** for this configuration.",
        Bullets(reasons),
        "Benefit against each alternative:",
        Bullets(benefits),
    )
    paradoxes = paradox_warnings(columns, inputs)
    report.section("Paradox warnings", Bullets(paradoxes))

    low_mem = min((c for c in columns if c.quantization != "int8_default"), key=lambda c: c.vram_gb)
    fastest = max(columns, key=lambda c: c.at_bs1.throughput.value)
    advice = [
        f"Memory-constrained (under {num(fp16.vram_gb)} GB free): {low_mem.label} needs {num(low_mem.vram_gb)} GB "
        f"({_percent(low_mem.energy, fp16.energy)} energy vs FP16).",
        f"Latency-critical: {fastest.label} is fastest at batch 1 ({num(fastest.at_bs1.latency_ms().value, 0)} ms per "
        f"{inputs.generation_length}-token request).",
        f"Cost-optimizing: {best.label}, then raise the batch size (`ecolint optimize --use-case api`).",
        "Accuracy-critical: the data has no quality measurements for NF4 or INT8; validate on your task.",
    ]
    report.section("Context-specific advice", Bullets(advice))
    experiments = {
        r.measurement.experiment for c in columns for r in c.estimate.rows_used if c.estimate.basis == "measured"
    }
    if len(experiments) > 1:
        report.section(
            "Note",
            f"The measured columns come from different experiments ({', '.join(sorted(experiments))}); "
            f"their protocols differ (see Measurement setup), which can shift the comparison.",
        )

    report.data = base_payload("compare", inputs)
    report.data.update(
        {
            "columns": {
                c.quantization: {
                    **estimate_dict(c.estimate, inputs),
                    "rank": c.rank,
                    "fits": c.fits,
                    "latency_ms_bs1": c.at_bs1.latency_ms().to_dict(),
                    "delta_energy_vs_fp16_pct": (c.energy / fp16.energy - 1) * 100,
                }
                for c in columns
            },
            "recommended": best.quantization,
            "reasons": reasons,
            "benefits": benefits,
            "paradox_warnings": paradoxes,
            "advice": advice,
        }
    )
    report.data["warnings"] = [w.to_dict() for w in inputs.warnings]
    add_transparency(report, estimator, [c.estimate for c in columns] + [c.at_bs1 for c in columns], inputs)
    return report
