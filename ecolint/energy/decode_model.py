"""The decode model: step time and board power of LLM decoding, fitted on measured rows.

The model is fitted on the canonical rows; its errors are in ``docs/accuracy.md``.

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
"""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass, field

from ecolint.energy.dataset import GpuSpec
from ecolint.energy.least_squares import least_squares
from ecolint.energy.training_rows import TrainingRow
from ecolint.energy.workload import Workload

MEMORY_EFFICIENCY = 0.8  # eta: achieved fraction of peak memory bandwidth when memory-bound (assumed)


def memory_technology(gpu: GpuSpec) -> str:
    return "hbm" if "HBM" in gpu.name.upper() else "gddr"


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
            + self.compute_slope(w.family) * w.arch.active_params_b * 1e9 * w.batch_size / step / 1e12
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
        ops_rate = r.workload.arch.active_params_b * 1e9 * r.workload.batch_size / step / 1e12
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
