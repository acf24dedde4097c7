"""Penalty arithmetic: a rule's energy penalty as pairs of measurement rows and their percentages.

No figure lives in Python code: each percentage is computed from a row and its baseline.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from ecolint.energy.dataset import Measurement
from ecolint.rule_schema import RuleError

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


@dataclass(frozen=True)
class PenaltyPair:
    row: Measurement
    baseline: Measurement

    @property
    def percent(self) -> float:
        return (self.row.energy_j_per_1k / self.baseline.energy_j_per_1k - 1.0) * 100.0


@dataclass(frozen=True)
class PenaltyGroup:
    label: str
    pairs: tuple[PenaltyPair, ...]

    @property
    def low(self) -> float:
        return min(pair.percent for pair in self.pairs)

    @property
    def high(self) -> float:
        return max(pair.percent for pair in self.pairs)

    def describe(self) -> str:
        low, high = round(self.low), round(self.high)
        if high < 0:
            low, high = high, low  # savings read from the smaller to the larger
        span = f"{low:+d}%" if low == high else f"{low:+d}% to {high:+d}%"
        return f"{span} {self.label}"


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
                name = GPU_DISPLAY.get(pair.row.gpu, pair.row.gpu.upper())
                if name not in found:
                    found.append(name)
        return found

    def describe(self) -> str:
        if not self.measured:
            return "energy penalty not measured yet"
        groups = "; ".join(group.describe() for group in self.groups)
        if self.source != "shipped data":
            return f"{groups} (calibrated on {', '.join(self.gpus())}: {self.source})"
        return f"{groups} (measured on {', '.join(self.gpus())})"

    def to_dict(self) -> dict:
        if not self.measured:
            return {"measured": False, "note": self.note}
        return {
            "measured": True,
            "unit": self.unit,
            "measured_on": self.gpus(),
            "source": self.source,
            "note": self.note,
            "groups": [
                {
                    "label": group.label,
                    "min_pct": round(group.low, 1),
                    "max_pct": round(group.high, 1),
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
        "energy_j_per_1k": pair.row.energy_j_per_1k,
        "baseline_energy_j_per_1k": pair.baseline.energy_j_per_1k,
        "software": pair.row.software,
    }


def parse_penalty(code: str, raw: Any, rows: dict[str, Measurement]) -> Penalty | None:
    """A rule file's ``penalty``, its row ids looked up in ``rows``."""
    if raw is None:
        return None
    if not raw.get("measured", True):
        return Penalty(measured=False, note=str(raw.get("note", "")))
    groups = []
    for group in raw.get("groups", []):
        pairs = []
        for row_id, baseline_id in group["pairs"]:
            if row_id not in rows or baseline_id not in rows:
                raise RuleError(f"{code}: penalty refers to unknown measurement row {row_id} or {baseline_id}")
            row, baseline = rows[row_id], rows[baseline_id]
            if row.energy_j_per_1k is None or baseline.energy_j_per_1k is None:
                raise RuleError(f"{code}: row {row_id} or {baseline_id} has no energy figure")
            pairs.append(PenaltyPair(row, baseline))
        if not pairs:
            raise RuleError(f"{code}: penalty group {group.get('label')!r} has no pairs")
        groups.append(PenaltyGroup(str(group["label"]), tuple(pairs)))
    return Penalty(True, str(raw["unit"]), tuple(groups), str(raw.get("note", "")))
