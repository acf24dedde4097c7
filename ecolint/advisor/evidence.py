"""Facts computed from the canonical measurements, quoted by warnings, insights and diagnoses.

Every figure here is computed from the shipped rows (gross energy basis) and carries the row ids it
comes from, so no percentage is written by hand.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache

from ecolint import advice
from ecolint.energy.curation import curated_rows
from ecolint.energy.training_rows import TrainingRow, dataset_training_rows, training_row

SMALL_MODEL_B = 3.0


@dataclass(frozen=True)
class Pair:
    """Two canonical rows of the same GPU, model and batch size that differ in one setting."""

    base: TrainingRow
    other: TrainingRow

    @property
    def energy_change(self) -> float:
        return self.other.energy / self.base.energy - 1.0

    @property
    def throughput_change(self) -> float:
        return self.other.throughput / self.base.throughput - 1.0

    @property
    def power_change(self) -> float:
        return self.other.power / self.base.power - 1.0

    @property
    def rows(self) -> str:
        return f"{self.base.row_id}/{self.other.row_id}"

    def describe(self) -> str:
        w = self.other.workload
        return (
            f"{w.arch.key} on {w.gpu.key} BS={w.batch_size}: {self.base.energy:,.0f} -> {self.other.energy:,.0f} "
            f"J/1k ({self.energy_change:+.0%}; {self.rows})"
        )


@dataclass(frozen=True)
class Evidence:
    pairs: tuple[Pair, ...]

    def __bool__(self) -> bool:
        return bool(self.pairs)

    @property
    def low(self) -> float:
        return min(p.energy_change for p in self.pairs)

    @property
    def high(self) -> float:
        return max(p.energy_change for p in self.pairs)

    def span(self) -> str:
        """``12-30%`` when every change has the same sign, else ``-25% to +30%``."""
        return self.span_of([p.energy_change for p in self.pairs])

    @staticmethod
    def span_of(changes: list[float]) -> str:
        low, high = min(changes), max(changes)
        if low < 0 < high:
            return f"{low * 100:+.0f}% to {high * 100:+.0f}%"
        lo, hi = abs(low) * 100, abs(high) * 100
        lo, hi = min(lo, hi), max(lo, hi)
        return f"{lo:.0f}-{hi:.0f}%" if round(lo) != round(hi) else f"{hi:.0f}%"

    def per_gpu(self) -> str:
        """The span on each GPU: ``32% on rtx4090d, 40-42% on a800``."""
        by_gpu: dict[str, list[Pair]] = {}
        for pair in self.pairs:
            by_gpu.setdefault(pair.other.workload.gpu.key, []).append(pair)
        return ", ".join(f"{Evidence(tuple(pairs)).span()} on {gpu}" for gpu, pairs in by_gpu.items())

    @property
    def row_ids(self) -> str:
        return ", ".join(p.rows for p in self.pairs)


def _protocol(row: TrainingRow) -> tuple:
    m = row.measurement
    return (m.gpu, m.output_tokens, (m.raw or {}).get("input_tokens", ""))


@lru_cache(maxsize=None)
def _comparable_rows() -> tuple[TrainingRow, ...]:
    """Canonical rows plus the alternative measurements (another experiment of the same configuration)."""
    extra = [
        training_row(r.measurement) for r in curated_rows().values() if r.status == "alternative"
    ]
    return tuple(dataset_training_rows() + [r for r in extra if r is not None])


def _pairs(
    base_quant: str, other_quant: str, max_params: float | None = None, gpu: str | None = None
) -> Evidence:
    """Pairs measured under the same protocol (GPU, prompt and generation length), never across protocols."""
    rows = _comparable_rows()
    found = []
    for other in rows:
        w = other.workload
        if w.quantization != other_quant or (gpu and w.gpu.key != gpu):
            continue
        if max_params is not None and w.arch.params_b > max_params + 0.2:
            continue
        for base in rows:
            b = base.workload
            if (b.quantization, b.gpu.key, b.arch.key, b.batch_size) == (
                base_quant,
                w.gpu.key,
                w.arch.key,
                w.batch_size,
            ) and _protocol(base) == _protocol(other):
                found.append(Pair(base, other))
    return Evidence(tuple(sorted(found, key=lambda p: p.other.row_id)))


@lru_cache(maxsize=None)
def nf4_small_models() -> Evidence:
    """FP16 -> NF4 on models of at most 3B parameters."""
    return _pairs("fp16", "nf4", max_params=SMALL_MODEL_B)


@lru_cache(maxsize=None)
def nf4_vs_fp16() -> Evidence:
    return _pairs("fp16", "nf4")


@lru_cache(maxsize=None)
def int8_default_vs_fp16() -> Evidence:
    return _pairs("fp16", "int8_default")


@lru_cache(maxsize=None)
def int8_pure_vs_fp16() -> Evidence:
    return _pairs("fp16", "int8_pure")


@lru_cache(maxsize=None)
def fp32_vs_fp16() -> Evidence:
    """Decoding in FP32 against FP16 (``ecolint calibrate`` rows)."""
    return _pairs("fp16", "fp32")


COMPUTE_BOUND_FP32 = (
    ("prefill", "fp32_prefill", "fp16_prefill"),
    ("scoring", "fp32_score", "fp16_score"),
    ("prefill with TF32 on", "fp32_tf32_prefill", "fp16_prefill"),
    ("scoring with TF32 on", "fp32_tf32_score", "fp16_score"),
)


def fp32_compute_bound() -> str:
    """What FP32 costs against FP16 in compute-bound work (prefill, scoring), from ``hopper_fp32.csv``."""
    from ecolint.energy.curation import gross_energy_j_per_1k
    from ecolint.energy.dataset import measurements
    from ecolint.energy.pairs import same_run_pairs

    parts = []
    for label, row, base in COMPUTE_BOUND_FP32:
        pairs = same_run_pairs({"row": {"precision": row}, "baseline": {"precision": base}}, measurements(),
                               gross_energy_j_per_1k)
        if pairs:
            changes = [gross_energy_j_per_1k(r) / gross_energy_j_per_1k(b) - 1 for r, b in pairs]
            span = Evidence.span_of(changes)
            span += " more" if min(changes) >= 0 else " less" if max(changes) <= 0 else ""
            ids = ", ".join(f"{b.row_id}/{r.row_id}" for r, b in pairs)
            parts.append(f"{label} {span} (rows {ids})")
    if not parts:
        return ("compute-bound work (prefill, scoring) in FP32 is not measured yet (rows f001... of "
                "hopper_fp32.csv), and it is not covered by the decoding rows")
    return "compute-bound work per processed token against FP16: " + "; ".join(parts)


@lru_cache(maxsize=None)
def int8_pure_vs_default() -> Evidence:
    return _pairs("int8_default", "int8_pure")


@dataclass(frozen=True)
class BatchPoint:
    row: TrainingRow
    change_vs_bs1: float


@lru_cache(maxsize=None)
def batch_sweep() -> tuple[BatchPoint, ...]:
    """The longest single-experiment batch sweep, energy per token relative to its batch-1 row."""
    rows = dataset_training_rows()
    by_experiment: dict[tuple, list[TrainingRow]] = {}
    for r in rows:
        w = r.workload
        key = (r.measurement.experiment, w.gpu.key, w.arch.key, w.quantization)
        by_experiment.setdefault(key, []).append(r)
    best = max(
        by_experiment.values(),
        key=lambda rs: (len({r.workload.batch_size for r in rs}), rs[0].row_id),
    )
    first = min(best, key=lambda r: r.workload.batch_size)
    if first.workload.batch_size != 1:
        return ()
    return tuple(
        BatchPoint(r, r.energy / first.energy - 1.0)
        for r in sorted(best, key=lambda r: r.workload.batch_size)
    )


def batch_saving(batch_size: int) -> BatchPoint | None:
    for point in batch_sweep():
        if point.row.workload.batch_size == batch_size:
            return point
    return None


def sweep_description() -> str:
    points = batch_sweep()
    if not points:
        return ""
    w = points[0].row.workload
    return f"{w.arch.key} {w.quantization} on {w.gpu.key}, rows {points[0].row.row_id}-{points[-1].row.row_id}"


def threshold_zero_advice() -> str:
    """The order of choices for an 8-bit load, what threshold 0.0 saves against the default, and its risk."""
    pure = int8_pure_vs_default()
    saving = f" (it saves {pure.per_gpu()} energy against the default threshold; rows {pure.row_ids})" if pure else ""
    return advice.eight_bit(saving)


def cited_rows() -> list[TrainingRow]:
    """Every row the quantization and batch-size evidence above quotes."""
    rows: list[TrainingRow] = []
    for ev in (nf4_vs_fp16(), int8_default_vs_fp16(), int8_pure_vs_fp16(), int8_pure_vs_default()):
        for pair in ev.pairs:
            rows.extend((pair.base, pair.other))
    rows.extend(point.row for point in batch_sweep())
    return rows
