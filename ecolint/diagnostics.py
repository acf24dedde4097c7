"""Findings (what a check saw) and diagnostics (what ecolint reports)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:  # libcst is loaded only when a file is parsed; the penalties only when a rule reports
    import libcst as cst

    from ecolint.penalties import Penalty

# Codes reported by the engine itself rather than by a rule file.
SYNTAX_ERROR = "E999"
IO_ERROR = "E902"


@dataclass(eq=False)
class Finding:
    """A check's result: a rule code, the node it concerns, and values for the rule's message."""

    code: str
    node: cst.CSTNode
    context: dict[str, Any] = field(default_factory=dict)
    subject: Any = None  # the fact behind the finding (QuantConfig, ModelLoad, Entry, ...), for fixes
    severity: str | None = None  # overrides the rule's severity for this finding (e.g. by the pinned version)


@dataclass(frozen=True)
class Location:
    row: int  # 1-based
    column: int  # 1-based


@dataclass
class Diagnostic:
    """One reported problem, in the shape every output format starts from."""

    code: str
    name: str
    message: str
    filename: str
    location: Location
    end_location: Location
    severity: str
    penalty: Penalty | None = None  # the rule's measured penalty, typed; JSON gets its to_dict()
    evidence: list[str] = field(default_factory=list)
    fix: dict | None = None
    url: str | None = None
    cell: int | None = None
    # A fix that only ``--unsafe-fixes`` would apply: not shown as ``fix`` (so not ``[*]``), but named by
    # the outputs that describe fixes. Not part of the JSON shape.
    hidden_fix: dict | None = field(default=None, compare=False, repr=False)

    @property
    def fixable(self) -> bool:
        return self.fix is not None

    def sort_key(self) -> tuple:
        return (self.filename, self.cell or 0, self.location.row, self.location.column, self.code)

    def to_dict(self) -> dict:
        return {
            "code": self.code,
            "name": self.name,
            "message": self.message,
            "filename": self.filename,
            "location": {"row": self.location.row, "column": self.location.column},
            "end_location": {"row": self.end_location.row, "column": self.end_location.column},
            "severity": self.severity,
            "fix": self.fix,
            "url": self.url,
            "penalty": self.penalty.to_dict() if self.penalty is not None else None,
            "evidence": list(self.evidence),
            "cell": self.cell,
        }

    @classmethod
    def from_dict(cls, data: dict, penalties: Mapping[str, Penalty | None]) -> "Diagnostic":
        """A diagnostic from its JSON shape (a worker's or the cache's report); its penalty is the rule's own,
        from ``penalties`` (by code), so that reporters get the typed value."""
        return cls(
            code=data["code"],
            name=data["name"],
            message=data["message"],
            filename=data["filename"],
            location=Location(**data["location"]),
            end_location=Location(**data["end_location"]),
            severity=data["severity"],
            penalty=penalties.get(data["code"]) if data.get("penalty") is not None else None,
            evidence=list(data.get("evidence") or []),
            fix=data.get("fix"),
            url=data.get("url"),
            cell=data.get("cell"),
        )
