"""``ecolint diagnose``: match a setup and what was observed against the known energy patterns.

Patterns, in priority order:

- ``int8-decomposition``: LLM.int8() with its default outlier threshold (declared, or inferred
  when an 8-bit run is as slow as the INT8-default expectation);
- ``nf4-small-model``: 4-bit weights on a model of at most 3B parameters;
- ``batch-one``: one sequence per decode step;
- ``unexplained-slowdown``: slower than the expectation for the declared setup with none of the above.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

from ecolint import advice
from ecolint.advisor import evidence
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
    workload,
)
from ecolint.advisor.optimize import BATCH_CODE, LOAD_CODE
from ecolint.advisor.optimizer import MEMORY_HEADROOM
from ecolint.advisor.report import Bullets, Code, Report, Section
from ecolint.advisor.validation import InputError, Inputs, quantization_label, small_for_nf4
from ecolint.energy.bounds import Bound, host_link_rate, idle_floor, longest_step
from ecolint.energy.estimator import Estimate

MEASURED_TOLERANCE = 0.15  # how far a run may stray from a measured row and still match it


@dataclass
class Fix:
    title: str
    code: str
    after: Estimate

    def energy_change(self, before: float) -> float:
        return self.after.energy_per_1k.value / before - 1.0


@dataclass
class Pattern:
    code: str
    name: str
    expected: Estimate  # what this pattern predicts for the observation
    confidence: str = "LOW"
    match: float = 0.0
    root_cause: str = ""
    factors: list[str] = field(default_factory=list)
    fixes: list[Fix] = field(default_factory=list)
    evidence: str = ""


def _tolerance(e: Estimate) -> tuple[float, float]:
    """The ratio range (low, high) of an expectation: measured spread or the model's leave-one-out range."""
    fig = e.throughput
    if fig.basis == "extrapolated" and fig.low and fig.high:
        return fig.low / fig.value, fig.high / fig.value
    return 1 - MEASURED_TOLERANCE, 1 + MEASURED_TOLERANCE


def _consistent(observed: float, e: Estimate) -> bool:
    lo, hi = _tolerance(e)
    ratio = observed / e.throughput.value
    return lo <= ratio <= hi


def _match(observed: float, e: Estimate) -> float:
    return max(0.0, 1.0 - abs(observed / e.throughput.value - 1.0))


def _fits(inputs: Inputs, e: Estimate) -> bool:
    return e.workload.vram_bytes() / 1e9 <= inputs.gpu.vram_gb * MEMORY_HEADROOM


def _detect(inputs: Inputs, observed: float, estimates: dict[str, Estimate], batched: Estimate | None) -> list[Pattern]:
    found: list[Pattern] = []
    q = inputs.quantization
    default, pure, fp16 = estimates["int8_default"], estimates["int8_pure"], estimates["fp16"]
    closer_to_default = abs(math.log(observed / default.throughput.value)) < abs(
        math.log(observed / pure.throughput.value)
    )
    if q == "int8_default" or (q == "int8_pure" and closer_to_default):
        p = Pattern("int8-decomposition", "INT8 mixed-precision decomposition", default)
        if q == "int8_default":
            p.confidence = "HIGH" if _consistent(observed, default) else "MEDIUM"
        else:
            gap = abs(math.log(pure.throughput.value / default.throughput.value))
            p.confidence = "HIGH" if abs(math.log(observed / default.throughput.value)) < gap / 3 else "MEDIUM"
            p.factors.append(
                "declared threshold 0.0, but the throughput matches the default threshold: check that "
                "the BitsAndBytesConfig with llm_int8_threshold=0.0 reaches from_pretrained"
            )
        ev = evidence.int8_default_vs_fp16()
        p.root_cause = (
            "bitsandbytes LLM.int8() with threshold 6.0 splits every linear layer's input into outlier columns "
            "(computed in FP16) and the rest (INT8), then merges the results: several extra kernels and type "
            "conversions per layer, which the GPU spends waiting on rather than computing."
        )
        p.factors += [
            f"measured energy over FP16: {ev.per_gpu()} (rows {ev.row_ids})",
            "throughput falls more than power does, so energy per token rises",
        ]
        if _fits(inputs, fp16):
            p.fixes.append(Fix("Load in FP16 (no quantization)", LOAD_CODE["fp16"], fp16))
        p.fixes.append(Fix("Use NF4 when memory is the reason for 8-bit", LOAD_CODE["nf4"], estimates["nf4"]))
        p.fixes.append(
            Fix(
                f"If 8-bit is required: llm_int8_threshold=0.0 ({advice.THRESHOLD_ZERO_RISK})",
                LOAD_CODE["int8_pure"],
                pure,
            )
        )
        pairs = evidence.int8_pure_vs_default()
        p.evidence = (
            f"INT8 pure vs default under the same protocol: {pairs.per_gpu()} less energy (rows {pairs.row_ids}); "
            "output quality not measured"
        )
        found.append(p)
    nf4, fp16_energy = estimates["nf4"], fp16.energy_per_1k.value
    if q == "nf4" and (small_for_nf4(inputs) or nf4.energy_per_1k.value > fp16_energy):
        p = Pattern("nf4-small-model", "NF4 on a model too small to need it", nf4)
        p.confidence = "HIGH" if _consistent(observed, nf4) else "MEDIUM"
        ev = evidence.nf4_small_models()
        p.root_cause = (
            f"a {inputs.model.size_text()} model fits in FP16 with room to spare, so 4-bit weights save "
            "memory that is not needed, while every layer pays for dequantizing them to FP16 at every step."
        )
        p.factors += [
            f"measured on models up to 3B: {ev.span()} more energy than FP16 (rows {ev.row_ids})",
            f"expected here: NF4 {num(nf4.energy_per_1k.value)} vs FP16 {num(fp16_energy)} J/1k",
        ]
        if _fits(inputs, fp16):
            p.fixes.append(Fix("Load in FP16", LOAD_CODE["fp16"], fp16))
        p.evidence = "; ".join(pair.describe() for pair in ev.pairs)
        found.append(p)
    if inputs.batch_size == 1 and batched is not None:
        declared = estimates[q] if q in estimates else fp16
        p = Pattern("batch-one", "One sequence per decode step", declared)
        p.confidence = "HIGH" if _consistent(observed, declared) else "MEDIUM"
        sweep = evidence.batch_sweep()
        p.root_cause = (
            "at batch 1 each decode step reads every weight and launches every kernel for a single token; the "
            "fixed cost per step is not shared, so the GPU idles between kernels."
        )
        if sweep:
            p.factors.append(
                "measured sweep ("
                + evidence.sweep_description()
                + "): "
                + ", ".join(f"BS={pt.row.workload.batch_size} {pt.change_vs_bs1 * 100:+.0f}%" for pt in sweep[1:])
            )
            p.evidence = f"{sweep[0].row.row_id}: {num(sweep[0].row.energy)} J/1k at batch 1"
        p.fixes.append(
            Fix(
                f"Batch {batched.workload.batch_size} concurrent requests per generate() call "
                f"(with your current quantization)",
                BATCH_CODE.format(batch=batched.workload.batch_size, gen=inputs.generation_length),
                batched,
            )
        )
        found.append(p)
    if not found or all(p.code == "batch-one" for p in found):
        declared = estimates.get(q) or fp16
        lo, _ = _tolerance(declared)
        if observed / declared.throughput.value < lo:
            p = Pattern("unexplained-slowdown", "Slower than the measurements for this setup", declared)
            p.confidence = "LOW"
            p.root_cause = (
                "none of the known quantization or batching patterns explains the gap; the usual causes "
                "are outside the GPU kernels measured here."
            )
            p.factors += [
                "CPU-bound generation loop (slow host, Python overhead, synchronising .item() calls per token)",
                "the model (or part of it) not on the GPU: check device_map and that no layer is offloaded to CPU",
                "weights loaded in FP32 (no torch_dtype given) or a power cap / thermal throttling "
                "(nvidia-smi -q -d PERFORMANCE)",
                "another process sharing the GPU",
            ]
            found.insert(0, p)
    for p in found:
        p.match = _match(observed, p.expected)
    return found


def throughput_roofline(inputs: Inputs) -> float:
    """The most tok/s the declared setup can decode: every step reads the weights and KV cache once,
    so batch x memory bandwidth / bytes per step bounds it (no measured row comes near it)."""
    w = workload(inputs)
    return w.batch_size * (inputs.gpu.memory_bandwidth_gb_s or 0.0) * 1e9 / w.bytes_per_step()


def throughput_floor(inputs: Inputs) -> Bound:
    """The fewest tok/s a setup that decodes on the GPU gives: the slower of every weight streamed over the
    host link each step and the longest decode step in the data (``ecolint.energy.bounds``)."""
    link, step = host_link_rate(), longest_step()
    w = workload(inputs)
    streamed = w.batch_size * link.value / w.arch.weight_bytes_resident(w.quantization)
    slowest = w.batch_size / step.value
    if streamed <= slowest:
        return Bound(streamed, f"every weight crossing the host link each step: {link.source}")
    return Bound(slowest, f"one step as long as {step.source}")


def check_observation(inputs: Inputs, throughput: float, power: float | None) -> None:
    """An InputError (one line) for observations the GPU cannot produce."""
    gpu = inputs.gpu
    if not math.isfinite(throughput) or throughput <= 0:
        raise InputError(
            f"--observed-throughput={throughput:g} must be a finite positive number (tok/s over the batch)."
        )
    floor = throughput_floor(inputs)
    if throughput < floor.value:
        raise InputError(
            f"--observed-throughput={throughput:g} tok/s is below {num(floor.value, 3)} tok/s, the slowest "
            f"{inputs.model.text} decodes at batch {inputs.batch_size} on a GPU in the data's terms ({floor.source}); "
            f"slower setups (disk offload, a shared GPU) are outside what diagnose can match."
        )
    roof = throughput_roofline(inputs)
    if gpu.memory_bandwidth_gb_s and throughput > roof:
        raise InputError(
            f"--observed-throughput={throughput:g} tok/s is above what {gpu.key} can decode for {inputs.model.text} "
            f"at batch {inputs.batch_size}: {num(gpu.memory_bandwidth_gb_s)} GB/s memory bandwidth over "
            f"{workload(inputs).bytes_per_step() / 1e9:.2f} GB read per step allows at most {num(roof)} tok/s. "
            f"Check the batch size, the model and the quantization you passed."
        )
    if power is None:
        return
    if not math.isfinite(power) or power <= 0:
        raise InputError(f"--observed-power={power:g} must be a finite positive number (W).")
    idle = idle_floor(gpu)
    if power < idle.value:
        raise InputError(
            f"--observed-power={power:g} W is below {num(idle.value)} W, the least {gpu.key} draws with a model "
            f"loaded ({idle.source}): give the board power of the GPU while it decodes "
            f"(nvidia-smi --query-gpu=power.draw)."
        )
    if gpu.tdp_w and power > gpu.tdp_w:
        raise InputError(
            f"--observed-power={power:g} W is above the {gpu.tdp_w:g} W power limit of {gpu.key}: "
            f"give the board power of one GPU (nvidia-smi --query-gpu=power.draw)."
        )


def build(inputs: Inputs, observed_throughput: float, observed_power: float | None) -> Report:
    estimator = estimator_for(inputs)
    b = inputs.batch_size
    estimates = {q: estimator.estimate(workload(inputs, q)) for q in ("fp16", "nf4", "int8_default", "int8_pure")}
    if inputs.quantization not in estimates:
        estimates[inputs.quantization] = estimator.estimate(workload(inputs))
    declared = estimates[inputs.quantization]
    batched = None
    if b == 1:
        for size in (8, 4, 2):
            candidate = estimator.estimate(workload(inputs, inputs.quantization, size))
            if _fits(inputs, candidate):
                batched = candidate
                break
    patterns = _detect(inputs, observed_throughput, estimates, batched)
    primary = patterns[0] if patterns else None
    observed_energy = 1000.0 * observed_power / observed_throughput if observed_power else None
    current_energy = observed_energy or declared.energy_per_1k.value

    m = inputs.model
    report = Report(
        f"Diagnosis: {m.text} on {inputs.gpu.key}, {quantization_label(inputs.quantization, True)}, batch {b}"
    )
    report.section("Configuration", Bullets(configuration_items(inputs) + cost_items(inputs)))
    add_warnings(report, inputs)
    if primary:
        report.section(
            "Diagnosis",
            Bullets(
                [
                    f"Detected pattern: **{primary.name}** (`{primary.code}`)",
                    f"Confidence: {primary.confidence} ({primary.match:.0%} match of the observed throughput to this "
                    f"pattern's expectation)",
                    f"Root cause: {primary.root_cause}",
                ]
                + (
                    [f"Also detected: {', '.join(f'{p.name} ({p.confidence})' for p in patterns[1:])}"]
                    if len(patterns) > 1
                    else []
                )
            ),
        )
    else:
        report.section(
            "Diagnosis",
            Bullets(
                [
                    "Detected pattern: no known pattern",
                    f"The observation is consistent with the expectation for this setup "
                    f"({observed_throughput / declared.throughput.value - 1:+.0%} throughput).",
                ]
            ),
        )
    deviation_t = observed_throughput / declared.throughput.value - 1
    lines = [
        f"Your reported: {num(observed_throughput)} tok/s"
        + (f", {num(observed_power)} W, {num(observed_energy)} J/1k tokens" if observed_power else ""),
        f"Expected for the declared setup: {figure_text(declared.throughput)}, "
        f"{figure_text(declared.energy_per_1k, 0)}",
        f"Deviation: {deviation_t * 100:+.1f}% throughput"
        + (f", {(observed_energy / declared.energy_per_1k.value - 1) * 100:+.1f}% energy" if observed_energy else ""),
    ]
    if primary and primary.evidence:
        lines.append(f"Pattern data: {primary.evidence}")
    report.section("Evidence from measurements", Bullets(lines))
    if primary:
        report.section(
            "Root cause analysis",
            Bullets(
                [f"Primary factor: {primary.root_cause}"]
                + [f"Factor: {f}" for f in primary.factors]
                + [f"{p.name}: {p.root_cause}" for p in patterns[1:]]
            ),
        )
    fixes: list[Fix] = []
    for p in patterns:  # patterns in priority order; within one, the fix that saves most energy first
        ordered = (
            p.fixes if p.code == "int8-decomposition" else sorted(p.fixes, key=lambda f: f.after.energy_per_1k.value)
        )
        for fix in ordered:  # INT8: FP16 first when it fits, then NF4, then threshold 0.0 (quality risk)
            if all(fix.title != f.title for f in fixes) and fix.after.energy_per_1k.value < current_energy:
                fixes.append(fix)  # never a change predicted to use more energy than now
    fix_section = Section("Recommended fixes (priority order)")
    for i, fix in enumerate(fixes, start=1):
        after = fix.after
        fix_section.add(
            f"**{i}. {fix.title}**",
            Code(fix.code),
            f"Expected impact: {num(after.throughput.value)} tok/s "
            f"({after.throughput.value / observed_throughput - 1:+.0%} "
            f"vs observed), {num(after.energy_per_1k.value)} J/1k tokens ({fix.energy_change(current_energy):+.0%}); "
            f"{_basis_text(after)}.",
        )
    if fixes:
        report.sections.append(fix_section)
        best = fixes[0].after
        before_month = monthly(inputs, declared)
        scale = current_energy / declared.energy_per_1k.value
        after_month = monthly(inputs, best)
        saving = None
        if before_month.cost is not None:
            saving = before_month.cost * scale - after_month.cost
        n_similar = len(best.rows_used) if best.basis != "extrapolated" else 0
        confidence = "HIGH" if best.basis in ("measured", "calibration") else "MEDIUM"
        report.section(
            "Expected improvement",
            Bullets(
                [
                    f"Throughput: {num(observed_throughput)} -> {num(best.throughput.value)} tok/s "
                    f"({best.throughput.value / observed_throughput - 1:+.0%})",
                    f"Energy: {num(current_energy)} -> {num(best.energy_per_1k.value)} J/1k tokens "
                    f"({best.energy_per_1k.value / current_energy - 1:+.0%})",
                    f"Cost: ${num(saving, 2)}/month less at {inputs.requests_text}"
                    if saving is not None
                    else "Cost: pass --price for a monthly figure",
                    f"Confidence: {confidence} ({_confidence_source(best, n_similar)})",
                ]
            ),
        )
        report.section(
            "Verification steps",
            Bullets(
                [
                    "Apply the first fix and watch the GPU while generating: `nvidia-smi dmon -s pucvmet -d 1`",
                    f"Expected power: {num(best.power.value)} W "
                    f"(now {_power_now(observed_power, declared)})",
                    f"Expected throughput: {num(best.throughput.value)} tok/s (now {num(observed_throughput)} tok/s)",
                    "If the result differs by more than 10%, save your runs as a calibration CSV and pass it with "
                    "--calibration: your measurements then take precedence.",
                ],
                numbered=True,
            ),
        )

    report.data = base_payload("diagnose", inputs)
    report.data.update(
        {
            "observed": {
                "throughput_tok_s": observed_throughput,
                "power_w": observed_power,
                "energy_j_per_1k": observed_energy,
            },
            "expected": estimate_dict(declared, inputs),
            "deviation_pct": {
                "throughput": deviation_t * 100,
                "energy": (observed_energy / declared.energy_per_1k.value - 1) * 100 if observed_energy else None,
            },
            "patterns": [
                {
                    "code": p.code,
                    "name": p.name,
                    "confidence": p.confidence,
                    "match": p.match,
                    "root_cause": p.root_cause,
                    "factors": p.factors,
                    "evidence": p.evidence,
                }
                for p in patterns
            ],
            "detected": primary.code if primary else None,
            "fixes": [{"title": f.title, "code": f.code, "expected": estimate_dict(f.after)} for f in fixes],
        }
    )
    report.data["warnings"] = [w.to_dict() for w in inputs.warnings]
    used = [declared] + [f.after for f in fixes]
    add_transparency(report, estimator, used, inputs)
    return report


def _basis_text(estimate) -> str:
    if estimate.basis == "extrapolated":
        return "extrapolated"
    return "measured " + ", ".join(estimate.energy_per_1k.rows)


def _confidence_source(best, n_similar) -> str:
    return "measured: " + ", ".join(best.energy_per_1k.rows) if n_similar else "extrapolated by the decode model"


def _power_now(observed_power, declared) -> str:
    if observed_power:
        return num(observed_power) + " W observed"
    return num(declared.power.value) + " W expected"
