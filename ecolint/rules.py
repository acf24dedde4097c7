"""Rules: loaded from the shipped ``rules/*.yaml`` files, with penalties computed from the data.

A rule file holds the code, name, severity, default state, message template, the penalty as
pairs of measurement rows (a configuration and its baseline), docs sections, examples and fix
applicability. No figure lives in Python code: percentages are computed here from the rows.
"""

from __future__ import annotations

import string
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from typing import Any

import yaml

from ecolint.energy.dataset import Measurement, measurements

DOC_SECTIONS = (
    ("what_it_does", "What it does"),
    ("why_bad", "Why is this bad?"),
    ("example", "Example"),
    ("fix_safety", "Fix safety"),
)
SEVERITIES = ("error", "warning", "info")
APPLICABILITIES = ("safe", "unsafe", "display", "none")
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


class RuleError(ValueError):
    """A rule file that does not follow the schema."""


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
                    "pairs": [
                        {
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
                        for pair in group.pairs
                    ],
                }
                for group in self.groups
            ],
        }


@dataclass(frozen=True)
class Rule:
    code: str
    name: str
    summary: str
    severity: str
    default_enabled: bool
    message: str
    penalty: Penalty | None
    fix_applicability: str
    fix_title: str
    docs: dict[str, str]
    options: dict[str, Any] = field(default_factory=dict)
    examples_valid: tuple[str, ...] = ()
    examples_invalid: tuple[str, ...] = ()
    calibration: tuple[dict, ...] = ()  # which calibration rows give this rule's penalty

    @property
    def fixable(self) -> bool:
        return self.fix_applicability in ("safe", "unsafe")

    @property
    def url(self) -> str:
        return f"docs/rules/{self.code}.md"

    def penalty_text(self) -> str:
        if self.penalty is None:
            return "not an energy measurement"
        return self.penalty.describe()

    def format_message(self, context: dict[str, Any]) -> str:
        values = {"penalty": self.penalty_text(), **context}
        return self.message.format_map(_Blank(values)).strip()

    def documentation(self) -> str:
        """The rule's documentation as Markdown (``ecolint rule CODE``)."""
        lines = [f"# {self.name} ({self.code})", "", self.summary, ""]
        state = "on" if self.default_enabled else "off (enable with --select or --extend-select)"
        fix = {"safe": "safe fix available", "unsafe": "unsafe fix available (--unsafe-fixes)"}.get(
            self.fix_applicability, "no automatic fix"
        )
        lines += [f"Default: {state}. Severity: {self.severity}. Fix: {fix}.", ""]
        for key, heading in DOC_SECTIONS:
            lines += [f"## {heading}", "", self.docs.get(key, "").strip(), ""]
            if key == "why_bad":
                lines += self._penalty_lines()
        for key, text in self.docs.items():
            if key not in dict(DOC_SECTIONS):
                lines += [f"## {key.replace('_', ' ').capitalize()}", "", text.strip(), ""]
        if self.options:
            lines += ["## Options", ""]
            lines += [f"- `{name}` (default `{value}`)" for name, value in self.options.items()]
            lines.append("")
        return "\n".join(lines).rstrip() + "\n"

    def _penalty_lines(self) -> list[str]:
        if self.penalty is None:
            return []
        if not self.penalty.measured:
            return [f"Measured penalty: none yet. {self.penalty.note}".rstrip(), ""]
        lines = [f"Measured penalty ({self.penalty.unit}):", ""]
        lines.append("| case | row | baseline | GPU | model | batch | J/1k tok | baseline J/1k | change |")
        lines.append("|---|---|---|---|---|---|---|---|---|")
        for group in self.penalty.groups:
            for pair in group.pairs:
                row, base = pair.row, pair.baseline
                lines.append(
                    f"| {group.label} | {row.row_id} | {base.row_id} | {GPU_DISPLAY.get(row.gpu, row.gpu)} | "
                    f"{row.model_id} | {row.batch_size} | {row.energy_j_per_1k:g} | {base.energy_j_per_1k:g} | "
                    f"{pair.percent:+.1f}% |"
                )
        lines.append("")
        if self.penalty.note:
            lines += [self.penalty.note.strip(), ""]
        return lines

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "name": self.name,
            "summary": self.summary,
            "severity": self.severity,
            "default_enabled": self.default_enabled,
            "fix": self.fix_applicability,
            "fix_title": self.fix_title,
            "penalty": self.penalty.to_dict() if self.penalty else None,
            "options": dict(self.options),
            "url": self.url,
            "docs": dict(self.docs),
        }


class _Blank(dict):
    def __missing__(self, key: str) -> str:
        return ""


def _penalty(code: str, raw: Any, rows: dict[str, Measurement]) -> Penalty | None:
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


REQUIRED = ("code", "name", "summary", "severity", "default", "message", "fix", "docs")


def parse_rule(data: dict, rows: dict[str, Measurement] | None = None) -> Rule:
    rows = measurements() if rows is None else rows
    missing = [key for key in REQUIRED if key not in data]
    code = data.get("code", "?")
    if missing:
        raise RuleError(f"{code}: missing keys {', '.join(missing)}")
    if data["severity"] not in SEVERITIES:
        raise RuleError(f"{code}: severity must be one of {', '.join(SEVERITIES)}")
    fix = data["fix"] or {}
    if fix.get("applicability", "none") not in APPLICABILITIES:
        raise RuleError(f"{code}: fix applicability must be one of {', '.join(APPLICABILITIES)}")
    for _, field_name, _, _ in string.Formatter().parse(data["message"]):
        if field_name is not None and not field_name.isidentifier():
            raise RuleError(f"{code}: bad message placeholder {field_name!r}")
    examples = data.get("examples") or {}
    return Rule(
        code=str(data["code"]),
        name=str(data["name"]),
        summary=str(data["summary"]).strip(),
        severity=data["severity"],
        default_enabled=bool(data["default"]),
        message=" ".join(str(data["message"]).split()),
        penalty=_penalty(code, data.get("penalty"), rows),
        fix_applicability=fix.get("applicability", "none"),
        fix_title=str(fix.get("title", "")),
        docs={key: str(value) for key, value in (data["docs"] or {}).items()},
        options=dict(data.get("options") or {}),
        examples_valid=tuple(examples.get("valid") or ()),
        examples_invalid=tuple(examples.get("invalid") or ()),
        calibration=tuple(_calibration_specs(code, data.get("calibration"))),
    )


CALIBRATION_KEYS = frozenset({"label", "row", "baseline", "min_params_b", "max_params_b"})


def _calibration_specs(code: str, raw: Any) -> list[dict]:
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
            if not _matches(row, spec["row"]) or row.energy_j_per_1k is None:
                continue
            size = row.params_b
            if size is not None and not (spec.get("min_params_b", 0) <= size <= spec.get("max_params_b", float("inf"))):
                continue
            for base in rows:
                if (
                    base is not row
                    and _matches(base, spec["baseline"])
                    and base.energy_j_per_1k
                    and all(getattr(base, key) == getattr(row, key) for key in same)
                ):
                    pairs.append(PenaltyPair(row, base))
        if pairs:
            groups.append(PenaltyGroup(str(spec["label"]), tuple(pairs)))
    if not groups:
        return None
    unit = rule.penalty.unit if rule.penalty and rule.penalty.measured else "energy per generated token"
    return Penalty(True, unit, tuple(groups), f"Computed from the calibration file {source}.", source)


@lru_cache(maxsize=8)
def rules_for(calibration: str | None = None) -> dict[str, Rule]:
    """The rules, with penalties from a calibration file where it covers them."""
    if calibration is None:
        return all_rules()
    from dataclasses import replace
    from pathlib import Path

    from ecolint.energy.calibration import load_calibration

    rows = load_calibration(calibration)
    name = Path(calibration).name
    rules = {}
    for code, rule in all_rules().items():
        penalty = calibrated_penalty(rule, rows, name)
        rules[code] = replace(rule, penalty=penalty) if penalty is not None else rule
    return rules


@lru_cache(maxsize=None)
def all_rules() -> dict[str, Rule]:
    """Every shipped rule by code, in code order."""
    rules: dict[str, Rule] = {}
    folder = resources.files("ecolint.rule_files")
    for entry in sorted(folder.iterdir(), key=lambda item: item.name):
        if entry.name.endswith(".yaml"):
            rule = parse_rule(yaml.safe_load(entry.read_text(encoding="utf-8")))
            if entry.name != f"{rule.code}.yaml":
                raise RuleError(f"{entry.name}: file name does not match code {rule.code}")
            rules[rule.code] = rule
    return rules


# Codes reported by the engine itself rather than by a rule file.
SYNTAX_ERROR = "E999"
IO_ERROR = "E902"
