"""``ecolint optimize``: the lowest-energy precision and batch size for a use case, and why."""

from __future__ import annotations

from ecolint import advice
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
    figure_text,
    monthly,
    num,
    short_basis,
)
from ecolint.advisor.optimizer import MEMORY_HEADROOM, Recommendation, recommend
from ecolint.advisor.report import Bullets, Code, Report, Table
from ecolint.advisor.validation import SMALL_MODEL_B, Inputs, quantization_label, small_for_nf4, warn_batch_one

LOAD_CODE = {
    "fp16": """model = AutoModelForCausalLM.from_pretrained(
    model_id, torch_dtype=torch.float16, device_map="auto")""",
    "nf4": """config = BitsAndBytesConfig(
    load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.float16)
model = AutoModelForCausalLM.from_pretrained(model_id, quantization_config=config, device_map="auto")""",
    "int8_pure": """config = BitsAndBytesConfig(load_in_8bit=True, llm_int8_threshold=0.0)  # quality risk
model = AutoModelForCausalLM.from_pretrained(model_id, quantization_config=config, device_map="auto")""",
    "int8_default": """config = BitsAndBytesConfig(load_in_8bit=True)  # threshold 6.0: avoid
model = AutoModelForCausalLM.from_pretrained(model_id, quantization_config=config, device_map="auto")""",
}
BATCH_CODE = """tokenizer.padding_side = "left"
tokenizer.pad_token = tokenizer.pad_token or tokenizer.eos_token
inputs = tokenizer(prompts[:{batch}], return_tensors="pt", padding=True).to(model.device)
outputs = model.generate(**inputs, max_new_tokens={gen})  # {batch} requests per decode step"""


def _change(new: float, old: float) -> str:
    return f"{(new / old - 1) * 100:+.1f}%"


def reasoning(rec: Recommendation, inputs: Inputs) -> list[str]:
    best = rec.best
    b = best.batch_size
    lines = []
    rows = []
    for q in COMPARED:
        c = rec.at(q, b)
        if c:
            rows.append(
                f"{quantization_label(q, True)} {num(c.energy)} J/1k ({short_basis(c.estimate.energy_per_1k)}"
                f"{'' if c.fits else ', does not fit'})"
            )
    lines.append(f"At batch {b}, energy per 1k tokens: " + "; ".join(rows) + ".")
    fp16_bs1 = rec.at("fp16", 1)
    if fp16_bs1 is not None:
        lines.append(
            f"FP16 needs {num(fp16_bs1.vram_gb)} GB at batch 1 of the {inputs.gpu.vram_gb:g} GB on {inputs.gpu.key} "
            + (
                "— no memory pressure, so quantizing buys no memory that is needed."
                if fp16_bs1.fits
                else "— it does not fit, so the weights must be quantized."
            )
        )
    nf4 = evidence.nf4_vs_fp16()
    if nf4:
        small = [p for p in nf4.pairs if p.other.workload.arch.params_b <= SMALL_MODEL_B + 0.2]
        large = [p for p in nf4.pairs if p.other.workload.arch.params_b > SMALL_MODEL_B + 0.2]
        if small:
            lines.append(
                "NF4 vs FP16 measured on models up to 3B: "
                + "; ".join(p.describe() for p in small)
                + "."
            )
        if large:
            lines.append(
                "NF4 vs FP16 measured on larger models: "
                + "; ".join(p.describe() for p in large)
                + "."
            )
    pure = evidence.int8_pure_vs_default()
    if pure:
        lines.append(
            f"INT8 pure vs INT8 default, same GPU, model and protocol: {pure.per_gpu()} less energy "
            f"(rows {pure.row_ids}); output quality not measured."
        )
    sweep = evidence.batch_sweep()
    if sweep:
        lines.append(
            "Batch size, measured sweep ("
            + evidence.sweep_description()
            + "): "
            + ", ".join(
                f"BS={p.row.workload.batch_size} {num(p.row.energy)} J/1k ({p.change_vs_bs1 * 100:+.0f}%)"
                for p in sweep
            )
            + "."
        )
    lines.append(
        f"The {rec.use_case} use case allows batches up to {rec.batch_cap}; candidates must fit "
        f"{MEMORY_HEADROOM:.0%} of the GPU memory (weights + KV cache)."
    )
    return lines


def trade_offs(rec: Recommendation, inputs: Inputs) -> list[str]:
    best = rec.best
    items = []
    mem = [(q, rec.at(q, best.batch_size)) for q in COMPARED]
    items.append(
        "Memory vs compute: "
        + "; ".join(
            f"{quantization_label(q, True)} {num(c.vram_gb)} GB / {num(c.energy)} J/1k"
            for q, c in mem
            if c
        )
        + ". Fewer bytes per weight free memory but add dequantization work at every layer."
    )
    one = rec.at(best.quantization, 1)
    if one and best.batch_size > 1:
        items.append(
            f"Latency vs throughput: batch {best.batch_size} gives {num(best.estimate.throughput.value)} tok/s "
            f"instead of {num(one.estimate.throughput.value)} at batch 1, while each request takes "
            f"{num(best.estimate.latency_ms().value)} ms instead of {num(one.estimate.latency_ms().value)} ms "
            f"(waiting to fill a batch adds queueing time on top)."
        )
    elif best.batch_size == 1:
        items.append(
            "Latency vs throughput: batch 1 gives the lowest latency per request and the highest energy "
            "per token; batch concurrent requests when they exist."
        )
    return items


def insights(rec: Recommendation, inputs: Inputs) -> list[str]:
    best = rec.best
    items = []
    one = rec.at(best.quantization, 1)
    if one and best.batch_size > 1:
        items.append(
            f"Batch {best.batch_size} instead of 1: {_change(best.energy, one.energy)} energy per token "
            f"({quantization_label(best.quantization, True)})."
        )
    fp16, nf4 = rec.at("fp16", best.batch_size), rec.at("nf4", best.batch_size)
    if fp16 and nf4:
        faster = fp16.estimate.throughput.value / nf4.estimate.throughput.value - 1
        items.append(
            f"FP16 vs NF4 at batch {best.batch_size}: FP16 is {faster * 100:+.0f}% in throughput and "
            f"{_change(fp16.energy, nf4.energy)} in energy per token."
        )
    pure, default = rec.at("int8_pure", best.batch_size), rec.at("int8_default", best.batch_size)
    if pure and default:
        items.append(
            f"{advice.EIGHT_BIT_ORDER}; {advice.THRESHOLD_ZERO} (it changes energy by "
            f"{_change(pure.energy, default.energy)} against the default threshold here), but "
            f"{advice.THRESHOLD_ZERO_RISK}."
        )
    current = rec.at(inputs.quantization, inputs.batch_size)
    if current and current is not best and current.quantization != best.quantization:
        items.append(
            f"Against your current {quantization_label(inputs.quantization, True)} at batch "
            f"{inputs.batch_size}{'' if current.fits else ' (which does not fit this GPU; as if it ran)'}: "
            f"{_change(best.energy, current.energy)} energy per token."
        )
    for c in rec.close_calls():
        fig = c.estimate.energy_per_1k
        basis = (
            f"measured {', '.join(fig.rows)}"
            if c.estimate.basis != "extrapolated"
            else "extrapolated"
        )
        items.append(
            f"{quantization_label(c.quantization, True)} at batch {c.batch_size} ({num(c.energy)} J/1k, {basis}) "
            f"is {(c.energy / best.energy - 1) * 100:+.1f}% from the recommendation, inside its uncertainty: "
            f"measure both, or choose on memory and simplicity."
        )
    return items


def pitfalls(rec: Recommendation, inputs: Inputs) -> list[str]:
    items = []
    d = evidence.int8_default_vs_fp16()
    if d:
        items.append(
            f"`load_in_8bit=True` alone (INT8 default): {d.per_gpu()} more energy than FP16 in the data "
            f"(rows {d.row_ids}). {evidence.threshold_zero_advice()}"
        )
    s = evidence.nf4_small_models()
    if s and small_for_nf4(inputs, slack=0.5):
        items.append(
            f"NF4 on a {inputs.model.size_text()} model: {s.span()} more energy than FP16 "
            f"for models up to 3B (rows {s.row_ids})."
        )
    power_traps = [
        c
        for c in rec.candidates
        if c.batch_size == rec.best.batch_size
        and c is not rec.best
        and c.estimate.power.value < rec.best.estimate.power.value
        and c.energy > rec.best.energy
    ]
    for c in power_traps:
        items.append(
            f"Lower power is not lower energy: {quantization_label(c.quantization, True)} draws "
            f"{num(c.estimate.power.value)} W vs {num(rec.best.estimate.power.value)} W but uses "
            f"{_change(c.energy, rec.best.energy)} energy per token because it is slower."
        )
    if rec.best.batch_size > 1:
        items.append(
            "Batching by hand pads every prompt to the longest one; a continuous-batching server avoids "
            "that waste (not measured here)."
        )
    return items


def build(inputs: Inputs) -> Report:
    estimator = estimator_for(inputs)
    use_case = inputs.use_case or "api"
    if use_case != "chat":
        warn_batch_one(inputs, f"for the {use_case} use case")
    rec = recommend(estimator, inputs, use_case)
    best = rec.best.estimate
    w = best.workload
    m = inputs.model
    report = Report(f"Optimized configuration: {m.text} on {inputs.gpu.key} ({use_case})")
    report.section(
        "Recommended configuration",
        Bullets(
            [
                f"Model: {m.text} ({m.size_text()} parameters)",
                f"GPU: {inputs.gpu.name} ({inputs.gpu.architecture}, {inputs.gpu.vram_gb:g} GB)"
                + (" — default, pass --gpu" if inputs.gpu_defaulted else ""),
                f"Quantization: {quantization_label(w.quantization)}",
                f"Batch size: {w.batch_size}",
                f"Sequence: {w.input_tokens} prompt tokens -> {w.output_tokens} generated tokens",
                f"Memory: {num(rec.best.vram_gb)} GB of {inputs.gpu.vram_gb:g} GB"
                + ("" if rec.fits_any else " — no candidate fits this GPU; this is the smallest"),
            ]
        ),
        Code(
            LOAD_CODE[w.quantization]
            + (
                "\n" + BATCH_CODE.format(batch=w.batch_size, gen=w.output_tokens)
                if w.batch_size > 1
                else ""
            )
        ),
    )
    report.section("Your inputs", Bullets(configuration_items(inputs) + cost_items(inputs)))
    add_warnings(report, inputs)
    month = monthly(inputs, best)
    report.section(
        "Performance and energy",
        Bullets(
            [
                f"Throughput: {figure_text(best.throughput)}",
                f"Latency: {figure_text(best.latency_ms(), 0)} per request",
                f"Power: {figure_text(best.power)}",
                f"Energy per 1k tokens: {figure_text(best.energy_per_1k, 0)}",
                f"Energy per request: {figure_text(best.energy_per_request())}",
                f"Efficiency: {figure_text(best.tokens_per_joule(), 3)}",
                f"Monthly ({inputs.requests_text}): {num(month.kwh)} kWh, "
                + (
                    f"${num(month.cost, 2)}"
                    if month.cost is not None
                    else "cost n/a (pass --price)"
                )
                + f", {num(month.kg_co2)} kgCO2",
            ]
        ),
    )
    why = reasoning(rec, inputs)
    report.section("Why this configuration", Bullets(why))
    trade = trade_offs(rec, inputs)
    report.section("Trade-offs", Bullets(trade))
    ins = insights(rec, inputs)
    report.section("Optimization insights", Bullets(ins))
    pit = pitfalls(rec, inputs)
    report.section("Pitfalls to avoid", Bullets(pit))
    table = Table(
        ["Quantization"] + [f"BS={b}" for b in sorted({c.batch_size for c in rec.candidates})],
        [
            [quantization_label(q, True)]
            + [
                (
                    num(c.energy)
                    + (
                        f" ({', '.join(c.estimate.energy_per_1k.rows)})"
                        if c.estimate.basis != "extrapolated"
                        else ""
                    )
                    + ("" if c.fits else " (no fit)")
                    + ("*" if c is rec.best else "")
                )
                for c in sorted(
                    (c for c in rec.candidates if c.quantization == q), key=lambda c: c.batch_size
                )
            ]
            for q in COMPARED
        ],
    )
    report.section(
        "All candidates (J/1k tokens; row id = measured, otherwise extrapolated; * = recommended)",
        table,
    )

    report.data = base_payload("optimize", inputs)
    report.data.update(
        {
            "use_case": use_case,
            "batch_cap": rec.batch_cap,
            "recommended": estimate_dict(best, inputs),
            "fits_memory": rec.fits_any,
            "reasoning": why,
            "trade_offs": trade,
            "insights": ins,
            "pitfalls": pit,
            "candidates": [
                {
                    "quantization": c.quantization,
                    "batch_size": c.batch_size,
                    "energy_j_per_1k": c.energy,
                    "basis": c.estimate.basis,
                    "vram_gb": c.vram_gb,
                    "fits": c.fits,
                }
                for c in rec.candidates
            ],
        }
    )
    report.data["warnings"] = [x.to_dict() for x in inputs.warnings]
    add_transparency(report, estimator, [best], inputs, extra_rows=evidence.cited_rows())
    return report
