"""Penalty arithmetic: a rule's energy penalty as pairs of measurement rows and their percentages.

No figure lives in Python code: each percentage is computed from a row and its baseline, on the one
energy basis of the project, gross board energy (``ecolint.energy.curation.gross_energy_j_per_1k``),
the same figure the advisor commands use. Ranges are given per GPU.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ecolint.energy.curation import gross_energy_j_per_1k
from ecolint.energy.dataset import Measurement
from ecolint.rule_schema import RuleError

BASIS = "gross board energy"

GPU_DISPLAY = {
    "rtx5090": "RTX 5090",
    "rtx4090d": "RTX 4090D",
    "a800": "A800",
    "t4": "T4",
    "h100": "H100",
    "h200": "H200",
    "a100": "A100",
    "l4": "L4",
    "v100": "V100",
    "rtx3090": "RTX 3090",
}


PEAK_MEMORY = "peak_memory"  # a group's metric: peak GPU memory (GB, the rows' peak_memory_gb) instead of energy


def peak_memory_gb(row: Measurement) -> float | None:
    """The row's peak GPU memory in GB (``torch.cuda.max_memory_allocated``), when it was recorded."""
    text = (row.raw or {}).get("peak_memory_gb") or ""
    try:
        return float(text) if str(text).strip() else None
    except ValueError:
        return None


@dataclass(frozen=True)
class PenaltyPair:
    row: Measurement
    baseline: Measurement
    metric: str = "energy"  # or PEAK_MEMORY

    @property
    def energy(self) -> float:
        return peak_memory_gb(self.row) if self.metric == PEAK_MEMORY else gross_energy_j_per_1k(self.row)

    @property
    def baseline_energy(self) -> float:
        if self.metric == PEAK_MEMORY:
            return peak_memory_gb(self.baseline)
        return gross_energy_j_per_1k(self.baseline)

    @property
    def percent(self) -> float:
        return (self.energy / self.baseline_energy - 1.0) * 100.0

    @property
    def ratio(self) -> float:
        return self.energy / self.baseline_energy


def gpu_name(key: str) -> str:
    return GPU_DISPLAY.get(key, key.upper())


def span(percents: list[float]) -> str:
    """``+40% to +60%``; savings read from the smaller to the larger (``-32% to -49%``)."""
    low, high = round(min(percents)), round(max(percents))
    if high < 0:
        low, high = high, low
    return f"{low:+d}%" if low == high else f"{low:+d}% to {high:+d}%"


@dataclass(frozen=True)
class PenaltyGroup:
    label: str
    pairs: tuple[PenaltyPair, ...]
    fix: bool = False  # the group measures what the rule's suggested change does, not what the pattern costs
    risk: str = ""  # what the suggested change risks beyond energy (a fix group's caveat)
    metric: str = "energy"  # PEAK_MEMORY: the pairs compare peak GPU memory, described in GB

    @property
    def low(self) -> float:
        return min(pair.percent for pair in self.pairs)

    @property
    def high(self) -> float:
        return max(pair.percent for pair in self.pairs)

    def by_gpu(self) -> dict[str, list[PenaltyPair]]:
        """The pairs per GPU, in the order the GPUs first appear."""
        found: dict[str, list[PenaltyPair]] = {}
        for pair in self.pairs:
            found.setdefault(gpu_name(pair.row.gpu), []).append(pair)
        return found

    def describe(self) -> str:
        if self.metric == PEAK_MEMORY:
            return self._describe_memory()
        per_gpu = self.by_gpu()
        if len(per_gpu) == 1:
            [(gpu, pairs)] = per_gpu.items()
            return f"{span([p.percent for p in pairs])} {self.label} on {gpu}"
        spans = ", ".join(f"{span([p.percent for p in pairs])} on {gpu}" for gpu, pairs in per_gpu.items())
        return f"{self.label}: {spans}"

    def _describe_memory(self) -> str:
        """``peak GPU memory ... 2.1x to 7.8x (121.3 GB vs 15.6 GB, 7B model at batch 8) on H200``."""
        ratios = [pair.ratio for pair in self.pairs]
        low, high = min(ratios), max(ratios)
        times = f"{low:.1f}x" if round(low, 1) == round(high, 1) else f"{low:.1f}x to {high:.1f}x"
        worst = max(self.pairs, key=lambda pair: pair.ratio)
        size = f"{worst.row.params_b:g}B model" if worst.row.params_b else worst.row.model_id
        gpus = ", ".join(self.by_gpu())
        return (f"{self.label} {times} ({worst.energy:.1f} GB vs {worst.baseline_energy:.1f} GB, {size} at batch "
                f"{worst.row.batch_size}) on {gpus}")


@dataclass(frozen=True)
class Penalty:
    """The measured energy cost of a pattern, or a statement that none was measured."""

    measured: bool
    unit: str = ""
    groups: tuple[PenaltyGroup, ...] = ()
    note: str = ""
    source: str = "shipped data"

    def rows(self) -> list[str]:
        seen: list[str] = []
        for group in self.groups:
            for pair in group.pairs:
                for row in (pair.row.row_id, pair.baseline.row_id):
                    if row not in seen:
                        seen.append(row)
        return seen

    def gpus(self) -> list[str]:
        found: list[str] = []
        for group in self.groups:
            for pair in group.pairs:
                name = gpu_name(pair.row.gpu)
                if name not in found:
                    found.append(name)
        return found

    def describe(self) -> str:
        if not self.measured:
            return "energy penalty not measured yet"
        groups = "; ".join(group.describe() for group in self.groups)
        if self.source != "shipped data":
            return f"{groups} (calibrated: {self.source}, {BASIS})"
        return f"{groups} (measured, {BASIS})"

    def only(self, precisions: set[str]) -> Penalty:
        """The penalty restricted to the pairs whose row has one of ``precisions`` (groups left empty dropped)."""
        groups = []
        for group in self.groups:
            pairs = tuple(pair for pair in group.pairs if pair.row.precision in precisions)
            if pairs:
                groups.append(PenaltyGroup(group.label, pairs, group.fix, group.risk, group.metric))
        if not groups:
            return Penalty(False, note=f"no rows for {', '.join(sorted(precisions))}")
        return Penalty(True, self.unit, tuple(groups), self.note, self.source)

    def to_dict(self) -> dict:
        if not self.measured:
            return {"measured": False, "note": self.note}
        return {
            "measured": True,
            "unit": self.unit,
            "measured_on": self.gpus(),
            "source": self.source,
            "note": self.note,
            "basis": BASIS,
            "groups": [
                {
                    "label": group.label,
                    "metric": group.metric,
                    "fix": group.fix,
                    "risk": group.risk,
                    "min_pct": round(group.low, 1),
                    "max_pct": round(group.high, 1),
                    "per_gpu": {
                        gpu: [round(min(p.percent for p in pairs), 1), round(max(p.percent for p in pairs), 1)]
                        for gpu, pairs in group.by_gpu().items()
                    },
                    "pairs": [_pair_dict(pair) for pair in group.pairs],
                }
                for group in self.groups
            ],
        }


def _pair_dict(pair: PenaltyPair) -> dict:
    return {
        "row": pair.row.row_id,
        "baseline": pair.baseline.row_id,
        "pct": round(pair.percent, 1),
        "gpu": pair.row.gpu,
        "model": pair.row.model_id,
        "precision": pair.row.precision,
        "baseline_precision": pair.baseline.precision,
        "batch_size": pair.row.batch_size,
        "baseline_batch_size": pair.baseline.batch_size,
        "energy_j_per_1k": round(gross_energy_j_per_1k(pair.row), 1),
        "baseline_energy_j_per_1k": round(gross_energy_j_per_1k(pair.baseline), 1),
        **({"peak_memory_gb": pair.energy, "baseline_peak_memory_gb": pair.baseline_energy}
           if pair.metric == PEAK_MEMORY else {}),
        "stated_energy_j_per_1k": pair.row.energy_j_per_1k,
        "stated_baseline_energy_j_per_1k": pair.baseline.energy_j_per_1k,
        "software": pair.row.software,
    }


def select_pairs(select: dict, rows: dict[str, Measurement], metric: str = "energy") -> list[PenaltyPair]:
    """Pairs of a ``select`` group (``ecolint.energy.pairs.same_run_pairs``)."""
    from ecolint.energy.pairs import same_run_pairs

    figure = peak_memory_gb if metric == PEAK_MEMORY else gross_energy_j_per_1k
    return [PenaltyPair(row, base, metric) for row, base in same_run_pairs(select, rows, figure)]


def parse_penalty(code: str, raw: Any, rows: dict[str, Measurement]) -> Penalty | None:
    """A rule file's ``penalty``, its row ids looked up in ``rows``."""
    if raw is None:
        return None
    if not raw.get("measured", True):
        return Penalty(measured=False, note=str(raw.get("note", "")))
    groups = []
    for group in raw.get("groups", []):
        pairs = []
        metric = str(group.get("metric", "energy"))
        if metric not in ("energy", PEAK_MEMORY):
            raise RuleError(f"{code}: penalty group metric must be energy or {PEAK_MEMORY}")
        if "select" in group:  # pairs found by what the rows measured: rows added later join by themselves
            pairs = select_pairs(group["select"], rows, metric)
            if not pairs:
                continue  # not measured yet
        for row_id, baseline_id in group.get("pairs", ()):
            if row_id not in rows or baseline_id not in rows:
                raise RuleError(f"{code}: penalty refers to unknown measurement row {row_id} or {baseline_id}")
            row, baseline = rows[row_id], rows[baseline_id]
            figure = peak_memory_gb if metric == PEAK_MEMORY else gross_energy_j_per_1k
            if not figure(row) or not figure(baseline):
                raise RuleError(f"{code}: row {row_id} or {baseline_id} has no {metric.replace('_', ' ')} figure")
            pairs.append(PenaltyPair(row, baseline, metric))
        if not pairs:
            raise RuleError(f"{code}: penalty group {group.get('label')!r} has no pairs")
        groups.append(
            PenaltyGroup(
                str(group["label"]),
                tuple(pairs),
                bool(group.get("fix", False)),
                " ".join(str(group.get("risk", "")).split()),
                metric,
            )
        )
    return Penalty(True, str(raw["unit"]), tuple(groups), str(raw.get("note", "")))
