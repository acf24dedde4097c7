"""Calibration: a rule's penalty recomputed from a user's ``ecolint calibrate`` rows."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from ecolint.energy.curation import gross_energy_j_per_1k
from ecolint.energy.dataset import Measurement
from ecolint.penalties import Penalty, PenaltyGroup, PenaltyPair
from ecolint.rule_schema import RuleError

if TYPE_CHECKING:
    from ecolint.rules import Rule

CALIBRATION_KEYS = frozenset({"label", "row", "baseline", "min_params_b", "max_params_b", "fix"})


def calibration_specs(code: str, raw: Any) -> list[dict]:
    """A rule file's ``calibration`` entries, checked."""
    specs = list(raw or [])
    for spec in specs:
        unknown = set(spec) - CALIBRATION_KEYS
        if unknown or not {"label", "row", "baseline"} <= set(spec):
            raise RuleError(f"{code}: calibration entries need label, row and baseline (got {sorted(spec)})")
    return specs


def _matches(row: Measurement, wanted: dict) -> bool:
    return all(str(getattr(row, key)) == str(value) for key, value in wanted.items())


def calibrated_penalty(rule: Rule, rows: list[Measurement], source: str) -> Penalty | None:
    """The rule's penalty computed from a user's calibration rows, or None when they do not cover it.

    Each calibration entry of the rule file names the configuration (``row``) and its baseline: a
    pair is two rows of the same GPU and model that differ only in what the entry names.
    """
    groups = []
    for spec in rule.calibration:
        varied = set(spec["row"]) | set(spec["baseline"])
        same = [key for key in ("gpu", "model_id", "precision", "batch_size") if key not in varied]
        pairs = []
        for row in rows:
            if not _matches(row, spec["row"]) or not gross_energy_j_per_1k(row):
                continue
            size = row.params_b
            if size is not None and not (spec.get("min_params_b", 0) <= size <= spec.get("max_params_b", float("inf"))):
                continue
            for base in rows:
                if (
                    base is not row
                    and _matches(base, spec["baseline"])
                    and gross_energy_j_per_1k(base)
                    and all(getattr(base, key) == getattr(row, key) for key in same)
                ):
                    pairs.append(PenaltyPair(row, base))
        if pairs:
            groups.append(PenaltyGroup(str(spec["label"]), tuple(pairs), bool(spec.get("fix", False))))
    if not groups:
        return None
    unit = rule.penalty.unit if rule.penalty and rule.penalty.measured else "energy per generated token"
    return Penalty(True, unit, tuple(groups), f"Computed from the calibration file {source}.", source)
