"""Rules: loaded from the shipped ``rules/*.yaml`` files, with penalties computed from the data.

A rule file holds the code, name, severity, default state, message template, the prefilter's
triggers, the penalty as pairs of measurement rows (a configuration and its baseline), docs
sections, tested examples and fix applicability. The jobs live in their own modules: the schema
(``rule_schema``), penalty arithmetic (``penalties``), calibration (``rule_calibration``) and the
Markdown (``rule_docs``); this module builds ``Rule`` objects and is what the rest imports.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from functools import lru_cache
from pathlib import Path
from typing import Any

from ecolint.advice import expand_all
from ecolint.diagnostics import IO_ERROR, SYNTAX_ERROR
from ecolint.energy.dataset import Measurement, measurements
from ecolint.penalties import GPU_DISPLAY, Penalty, PenaltyGroup, PenaltyPair, parse_penalty
from ecolint.rule_calibration import calibrated_penalty, calibration_specs
from ecolint.rule_docs import DOC_SECTIONS, documentation, example_markdown
from ecolint.rule_schema import APPLICABILITIES, SEVERITIES, RuleError, placeholders, rule_data, validate

__all__ = [
    "APPLICABILITIES", "DOC_SECTIONS", "GPU_DISPLAY", "IO_ERROR", "SEVERITIES", "SYNTAX_ERROR", "Example",
    "Penalty", "PenaltyGroup", "PenaltyPair", "Rule", "RuleError", "all_rules", "calibrated_penalty",
    "parse_rule", "rules_for",
]

# Tests set this: a message placeholder with no value in a finding's context raises RuleError
# instead of printing as an empty string.
STRICT_PLACEHOLDERS = False


@dataclass(frozen=True)
class Example:
    """Code from a rule file's ``examples``: tested (invalid ones fire, valid ones do not) and shown in the docs."""

    code: str
    valid: bool
    note: str = ""  # the words that introduce it in the docs ("Use instead, <note>:")
    gpu: str | None = None  # linted as deployed on this GPU (--gpu)
    shown: bool = True  # False: tested only, not shown in the docs


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
    examples: tuple[Example, ...] = ()
    calibration: tuple[dict, ...] = ()  # which calibration rows give this rule's penalty

    @property
    def fixable(self) -> bool:
        return self.fix_applicability in ("safe", "unsafe")

    @property
    def url(self) -> str:
        return f"docs/rules/{self.code}.md"

    @property
    def examples_valid(self) -> tuple[str, ...]:
        return tuple(example.code for example in self.examples if example.valid)

    @property
    def examples_invalid(self) -> tuple[str, ...]:
        return tuple(example.code for example in self.examples if not example.valid)

    def penalty_text(self) -> str:
        if self.penalty is None:
            return "not an energy measurement"
        return self.penalty.describe()

    def missing_placeholders(self, context: dict[str, Any]) -> list[str]:
        """The message's placeholders that ``context`` gives no value for (``penalty`` always has one)."""
        return [name for name in placeholders(self.message) if name != "penalty" and name not in context]

    def format_message(self, context: dict[str, Any]) -> str:
        if STRICT_PLACEHOLDERS and self.missing_placeholders(context):
            missing = ", ".join(self.missing_placeholders(context))
            raise RuleError(f"{self.code}: the finding gives no value for the message placeholder(s) {missing}")
        values = {"penalty": self.penalty_text(), **context}
        return self.message.format_map(_Blank(values)).strip()

    def documentation(self) -> str:
        """The rule's documentation as Markdown (``ecolint rule CODE``)."""
        return documentation(self)

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


def parse_rule(data: dict, rows: dict[str, Measurement] | None = None) -> Rule:
    """A ``Rule`` from a rule file's data (see ``rule_schema``), penalties looked up in ``rows``."""
    data = expand_all(data)
    validate(data)
    rows = measurements() if rows is None else rows
    code = str(data["code"])
    fix = data["fix"] or {}
    examples = _examples(data.get("examples") or {})
    return Rule(
        code=code,
        name=str(data["name"]),
        summary=str(data["summary"]).strip(),
        severity=data["severity"],
        default_enabled=bool(data["default"]),
        message=" ".join(str(data["message"]).split()),
        penalty=parse_penalty(code, data.get("penalty"), rows),
        fix_applicability=fix.get("applicability", "none"),
        fix_title=str(fix.get("title", "")),
        docs=_docs(data["docs"] or {}, example_markdown(examples)),
        options=dict(data.get("options") or {}),
        examples=examples,
        calibration=tuple(calibration_specs(code, data.get("calibration"))),
    )


def _examples(raw: dict) -> tuple[Example, ...]:
    found = []
    for kind, valid in (("invalid", False), ("valid", True)):
        for entry in raw.get(kind) or ():
            entry = {"code": entry} if isinstance(entry, str) else entry
            found.append(Example(entry["code"], valid, str(entry.get("note", "")), entry.get("gpu"),
                                 bool(entry.get("docs", True))))
    return tuple(found)


def _docs(raw: dict, example: str) -> dict[str, str]:
    """The docs sections, with the Example rendered from the examples after "Why is this bad?"."""
    items = [(str(key), str(value)) for key, value in raw.items()]
    if example:
        keys = [key for key, _ in items]
        at = keys.index("why_bad") + 1 if "why_bad" in keys else len(items)
        items.insert(at, ("example", example))
    return dict(items)


@lru_cache(maxsize=8)
def rules_for(calibration: str | None = None) -> dict[str, Rule]:
    """The rules, with penalties from a calibration file where it covers them."""
    if calibration is None:
        return all_rules()
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
    return {code: parse_rule(data) for code, data in rule_data().items()}
