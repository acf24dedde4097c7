"""Energy, throughput and power of LLM decoding: measured where the data has it, modelled elsewhere.

Measured configurations return the measured values; the user's calibration rows come first.
Everything else is the decode model (``decode_model``), with an uncertainty range from its
leave-one-out errors (``validation``). Every figure carries its basis and source.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace
from functools import cached_property

from ecolint.energy.curation import alternatives_for, curated_rows
from ecolint.energy.dataset import Measurement
from ecolint.energy.decode_model import Prediction, fit_model
from ecolint.energy.prefill import precision_factor, prefill_model
from ecolint.energy.training_rows import TrainingRow, dataset_training_rows, training_row, why_unusable
from ecolint.energy.validation import LOO_KINDS, ErrorSummary, leave_one_out, ranking_check
from ecolint.energy.workload import Workload

# ``ranking_check`` is re-exported for docs/accuracy.md's snippet.
__all__ = ["Estimate", "Estimator", "Figure", "ranking_check"]


@dataclass(frozen=True)
class Figure:
    """A number and where it comes from."""

    value: float
    unit: str
    basis: str  # "measured", "calibration", "derived" or "extrapolated"
    source: str
    low: float | None = None
    high: float | None = None
    rows: tuple[str, ...] = ()
    derived_from: str = ""  # for derived figures: the basis of the figure they come from

    def to_dict(self) -> dict:
        data = {"value": self.value, "unit": self.unit, "basis": self.basis, "source": self.source}
        if self.derived_from:
            data["derived_from"] = self.derived_from
        if self.low is not None and self.high is not None:
            data["range"] = [self.low, self.high]
        if self.rows:
            data["rows"] = list(self.rows)
        return data


@dataclass
class Estimate:
    workload: Workload
    throughput: Figure
    power: Figure
    energy_per_1k: Figure
    basis: str  # "measured", "calibration" or "extrapolated"
    rows_used: list[TrainingRow]
    regime: str
    notes: list[str] = field(default_factory=list)
    alternatives: list = field(default_factory=list)
    error_kinds: tuple[str, ...] = ()
    shape_note: str | None = None  # measured at other lengths: the row, its lengths and the adjustment

    @property
    def energy_per_token(self) -> float:
        return self.energy_per_1k.value / 1000.0

    def energy_per_request(self) -> Figure:
        value = self.energy_per_token * self.workload.output_tokens
        scale = value / self.energy_per_1k.value
        return Figure(
            value,
            "J",
            "derived",
            f"{self.energy_per_1k.value:,.0f} J/1k tokens x {self.workload.output_tokens} generated tokens / 1000",
            None if self.energy_per_1k.low is None else self.energy_per_1k.low * scale,
            None if self.energy_per_1k.high is None else self.energy_per_1k.high * scale,
            self.energy_per_1k.rows,
            _origin(self.energy_per_1k),
        )

    def tokens_per_joule(self) -> Figure:
        e = self.energy_per_1k
        return Figure(
            1000.0 / e.value,
            "tok/J",
            "derived",
            f"1000 / {e.value:,.0f} J/1k tokens",
            None if e.high is None else 1000.0 / e.high,
            None if e.low is None else 1000.0 / e.low,
            e.rows,
            _origin(e),
        )

    def latency_ms(self) -> Figure:
        """Time to generate one request's tokens at this batch size."""
        t = self.throughput
        value = 1000.0 * self.workload.batch_size * self.workload.output_tokens / t.value
        scale = value * t.value
        return Figure(
            value,
            "ms",
            "derived",
            f"{self.workload.output_tokens} tokens x batch {self.workload.batch_size} / {t.value:,.1f} tok/s",
            None if t.high is None else scale / t.high,
            None if t.low is None else scale / t.low,
            t.rows,
            _origin(t),
        )


def _origin(fig: Figure) -> str:
    if fig.basis not in ("measured", "calibration"):
        return fig.basis
    return fig.source.split(" (gross;")[0] if " at " in fig.source else f"{fig.basis} {', '.join(fig.rows)}"


def _std(row: TrainingRow, column: str) -> float | None:
    text = row.measurement.raw.get(column) if row.measurement.raw else None
    try:
        return float(text) if text not in (None, "") else None
    except ValueError:
        return None


class Estimator:
    """Answers for workloads: measured rows first (calibration before the shipped data), else the model."""

    def __init__(self, calibration: list[Measurement] | tuple = ()):
        self.calibration_rows = [r for r in (training_row(m, calibration=True) for m in calibration) if r]
        used = {r.row_id for r in self.calibration_rows}
        self.skipped_calibration = [f"{m.row_id} ({why_unusable(m)})" for m in calibration if m.row_id not in used]
        self.dataset_rows = dataset_training_rows()
        self.rows = self.calibration_rows + self.dataset_rows
        alternatives = [r for r in curated_rows().values() if r.status == "alternative"]
        self.alternative_rows = [t for t in (training_row(r.measurement) for r in alternatives) if t is not None]
        self.model = fit_model(self.rows)

    @cached_property
    def errors(self) -> dict[str, ErrorSummary]:
        return {kind: leave_one_out(self.rows, kind) for kind in LOO_KINDS}

    def measured_row(self, w: Workload, prefer_experiment: str | None = None) -> TrainingRow | None:
        """The measured row for a workload: calibration first, then the canonical row.

        ``prefer_experiment`` picks an alternative measurement of the same configuration from that
        experiment, so that a comparison stays within one measurement protocol.
        """

        def same(row: TrainingRow) -> bool:
            rw = row.workload
            return (rw.gpu.key, rw.quantization, rw.batch_size, rw.arch.key) == (
                w.gpu.key,
                w.quantization,
                w.batch_size,
                w.arch.key,
            )

        found = next((row for row in self.rows if same(row)), None)  # calibration rows come first
        if (
            found is not None
            and prefer_experiment
            and not found.calibration
            and found.measurement.experiment != prefer_experiment
        ):
            for alt in self.alternative_rows:
                if same(alt) and alt.measurement.experiment == prefer_experiment:
                    return alt
        return found

    def rows_for(self, gpu_key: str | None = None, arch_key: str | None = None) -> list[TrainingRow]:
        return [
            r
            for r in self.rows
            if (gpu_key is None or r.workload.gpu.key == gpu_key)
            and (arch_key is None or r.workload.arch.key == arch_key)
        ]

    def nearest_rows(self, w: Workload, n: int = 2) -> list[TrainingRow]:
        """The measured rows closest to a workload: same GPU and model first, then same GPU, then any."""

        def distance(r: TrainingRow) -> tuple:
            rw = r.workload
            return (
                rw.gpu.key != w.gpu.key,
                rw.arch.key != w.arch.key,
                rw.family != w.family,
                abs(math.log(rw.batch_size / w.batch_size)),
                abs(rw.arch.params_b - w.arch.params_b),
                r.row_id,
            )

        return sorted(self.rows, key=distance)[:n]

    def error_kinds_for(self, w: Workload) -> tuple[str, ...]:
        kinds = []
        if w.gpu.key not in self.model.launch:
            kinds.append("gpu")
        if not self.rows_for(arch_key=w.arch.key):
            kinds.append("model_estimated_shape" if w.arch.estimated else "model")
        return tuple(kinds) or ("row",)

    def _band(self, value: float, metric: str, kinds: tuple[str, ...]) -> tuple[float, float]:
        low, high = value, value
        for kind in kinds:
            lo, hi = self.errors[kind].band(1.0, metric)
            low, high = low * lo, high * hi
        return low, high

    def estimate(self, w: Workload, prefer_experiment: str | None = None) -> Estimate:
        row = self.measured_row(w, prefer_experiment)
        prediction = self.model.predict(w)
        found = self._measured(w, row, prediction) if row is not None else self._extrapolated(w, prediction)
        prefill = precision_factor(w.quantization)
        if prefill.note and prefill.note not in found.notes:
            found.notes.append(prefill.note)
        return found

    def _measured(self, w: Workload, row: TrainingRow, prediction: Prediction) -> Estimate:
        """The row's figures: as measured at its own lengths; at other lengths carried there by the decode
        model and the prefill term (``remeasure.length_factor``) and labelled so, with the band of what
        re-measuring finds (``remeasure``)."""
        from ecolint.energy.remeasure import adjustment_error, band, length_factor

        basis = "calibration" if row.calibration else "measured"
        notes: list[str] = []
        t_scale = p_scale = e_scale = 1.0
        rw = row.workload
        shape_note = None
        prompt = (row.measurement.raw or {}).get("input_tokens")
        if not prompt:  # a row that does not record its prompt length answers for any prompt length
            rw = replace(rw, input_tokens=w.input_tokens)
        if (rw.input_tokens, rw.output_tokens) != (w.input_tokens, w.output_tokens):
            e_scale, t_scale = length_factor(self.model, rw, w)
            p_scale = prediction.power / self.model.predict(rw).power
            measured_at = (
                f"{prompt}/{rw.output_tokens}"
                if prompt
                else f"{rw.output_tokens} generated tokens (prompt length not recorded)"
            )
            label = (
                f"{basis} at {measured_at}, adjusted to {w.input_tokens}/{w.output_tokens}: "
                f"x{e_scale:.2f}, {row.row_id}"
            )
            spread = max(band(rw.gpu.key).value, adjustment_error().value)
            t_spread = max(band(rw.gpu.key, "throughput").value, adjustment_error("throughput").value)
            shape_note = f"{row.row_id} ({measured_at}) x{e_scale:.2f} in energy per generated token"
        else:
            label = f"{basis} {row.row_id}"
            if not prompt:
                label += f" ({rw.output_tokens} generated tokens; prompt length not recorded)"
            spread = 0.0 if row.calibration else band(rw.gpu.key).value
            t_spread = 0.0 if row.calibration else band(rw.gpu.key, "throughput").value
        t_std = _std(row, "throughput_std")
        e_std = _std(row, "energy_std")
        stated = row.measurement.energy_j_per_1k
        e_rel = max(spread, e_std / stated if e_std and stated else 0.0) or None
        t_rel = max(t_spread, t_std / row.throughput if t_std else 0.0) or None
        curated = None if row.calibration else _curated(row.row_id)
        if curated is not None and curated.status == "alternative":
            label += " (another experiment's measurement of this configuration, chosen to keep one protocol)"
        energy_source = label
        if curated is not None and curated.normalised:
            energy_source += f" (gross; the source states {stated:,.0f} J with ~17 W idle subtracted)"
        energy_value = row.energy * e_scale
        throughput_value = row.throughput * t_scale
        estimate = Estimate(
            workload=w,
            throughput=Figure(
                throughput_value,
                "tok/s",
                basis,
                label,
                None if t_rel is None else throughput_value / (1 + t_rel),
                None if t_rel is None else throughput_value * (1 + t_rel),
                (row.row_id,),
            ),
            power=Figure(row.power * p_scale, "W", basis, label, rows=(row.row_id,)),
            energy_per_1k=Figure(
                energy_value,
                "J/1k tokens",
                basis,
                energy_source,
                None if e_rel is None else energy_value / (1 + e_rel),
                None if e_rel is None else energy_value * (1 + e_rel),
                (row.row_id,),
            ),
            basis=basis,
            rows_used=[row],
            regime=prediction.regime,
            notes=notes,
            alternatives=[]
            if row.calibration or (curated and curated.status != "canonical")
            else alternatives_for(row.row_id),
            shape_note=shape_note,
        )
        return estimate

    def _precision_notes(self, w: Workload) -> list[str]:
        """How BF16 and FP32 enter the model, and which rows measured them."""
        if w.quantization not in ("bf16", "fp32"):
            return []
        label = w.quantization.upper()
        measured = [r for r in self.rows if r.workload.quantization == w.quantization]
        where = ", ".join(sorted({r.workload.gpu.key for r in measured}))
        ids = ", ".join(r.row_id for r in measured)
        if w.quantization == "bf16" and measured:
            changes = [
                r.energy / fp16.energy - 1.0
                for r in measured
                for fp16 in self.rows
                if fp16.workload.quantization == "fp16"
                and (fp16.workload.gpu.key, fp16.workload.arch.key, fp16.workload.batch_size)
                == (r.workload.gpu.key, r.workload.arch.key, r.workload.batch_size)
            ]
            span = f" {min(changes):+.1%} to {max(changes):+.1%} energy against FP16 there" if changes else ""
            return [
                f"BF16 is modelled with FP16's kernels and 2-byte weights: measured on {where} "
                f"(rows {ids}),{span or ' close to FP16'}"
            ]
        if w.quantization == "fp32" and w.family in self.model.factor:
            other = (
                ""
                if w.gpu.key in {r.workload.gpu.key for r in measured}
                else f"; {w.gpu.key} takes them as they are, which the range does not cover"
            )
            return [
                f"FP32 has its own kernel factor, per-sequence cost and power terms, fitted on the FP32 "
                f"rows measured on {where} (rows {ids}){other}"
            ]
        return [
            f"{label} was never measured: modelled with FP16's kernels and "
            f"{'4' if w.quantization == 'fp32' else '2'}-byte weights; the range does not cover this assumption"
        ]

    def _extrapolated(self, w: Workload, prediction: Prediction) -> Estimate:
        kinds = self.error_kinds_for(w)
        nearest = self.nearest_rows(w)
        near = ", ".join(
            f"{r.row_id} ({r.workload.gpu.key} {r.workload.arch.key} {r.workload.quantization} "
            f"BS={r.workload.batch_size})"
            for r in nearest
        )
        source = f"extrapolated from {len(self.rows)} measured rows by the decode model (nearest: {near})"
        notes = list(prediction.notes)
        notes.extend(self._precision_notes(w))
        notes.extend(moe_notes(w))
        if w.arch.estimated:
            notes.append(f"model shape {w.arch.source}")
        prefill = prefill_model().joules(w.arch.params_b, w.input_tokens, w.batch_size, w.quantization)
        energy = prediction.energy + 1000.0 * prefill / w.output_tokens
        e_lo, e_hi = self._band(energy, "energy", kinds)
        t_lo, t_hi = self._band(prediction.throughput, "throughput", kinds)
        p_lo, p_hi = self._band(prediction.power, "power", kinds)
        ids = tuple(r.row_id for r in nearest)
        return Estimate(
            workload=w,
            throughput=Figure(prediction.throughput, "tok/s", "extrapolated", source, t_lo, t_hi, ids),
            power=Figure(prediction.power, "W", "extrapolated", source, p_lo, p_hi, ids),
            energy_per_1k=Figure(energy, "J/1k tokens", "extrapolated", source, e_lo, e_hi, ids),
            basis="extrapolated",
            rows_used=nearest,
            regime=prediction.regime,
            notes=notes,
            error_kinds=kinds,
        )


def moe_notes(w: Workload) -> list[str]:
    """How a mixture of experts enters the decode model, and why its figures are extrapolated."""
    a = w.arch
    if not a.is_moe:
        return []
    if a.experts > 1:
        read = (
            f"weights read per step: the shared layers plus the {a.expected_experts_read(w.batch_size):.1f} of "
            f"{a.experts} experts per layer that {w.batch_size} token(s) route to ({a.active_experts} each, "
            f"uniform routing assumed)"
        )
    else:
        read = (
            "weights read per step: the active parameters only (the experts are not known, so the extra "
            "experts a batch's tokens route to are not counted and energy at batch > 1 is underestimated)"
        )
    return [
        f"mixture of experts: memory counts all {a.params_b:.1f}B parameters; compute per token the "
        f"{a.active_params_b:.1f}B active ones; {read}. Every measured row is a dense model, so energy, power "
        f"and throughput are extrapolated and the range does not cover routing costs"
    ]


def _curated(row_id: str):
    return curated_rows().get(row_id)
