"""Pieces every advisor report shares: workloads, number formatting, configuration, monthly totals,
warnings, and the closing measurement-setup and limitations sections."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache

from ecolint.advisor.report import Bullets, Report
from ecolint.advisor.validation import Inputs, quantization_label
from ecolint.energy.curation import curated_rows, measured_gpus
from ecolint.energy.dataset import Measurement, gpus
from ecolint.energy.estimator import Estimate, Estimator, Figure
from ecolint.energy.regions import UPSTREAM
from ecolint.energy.training_rows import TrainingRow
from ecolint.energy.validation import LOO_KINDS
from ecolint.energy.workload import Workload

COMPARED = ("fp16", "nf4", "int8_default", "int8_pure")


@lru_cache(maxsize=4)
def _estimator_for(path: str | None, rows: tuple) -> Estimator:
    return Estimator(list(rows))


def estimator_for(inputs: Inputs) -> Estimator:
    return _estimator_for(inputs.calibration_path, tuple(inputs.calibration))


def workload(
    inputs: Inputs, quantization: str | None = None, batch_size: int | None = None
) -> Workload:
    return Workload(
        gpu=inputs.gpu,
        arch=inputs.model.arch,
        quantization=quantization or inputs.quantization,
        batch_size=batch_size or inputs.batch_size,
        input_tokens=inputs.sequence_length,
        output_tokens=inputs.generation_length,
    )


# ----------------------------------------------------------------------------------------------
# Numbers


def num(value: float | None, digits: int | None = None) -> str:
    """A number with thousands separators and sensible precision."""
    if value is None:
        return "n/a"
    if digits is None:
        size = abs(value)
        digits = 0 if size >= 100 else 1 if size >= 10 else 2 if size >= 1 else 3
    return f"{value:,.{digits}f}"


def pct(value: float) -> str:
    return f"{value * 100:+.1f}%"


def figure_text(fig: Figure, digits: int | None = None, unit: bool = True) -> str:
    """``5,661 J/1k tokens (measured m017)`` or ``4,120 (extrapolated; range 3,100-5,400)``."""
    if digits is None:
        size = abs(fig.value)
        digits = 0 if size >= 100 else 1 if size >= 10 else 2 if size >= 1 else 3
    head = num(fig.value, digits) + (f" {fig.unit}" if unit else "")
    rng = (
        f"; range {num(fig.low, digits)}-{num(fig.high, digits)}"
        if fig.low is not None and fig.high is not None
        else ""
    )
    if fig.basis in ("measured", "calibration"):
        band = f"; band {num(fig.low, digits)}-{num(fig.high, digits)}" if rng else ""
        return f"{head} ({fig.source}{band})"
    if fig.basis == "extrapolated":
        return f"{head} (extrapolated{rng})"
    if fig.derived_from == "extrapolated":
        return f"{head} (derived from extrapolated figures{rng})"
    return f"{head} (derived from {fig.derived_from or fig.source})"


def short_basis(fig: Figure) -> str:
    if fig.basis in ("measured", "calibration"):
        adjusted = ", adjusted" if " adjusted to " in fig.source else ""
        return f"{fig.basis} {', '.join(fig.rows)}{adjusted}"
    return fig.basis


# ----------------------------------------------------------------------------------------------
# Monthly totals


@dataclass(frozen=True)
class Monthly:
    kwh: float
    cost: float | None
    kg_co2: float
    kwh_range: tuple[float, float] | None

    def to_dict(self) -> dict:
        data = {"kwh": self.kwh, "usd": self.cost, "kg_co2": self.kg_co2}
        if self.kwh_range:
            data["kwh_range"] = list(self.kwh_range)
        return data


def monthly(inputs: Inputs, estimate: Estimate) -> Monthly:
    per_request = estimate.energy_per_request()
    factor = inputs.requests_per_month * inputs.pue / 3.6e6
    kwh = per_request.value * factor
    rng = None
    if per_request.low is not None and per_request.high is not None:
        rng = (per_request.low * factor, per_request.high * factor)
    return Monthly(
        kwh, None if inputs.price is None else kwh * inputs.price, kwh * inputs.grid / 1000.0, rng
    )


def estimate_dict(estimate: Estimate, inputs: Inputs | None = None) -> dict:
    w = estimate.workload
    data = {
        "quantization": w.quantization,
        "batch_size": w.batch_size,
        "basis": estimate.basis,
        "energy_j_per_1k_tokens": estimate.energy_per_1k.to_dict(),
        "energy_j_per_request": estimate.energy_per_request().to_dict(),
        "tokens_per_joule": estimate.tokens_per_joule().to_dict(),
        "throughput_tok_s": estimate.throughput.to_dict(),
        "latency_ms_per_request": estimate.latency_ms().to_dict(),
        "power_w": estimate.power.to_dict(),
        "vram_gb": w.vram_bytes() / 1e9,
        "regime": estimate.regime,
        "notes": list(estimate.notes),
    }
    if inputs is not None:
        data["monthly"] = monthly(inputs, estimate).to_dict()
    return data


# ----------------------------------------------------------------------------------------------
# Shared sections


def configuration_items(inputs: Inputs) -> list[str]:
    m, g = inputs.model, inputs.gpu
    shape = {
        "table": f"shape from {m.arch.source}",
        "config.json": f"shape {m.arch.source}",
        "estimated": "shape estimated from the parameter count",
        "measured size": f"shape of the measured {m.arch.key} ({m.arch.source}), the measured model of this "
        f"nominal size with the most rows; a size alone names no shape",
    }[m.shape_source]
    items = [
        f"Model: {m.text} ({m.size_text()} parameters, {m.size.detail}; {shape})",
        f"GPU: {g.name} ({g.architecture}, {g.vram_gb:g} GB, {num(g.memory_bandwidth_gb_s)} GB/s, "
        f"{'measured' if g.key in measured_gpus() else 'not measured'})"
        + (" — default, pass --gpu" if inputs.gpu_defaulted else ""),
        f"Quantization: {quantization_label(inputs.quantization)}",
        f"Compute precision: {inputs.precision.upper()}"
        + (" (from the quantization)" if inputs.precision_defaulted else ""),
        f"Batch size: {inputs.batch_size}",
        f"Sequence: {inputs.sequence_length} prompt tokens -> {inputs.generation_length} generated tokens",
    ]
    if inputs.use_case:
        items.append(f"Use case: {inputs.use_case}")
    if inputs.calibration_path:
        items.append(
            f"Calibration: {inputs.calibration_path} ({len(inputs.calibration)} rows; matching rows take precedence)"
        )
    return items


def cost_items(inputs: Inputs) -> list[str]:
    price = (
        f"${inputs.price:g}/kWh ({inputs.price_source})"
        if inputs.price is not None
        else inputs.price_source
    )
    return [
        f"Requests: {inputs.requests_text}"
        + (" — pass --requests" if inputs.requests_defaulted else ""),
        f"Electricity: {price}",
        f"Grid: {inputs.grid:g} gCO2/kWh ({inputs.grid_source})",
        f"PUE: {inputs.pue:g} ({inputs.pue_source})",
    ]


def add_warnings(report: Report, inputs: Inputs) -> None:
    if inputs.warnings:
        report.section("Warnings", Bullets([f"**{w.code}**: {w.message}" for w in inputs.warnings]))


def _driver(software: str) -> str | None:
    found = re.search(r"driver=([^;\[]+)", software)
    return found.group(1).strip() if found else None


def setup_lines(rows: list[TrainingRow]) -> list[str]:
    """One line per experiment behind the rows used: GPU, software, driver, method."""
    by_experiment: dict[str, list[TrainingRow]] = {}
    for r in rows:
        by_experiment.setdefault(r.measurement.experiment or r.row_id, []).append(r)
    lines = []
    for experiment, members in by_experiment.items():
        m = members[0].measurement
        gpu = gpus().get(m.gpu)
        ids = ", ".join(sorted({r.row_id for r in members}))
        if members[0].calibration:
            lines.append(
                f"Calibration {experiment} (rows {ids}): {gpu.name if gpu else m.gpu}; "
                f"software {_cite(m.software) or 'not recorded'}; energy as given in {source_reference(m)}"
            )
            continue
        driver = _driver(m.software)
        software = re.sub(r";?\s*driver=[^;\[]+", "", m.software).strip().rstrip(";") if driver else m.software
        software = _cite(software)
        prompt = (m.raw or {}).get("input_tokens")
        prompt = f"{prompt}-token prompts" if prompt else "prompt length not recorded"
        curated = [curated_rows()[r.row_id] for r in members if r.row_id in curated_rows()]
        normalised = sorted(c.row_id for c in curated if c.normalised)
        counter = "NVML total-energy counter" in m.notes
        basis = (
            ("gross board energy" if counter else "gross board energy (power x time)")
            if not normalised
            else f"gross board energy; the source subtracted ~17 W idle for {', '.join(normalised)}, "
            f"normalised here (stated values kept in the data)"
        )
        method = (
            "ecolint calibrate, NVML total-energy counter per generate() call"
            if counter
            else "NVML board power"
        )
        weights = (
            "; random weights with the model's real architecture (speed and energy do not depend on "
            "trained values; ecolint/energy/data/SOURCES.md, Hopper rows)"
            if "random weights" in m.notes
            else ""
        )
        sources = ", ".join(dict.fromkeys(source_reference(r.measurement) for r in members))
        lines.append(
            f"{experiment} (rows {ids}): {gpu.name if gpu else m.gpu}; software {software or 'not recorded'}; "
            f"driver {driver or 'not recorded in this experiment record'}; method: {method}, "
            f"{m.n_runs or '?'} runs, {m.output_tokens or '?'} generated tokens, {prompt}; {basis}{weights}; "
            f"source {sources}"
        )
    return lines


def _cite(text: str) -> str:
    """``[metadata/x.json]`` (a file of the upstream repository) -> the file's URL at the commit copied."""
    return re.sub(r"\[([\w./-]+\.\w+)\]", lambda found: f"[{UPSTREAM}{found.group(1)}]", text or "")


def source_reference(m: Measurement) -> str:
    """Where a row comes from, as something a reader can open: the upstream file as a URL at the commit
    copied, the shipped table of ecolint's own measurements, or the user's calibration file."""
    if m.source_table == "calibration":
        return m.source_file
    if m.source_file.startswith("docs/"):  # a log kept with ecolint's source; its rows ship in hopper_h200.csv
        return "ecolint/energy/data/hopper_h200.csv"
    return f"{UPSTREAM}{m.source_file}"


def limitation_lines(estimator: Estimator, estimates: list[Estimate], inputs: Inputs) -> list[str]:
    lines = [
        "Energy is GPU board power only (no CPU, host memory, network or cooling); PUE scales it for the facility.",
        "Measured with PyTorch + transformers generate() and bitsandbytes; serving engines (vLLM, TGI, "
        "TensorRT-LLM) batch and launch kernels differently, so their figures will differ.",
        "Output quality of NF4/INT8 is not in the data: validate accuracy on your task.",
    ]
    kinds: set[str] = set()
    for e in estimates:
        kinds.update(e.error_kinds)
    for kind in ("row", "model", "model_estimated_shape", "gpu"):
        if kind in kinds:
            s = estimator.errors[kind]
            lines.append(
                f"Extrapolated figures ({LOO_KINDS[kind]}): the decode model's energy error in leave-one-out "
                f"tests is {s.median_error():.0%} median, {s.worst_error():.0%} worst ({s.worst_row().row_id}); "
                f"the ranges shown span those errors (ecolint/energy/validation.py)."
            )
    notes = sorted({n for e in estimates for n in e.notes})
    lines.extend(notes)
    shapes = sorted({e.shape_note for e in estimates if e.shape_note})
    if shapes:
        from ecolint.energy.remeasure import adjustment_error

        w = estimates[0].workload
        error = adjustment_error()
        lines.append(
            f"Measured at other lengths, adjusted to {w.input_tokens} prompt / {w.output_tokens} generated tokens "
            f"by the decode model and the prefill term: {', '.join(shapes)}. Rows re-measured at other lengths "
            f"differ from this adjustment by up to {error.value:.0%} in energy (pairs {error.rows()}; "
            f"ecolint/energy/data/remeasurements.csv), and the band shown covers that."
        )
    measured_gpus = sorted({e.workload.gpu.key for e in estimates if e.basis == "measured"})
    if measured_gpus:
        from ecolint.energy.remeasure import band

        for key in measured_gpus:
            spread = band(key)
            where = (
                f"a {key} row on another day or host" if spread.on_gpu
                else f"a row of another GPU (no {key} row was measured twice)"
            )
            lines.append(
                f"Bands of measured figures on {key}: re-measuring {where} differs by up to {spread.value:.0%} in "
                f"energy (pairs {spread.rows()}; at other lengths after the adjustment above), more than the "
                f"run-to-run standard deviation; the band shown is the wider of the two (ecolint/energy/remeasure.py)."
            )
    if any(e.workload.input_tokens for e in estimates):
        from ecolint.energy.prefill import errors, prefill_model

        w = estimates[0].workload
        joules = prefill_model().joules(w.arch.params_b, w.input_tokens, w.batch_size, w.quantization)
        lines.append(
            f"Energy per generated token includes the request's prefill: {joules:,.1f} J for {w.input_tokens} "
            f"prompt tokens at batch {w.batch_size} ({errors().describe()}; other GPUs and precisions take the "
            f"H200 BF16 figure)."
        )
    for e in estimates:
        for alt in e.alternatives:
            m = alt.measurement
            lines.append(
                f"{e.energy_per_1k.rows[0]} was measured again in experiment {m.experiment} as {alt.row_id}: "
                f"{num(alt.gross_energy_j_per_1k)} J/1k, {num(m.throughput_tok_s)} tok/s ({m.output_tokens} generated "
                f"tokens, n={m.n_runs}); protocol differences between experiments are of this size."
            )
    if inputs.calibration and estimator.skipped_calibration:
        lines.append(f"Calibration rows not used: {'; '.join(estimator.skipped_calibration)}.")
    return list(dict.fromkeys(lines))


def add_transparency(
    report: Report,
    estimator: Estimator,
    estimates: list[Estimate],
    inputs: Inputs,
    extra_rows: list[TrainingRow] = (),
) -> None:
    rows: list[TrainingRow] = []
    for e in estimates:
        rows.extend(e.rows_used)
    rows.extend(extra_rows)
    unique = list({r.row_id: r for r in rows}.values())
    setup = setup_lines(unique)
    limits = limitation_lines(estimator, estimates, inputs)
    report.section("Measurement setup", Bullets(setup))
    report.section("Limitations", Bullets(limits))
    report.data["measurement_setup"] = setup
    report.data["rows_used"] = sorted(r.row_id for r in unique)
    report.data["limitations"] = limits


def base_payload(command: str, inputs: Inputs) -> dict:
    return {
        "command": command,
        "inputs": inputs.to_dict(),
        "warnings": [w.to_dict() for w in inputs.warnings],
    }
