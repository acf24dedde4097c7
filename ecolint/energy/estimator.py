"""Energy, throughput and power of LLM decoding: measured where the data has it, modelled elsewhere.

The decode model (fitted on the canonical rows, see ``docs/accuracy.md``)
---------------------------------------------------------------------
One decode step produces one token for each of the ``B`` sequences in a batch. Eager PyTorch with
transformers launches a fixed sequence of kernels per layer, so at the batch sizes measured the step
time is set by that launch sequence, not by memory bandwidth::

    t_launch = layers x a[gpu] x f[quant] x (1 + k[quant] x (B - 1))
    t_memory = (weight bytes + B x KV bytes per token x context) / (eta x bandwidth[gpu])
    t_step   = max(t_launch, t_memory)                      throughput = B / t_step

``a`` (seconds per layer) is fitted per GPU, ``f`` per quantization kernel family (FP16 = 1; BF16
runs FP16's kernels, FP32 is a family of its own), ``k`` (the cost of each extra sequence) per
family; ``eta`` is fixed (no shipped row is memory-bound). Board power follows what the GPU moves
and computes::

    power = p0[gpu] + m[memory type] x bytes per second
          + c[quant] x parameter-tokens per second + o[quant]

fitted by least squares (``p0`` per GPU, ``m`` per memory technology, GDDR or HBM, ``c`` and ``o``
per kernel family; a family whose ``c`` would come out negative takes FP16's). Energy per
1000 tokens is ``1000 x power / throughput``. A GPU without measurements takes the geometric mean
of the fitted ``a``, the mean ``p0``/TDP ratio and the slope of its memory technology.

Measured configurations return the measured values; the user's calibration rows come first.
Everything else is the model, with an uncertainty range from its leave-one-out errors.
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field, replace
from functools import cached_property

from ecolint.energy.architectures import (
    Architecture,
    architectures,
    estimated_architecture,
    find_architecture,
)
from ecolint.energy.curation import alternatives_for, canonical_rows, curated_rows
from ecolint.energy.dataset import GpuSpec, Measurement, gpus
from ecolint.energy.model_size import resolve_model_size

QUANTIZATIONS = ("fp16", "bf16", "fp32", "nf4", "int8_default", "int8_pure")
# Which kernel family each quantization runs. BF16 launches FP16's kernels (measured within 2% of
# FP16 on the H200); FP32 is slower per step and draws more power per token, so it has its own family.
KERNEL_FAMILY = {
    "fp16": "fp16",
    "bf16": "fp16",
    "fp32": "fp32",
    "nf4": "nf4",
    "int8_default": "int8_default",
    "int8_pure": "int8_pure",
}
MEMORY_EFFICIENCY = 0.8  # eta: achieved fraction of peak memory bandwidth when memory-bound (assumed)
DEFAULT_PROMPT_TOKENS = 256  # prompt length assumed for rows that do not record one


def memory_technology(gpu: GpuSpec) -> str:
    return "hbm" if "HBM" in gpu.name.upper() else "gddr"


@dataclass(frozen=True)
class Workload:
    """What runs: a model shape on a GPU at a quantization, batch size and request shape."""

    gpu: GpuSpec
    arch: Architecture
    quantization: str
    batch_size: int = 1
    input_tokens: int = 512
    output_tokens: int = 256

    @property
    def family(self) -> str:
        return KERNEL_FAMILY[self.quantization]

    @property
    def context_tokens(self) -> float:
        """Mean number of tokens in the KV cache over the generation."""
        return self.input_tokens + self.output_tokens / 2.0

    def bytes_per_step(self) -> float:
        return self.arch.weight_bytes_read(self.quantization) + (
            self.batch_size * self.arch.kv_bytes_per_token(self.quantization) * self.context_tokens
        )

    def vram_bytes(self) -> float:
        """Weights plus the full KV cache of every sequence in the batch (activations not counted)."""
        kv = (
            self.batch_size * self.arch.kv_bytes_per_token(self.quantization) * (self.input_tokens + self.output_tokens)
        )
        return self.arch.weight_bytes_resident(self.quantization) + kv


@dataclass(frozen=True)
class TrainingRow:
    """A measured row as the model sees it."""

    row_id: str
    workload: Workload
    throughput: float
    power: float
    energy: float  # gross J per 1000 tokens
    measurement: Measurement
    calibration: bool = False


def _arch_for(model_id: str, params_b: float | None) -> Architecture | None:
    found = find_architecture(model_id)
    if found:
        return found
    size = params_b or (resolve_model_size(model_id).params_b if resolve_model_size(model_id) else None)
    return estimated_architecture(size, model_id) if size else None


def training_row(m: Measurement, calibration: bool = False) -> TrainingRow | None:
    """A measurement in model terms, or None when it lacks power, throughput or a known shape."""
    if not (m.power_w and m.throughput_tok_s and m.batch_size) or m.precision not in KERNEL_FAMILY:
        return None
    gpu = gpus().get(m.gpu)
    arch = _arch_for(m.model_id, m.params_b)
    if gpu is None or arch is None:
        return None
    prompt = m.raw.get("input_tokens") if m.raw else None
    workload = Workload(
        gpu=gpu,
        arch=arch,
        quantization=m.precision,
        batch_size=m.batch_size,
        input_tokens=int(float(prompt)) if prompt else DEFAULT_PROMPT_TOKENS,
        output_tokens=m.output_tokens or 256,
    )
    energy = 1000.0 * m.power_w / m.throughput_tok_s
    return TrainingRow(m.row_id, workload, m.throughput_tok_s, m.power_w, energy, m, calibration)


def _unusable(m: Measurement) -> str:
    """Why a measurement cannot join the model."""
    if m.gpu not in gpus():
        return f"GPU {m.gpu!r} has no specification in gpus.csv"
    if m.precision not in KERNEL_FAMILY:
        return f"precision {m.precision!r} is not modelled"
    if not (m.power_w and m.throughput_tok_s and m.batch_size):
        return "no power, throughput or batch size"
    return "model size unknown"


def dataset_training_rows() -> list[TrainingRow]:
    rows = [training_row(r.measurement) for r in canonical_rows()]
    return [r for r in rows if r is not None]


# ----------------------------------------------------------------------------------------------
# Least squares without numpy


def _solve(matrix: list[list[float]], vector: list[float]) -> list[float]:
    n = len(vector)
    aug = [row[:] + [vector[i]] for i, row in enumerate(matrix)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(aug[r][col]))
        aug[col], aug[pivot] = aug[pivot], aug[col]
        if abs(aug[col][col]) < 1e-300:
            continue
        for r in range(n):
            if r != col and aug[r][col]:
                factor = aug[r][col] / aug[col][col]
                aug[r] = [a - factor * b for a, b in zip(aug[r], aug[col])]
    return [aug[i][n] / aug[i][i] if abs(aug[i][i]) > 1e-300 else 0.0 for i in range(n)]


def least_squares(features: list[list[float]], targets: list[float], ridge: float = 1e-6) -> list[float]:
    """Coefficients minimising squared error plus a tiny ridge (keeps unsupported columns at 0)."""
    n = len(features[0])
    normal = [
        [sum(row[i] * row[j] for row in features) + (ridge if i == j else 0.0) for j in range(n)] for i in range(n)
    ]
    rhs = [sum(row[i] * y for row, y in zip(features, targets)) for i in range(n)]
    return _solve(normal, rhs)


# ----------------------------------------------------------------------------------------------
# The fitted model


@dataclass(frozen=True)
class Prediction:
    throughput: float  # tok/s, aggregate over the batch
    power: float  # W
    energy: float  # J per 1000 tokens
    step_time: float  # s
    regime: str  # "launch-bound" or "memory-bound"
    notes: tuple[str, ...] = ()


@dataclass
class DecodeModel:
    launch: dict[str, float]  # gpu key -> seconds per layer per step (FP16 kernels)
    factor: dict[str, float]  # kernel family -> launch-time multiplier
    batch_slope: dict[str, float]  # kernel family -> extra step time per extra sequence (fraction)
    power_base: dict[str, float]  # gpu key -> W
    power_per_tb_s: dict[str, float]  # memory technology -> W per TB/s read
    power_per_tparam_s: float  # W per 1e12 parameter-tokens per second (FP16 kernels)
    power_offset: dict[str, float]  # kernel family -> W
    tdp: dict[str, float]  # gpu key -> TDP of the fitted GPUs
    rows: tuple[str, ...] = ()
    batch_measured: frozenset = frozenset()  # kernel families with rows at batch > 1
    power_per_tparam_s_extra: dict[str, float] = field(default_factory=dict)  # family -> W added to c

    def _launch_per_layer(self, gpu: GpuSpec) -> tuple[float, str | None]:
        if gpu.key in self.launch:
            return self.launch[gpu.key], None
        value = math.exp(statistics.fmean(math.log(v) for v in self.launch.values()))
        return (
            value,
            f"{gpu.key} not measured: launch time per layer is the geometric mean of {', '.join(sorted(self.launch))}",
        )

    def _power_base(self, gpu: GpuSpec) -> tuple[float, str | None]:
        if gpu.key in self.power_base:
            return self.power_base[gpu.key], None
        ratio = statistics.fmean(self.power_base[k] / self.tdp[k] for k in self.power_base)
        return (
            ratio * (gpu.tdp_w or 0.0),
            f"{gpu.key} not measured: base power is {ratio:.1%} of its TDP (mean of the measured GPUs)",
        )

    def _slope(self, gpu: GpuSpec) -> float:
        tech = memory_technology(gpu)
        if tech in self.power_per_tb_s:
            return self.power_per_tb_s[tech]
        return statistics.fmean(self.power_per_tb_s.values())

    def step_time(self, w: Workload) -> tuple[float, str, list[str]]:
        notes: list[str] = []
        per_layer, note = self._launch_per_layer(w.gpu)
        if note:
            notes.append(note)
        factor = self.factor.get(w.family, 1.0)
        slope = self.batch_slope.get(w.family, self.batch_slope.get("fp16", 0.0))
        if w.batch_size > 1 and w.family not in self.batch_measured:
            notes.append(f"{w.family} never measured above batch 1: its per-sequence cost is taken as FP16's")
        launch = w.arch.layers * per_layer * factor * (1.0 + slope * (w.batch_size - 1))
        memory = w.bytes_per_step() / (MEMORY_EFFICIENCY * (w.gpu.memory_bandwidth_gb_s or 1.0) * 1e9)
        if memory > launch:
            notes.append("memory-bound: no measured row is in this regime (bandwidth efficiency 0.8 assumed)")
            return memory, "memory-bound", notes
        return launch, "launch-bound", notes

    def compute_slope(self, family: str) -> float:
        """W per 1e12 parameter-tokens per second for a kernel family (FP16's where not fitted)."""
        return self.power_per_tparam_s + self.power_per_tparam_s_extra.get(family, 0.0)

    def predict(self, w: Workload) -> Prediction:
        step, regime, notes = self.step_time(w)
        throughput = w.batch_size / step
        base, note = self._power_base(w.gpu)
        if note:
            notes.append(note)
        power = (
            base
            + self._slope(w.gpu) * w.bytes_per_step() / step / 1e12
            + self.compute_slope(w.family) * w.arch.params_b * 1e9 * w.batch_size / step / 1e12
            + self.power_offset.get(w.family, 0.0)
        )
        tdp = w.gpu.tdp_w or power
        if power > tdp:
            notes.append(f"modelled power {power:.0f} W exceeds the {tdp:.0f} W TDP: capped")
            power = tdp
        power = max(power, base)
        return Prediction(throughput, power, 1000.0 * power / throughput, step, regime, tuple(notes))


def fit_model(rows: list[TrainingRow]) -> DecodeModel:
    """Fit the decode model (see the module docstring) on measured rows."""
    gpu_keys = sorted({r.workload.gpu.key for r in rows})
    families = sorted({r.workload.family for r in rows} - {"fp16"})
    slopes = {f: 0.0 for f in ["fp16", *families]}
    launch_rows = [
        r
        for r in rows
        if r.workload.bytes_per_step() / (MEMORY_EFFICIENCY * r.workload.gpu.memory_bandwidth_gb_s * 1e9)
        < 0.9 * r.workload.batch_size / r.throughput
    ]
    design = [
        [1.0 if r.workload.gpu.key == g else 0.0 for g in gpu_keys]
        + [1.0 if r.workload.family == f else 0.0 for f in families]
        for r in launch_rows
    ]
    launch: dict[str, float] = {}
    factor: dict[str, float] = {"fp16": 1.0}
    for _ in range(6):  # alternate: per-layer times and factors (log-linear), then batch slopes
        targets = [
            math.log(r.workload.batch_size / r.throughput / r.workload.arch.layers)
            - math.log(1.0 + slopes[r.workload.family] * (r.workload.batch_size - 1))
            for r in launch_rows
        ]
        coef = least_squares(design, targets)
        launch = {g: math.exp(coef[i]) for i, g in enumerate(gpu_keys)}
        factor = {
            "fp16": 1.0,
            **{f: math.exp(coef[len(gpu_keys) + i]) for i, f in enumerate(families)},
        }
        for fam in slopes:
            points = [
                (
                    r.workload.batch_size - 1,
                    (r.workload.batch_size / r.throughput)
                    / (r.workload.arch.layers * launch[r.workload.gpu.key] * factor[fam])
                    - 1.0,
                )
                for r in launch_rows
                if r.workload.family == fam and r.workload.batch_size > 1
            ]
            if points:
                slopes[fam] = max(0.0, sum(x * y for x, y in points) / sum(x * x for x, _ in points))
    batch_measured = frozenset(
        f for f in slopes if any(r.workload.family == f and r.workload.batch_size > 1 for r in launch_rows)
    )
    if "nf4" not in batch_measured:
        slopes["nf4"] = slopes["fp16"]

    base, slopes_w, ops_w, offsets, ops_extra = _fit_power_terms(rows, gpu_keys, families)
    return DecodeModel(
        launch=launch,
        factor=factor,
        batch_slope=slopes,
        power_base=base,
        power_per_tb_s=slopes_w,
        power_per_tparam_s=ops_w,
        power_offset=offsets,
        power_per_tparam_s_extra=ops_extra,
        tdp={g: next(r.workload.gpu.tdp_w for r in rows if r.workload.gpu.key == g) for g in gpu_keys},
        rows=tuple(r.row_id for r in rows),
        batch_measured=batch_measured,
    )


def _fit_power_terms(
    rows: list[TrainingRow], gpu_keys: list[str], families: list[str]
) -> tuple[dict, dict, float, dict, dict]:
    """The power terms, kept physical: no negative base power, bytes slope or compute slope.

    Memory technologies whose slopes are not separable in the rows share one slope; a kernel family
    whose own compute slope would come out below zero takes FP16's.
    """
    techs = sorted({memory_technology(r.workload.gpu) for r in rows})
    for shared_slope in (False, True):
        compute = list(families)
        while True:
            fit = _fit_power(rows, gpu_keys, techs, families, compute, shared_slope)
            ops_w, extra = fit[2], fit[4]
            negative = [f for f in compute if ops_w + extra[f] < 0]
            if not negative:
                break
            compute = [f for f in compute if f not in negative]
        if min(fit[0].values()) >= 0 and min(fit[1].values()) >= 0:
            break
    return fit


def _fit_power(
    rows: list[TrainingRow],
    gpu_keys: list[str],
    techs: list[str],
    families: list[str],
    compute_families: list[str],
    shared_slope: bool,
) -> tuple[dict, dict, float, dict, dict]:
    """Least squares for base power per GPU, W per TB/s per memory technology, W per parameter-token/s
    (FP16 kernels, plus a difference for each of ``compute_families``) and offsets per family."""
    slope_groups = ["all"] if shared_slope else techs
    power_features = []
    for r in rows:
        step = r.workload.batch_size / r.throughput
        bytes_rate = r.workload.bytes_per_step() / step / 1e12
        ops_rate = r.workload.arch.params_b * 1e9 * r.workload.batch_size / step / 1e12
        power_features.append(
            [1.0 if r.workload.gpu.key == g else 0.0 for g in gpu_keys]
            + [bytes_rate if shared_slope or memory_technology(r.workload.gpu) == t else 0.0 for t in slope_groups]
            + [ops_rate]
            + [1.0 if r.workload.family == f else 0.0 for f in families]
            + [ops_rate if r.workload.family == f else 0.0 for f in compute_families]
        )
    coef = least_squares(power_features, [r.power for r in rows])
    n_g, n_t, n_f = len(gpu_keys), len(slope_groups), len(families)
    slope_values = {t: coef[n_g + (0 if shared_slope else i)] for i, t in enumerate(techs)}
    compute = {f: coef[n_g + n_t + 1 + n_f + i] for i, f in enumerate(compute_families)}
    return (
        {g: coef[i] for i, g in enumerate(gpu_keys)},
        slope_values,
        coef[n_g + n_t],
        {"fp16": 0.0, **{f: coef[n_g + n_t + 1 + i] for i, f in enumerate(families)}},
        {f: compute.get(f, 0.0) for f in families},
    )


# ----------------------------------------------------------------------------------------------
# Leave-one-out errors


LOO_KINDS = {
    "row": "one measured row held out at a time",
    "model": "all rows of one model held out; its shape known from config.json",
    "model_estimated_shape": "all rows of one model held out; its shape estimated from the parameter count",
    "gpu": "all rows of one GPU held out",
}


@dataclass(frozen=True)
class HeldOut:
    row_id: str
    group: str
    measured: tuple[float, float, float]  # throughput, power, energy
    predicted: tuple[float, float, float]

    def ratio(self, metric: int) -> float:
        return self.predicted[metric] / self.measured[metric]


METRICS = {"throughput": 0, "power": 1, "energy": 2}


@dataclass(frozen=True)
class ErrorSummary:
    kind: str
    held_out: tuple[HeldOut, ...]

    def ratios(self, metric: str) -> list[float]:
        return [h.ratio(METRICS[metric]) for h in self.held_out]

    def median_error(self, metric: str = "energy") -> float:
        return statistics.median(abs(r - 1.0) for r in self.ratios(metric))

    def worst_error(self, metric: str = "energy") -> float:
        return max(abs(r - 1.0) for r in self.ratios(metric))

    def worst_row(self, metric: str = "energy") -> HeldOut:
        return max(self.held_out, key=lambda h: abs(h.ratio(METRICS[metric]) - 1.0))

    def band(self, value: float, metric: str = "energy") -> tuple[float, float]:
        """The range the true value fell in, relative to the prediction, over the held-out rows."""
        ratios = self.ratios(metric)
        return value / max(ratios), value / min(ratios)


def _group_key(row: TrainingRow, kind: str) -> str:
    if kind == "row":  # one configuration: duplicates of it (calibration, other experiments) go too
        w = row.workload
        return f"{w.gpu.key}|{w.arch.key}|{w.quantization}|{w.batch_size}"
    if kind in ("model", "model_estimated_shape"):
        return row.workload.arch.key
    return row.workload.gpu.key


def leave_one_out(rows: list[TrainingRow], kind: str = "row") -> ErrorSummary:
    """Refit without each group (row, model or GPU) and predict the held-out rows."""
    if kind not in LOO_KINDS:
        raise ValueError(f"unknown leave-one-out kind {kind!r}")
    held: list[HeldOut] = []
    groups = sorted({_group_key(r, kind) for r in rows})
    for group in groups:
        train = [r for r in rows if _group_key(r, kind) != group]
        test = [r for r in rows if _group_key(r, kind) == group]
        if not train:
            continue
        model = fit_model(train)
        for r in test:
            workload = r.workload
            if kind != "gpu" and workload.gpu.key not in model.launch:
                continue  # that row now tests a GPU without measurements: the "gpu" kind covers it
            if workload.family not in model.factor:
                continue  # no row of its precision is left: that tests a precision never measured
            if kind == "model_estimated_shape":
                known = [a for a in architectures().values() if a.key != workload.arch.key]
                workload = replace(workload, arch=estimated_architecture(workload.arch.params_b, "held out", known))
            p = model.predict(workload)
            held.append(
                HeldOut(
                    r.row_id,
                    group,
                    (r.throughput, r.power, r.energy),
                    (p.throughput, p.power, p.energy),
                )
            )
    return ErrorSummary(kind, tuple(held))


def ranking_check(rows: list[TrainingRow], summary: ErrorSummary) -> dict:
    """Whether held-out predictions order the precisions of each (GPU, model, batch) like the data."""
    by_id = {h.row_id: h for h in summary.held_out}
    groups: dict[tuple, list[TrainingRow]] = {}
    for r in rows:
        key = (r.workload.gpu.key, r.workload.arch.key, r.workload.batch_size)
        groups.setdefault(key, []).append(r)
    preserved, total, pairs_ok, pairs, best = 0, 0, 0, 0, 0
    broken = []
    for key, members in sorted(groups.items()):
        members = [m for m in members if m.row_id in by_id]
        if len(members) < 2:
            continue
        total += 1
        measured = sorted(members, key=lambda m: m.energy)
        predicted = sorted(members, key=lambda m: by_id[m.row_id].predicted[2])
        best += measured[0].row_id == predicted[0].row_id
        if [m.row_id for m in measured] == [m.row_id for m in predicted]:
            preserved += 1
        else:
            broken.append(
                {
                    "gpu": key[0],
                    "model": key[1],
                    "batch_size": key[2],
                    "measured_order": [m.workload.quantization for m in measured],
                    "predicted_order": [m.workload.quantization for m in predicted],
                }
            )
        for i, a in enumerate(members):
            for b in members[i + 1 :]:
                pairs += 1
                if (a.energy < b.energy) == (by_id[a.row_id].predicted[2] < by_id[b.row_id].predicted[2]):
                    pairs_ok += 1
    return {
        "groups": total,
        "preserved": preserved,
        "best_preserved": best,
        "pairs": pairs,
        "pairs_in_order": pairs_ok,
        "broken": broken,
    }


# ----------------------------------------------------------------------------------------------
# Answers with provenance


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
    shape_note: str | None = None  # measured with another request shape; the model predicts < 1% change

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
    return f"{fig.basis} {', '.join(fig.rows)}" if fig.basis in ("measured", "calibration") else fig.basis


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
        self.skipped_calibration = [f"{m.row_id} ({_unusable(m)})" for m in calibration if m.row_id not in used]
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
        if row is not None:
            return self._measured(w, row, prediction)
        return self._extrapolated(w, prediction)

    def _measured(self, w: Workload, row: TrainingRow, prediction: Prediction) -> Estimate:
        basis = "calibration" if row.calibration else "measured"
        label = f"{basis} {row.row_id}"
        notes: list[str] = []
        t_scale = p_scale = e_scale = 1.0
        rw = row.workload
        shape_note = None
        if (rw.input_tokens, rw.output_tokens) != (w.input_tokens, w.output_tokens):
            at_row = self.model.predict(rw)
            e_scale = prediction.energy / at_row.energy
            if abs(e_scale - 1.0) > 0.01:
                t_scale = prediction.throughput / at_row.throughput
                p_scale = prediction.power / at_row.power
                label += (
                    f", adjusted x{e_scale:.2f} (energy) by the decode model "
                    f"for {w.input_tokens}/{w.output_tokens} tokens"
                )
            else:
                e_scale = 1.0
                prompt = (row.measurement.raw or {}).get("input_tokens")
                shape_note = (
                    f"{row.row_id} ({f'{prompt}-token prompts' if prompt else 'prompt length not recorded'}, "
                    f"{rw.output_tokens} generated tokens)"
                )
        t_std = _std(row, "throughput_std")
        e_std = _std(row, "energy_std")
        stated = row.measurement.energy_j_per_1k
        e_rel = e_std / stated if e_std and stated else None
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
                None if t_std is None else throughput_value - t_std,
                None if t_std is None else throughput_value + t_std,
                (row.row_id,),
            ),
            power=Figure(row.power * p_scale, "W", basis, label, rows=(row.row_id,)),
            energy_per_1k=Figure(
                energy_value,
                "J/1k tokens",
                basis,
                energy_source,
                None if e_rel is None else energy_value * (1 - e_rel),
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
        if w.arch.estimated:
            notes.append(f"model shape {w.arch.source}")
        e_lo, e_hi = self._band(prediction.energy, "energy", kinds)
        t_lo, t_hi = self._band(prediction.throughput, "throughput", kinds)
        p_lo, p_hi = self._band(prediction.power, "power", kinds)
        ids = tuple(r.row_id for r in nearest)
        return Estimate(
            workload=w,
            throughput=Figure(prediction.throughput, "tok/s", "extrapolated", source, t_lo, t_hi, ids),
            power=Figure(prediction.power, "W", "extrapolated", source, p_lo, p_hi, ids),
            energy_per_1k=Figure(prediction.energy, "J/1k tokens", "extrapolated", source, e_lo, e_hi, ids),
            basis="extrapolated",
            rows_used=nearest,
            regime=prediction.regime,
            notes=notes,
            error_kinds=kinds,
        )


def _curated(row_id: str):
    from ecolint.energy.curation import curated_rows

    return curated_rows().get(row_id)
