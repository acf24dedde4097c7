"""Lint one source text: prefilter, parse once, collect facts, run the selected checks."""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from ecolint.analysis.facts import collect_facts
from ecolint.checks import CHECKS, CheckContext
from ecolint.diagnostics import Diagnostic, Finding, Location
from ecolint.energy.dataset import GpuSpec
from ecolint.noqa import parse_suppressions
from ecolint.rules import IO_ERROR, SYNTAX_ERROR, Rule, all_rules

# Text a file must contain before it is parsed for a rule: every pattern of one entry must match.
TRIGGERS: dict[str, tuple[tuple[str, ...], ...]] = {
    "ECO101": (("load_in_8bit",),),
    "ECO102": (("load_in_4bit", "from_pretrained|pipeline"),),
    "ECO103": (("load_in_[48]bit", "from_pretrained|pipeline"),),
    "ECO104": (("load_in_8bit", "load_in_4bit"),),
    "ECO105": (("bnb_4bit_",),),
    "ECO106": (("load_in_[48]bit", "from_pretrained|pipeline"),),
    "ECO107": (("from_pretrained|pipeline",),),
    "ECO201": ((r"\.generate|pipeline", r"\bfor\b|\bwhile\b"),),
    "ECO202": (("batch_size|DataLoader",),),
    "ECO301": (("use_cache",),),
    "ECO302": ((r"\.generate|pipeline", r"\bfor\b|\bwhile\b"),),
    "ECO303": ((r"float32|\.float\b|[\"']float[\"']|fp32", "from_pretrained|pipeline"),),
}


@dataclass(frozen=True)
class LintOptions:
    """The part of the settings that decides what one file's diagnostics are."""

    codes: frozenset[str]
    rule_options: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...] = ()
    gpu: GpuSpec | None = None

    def options_for(self) -> dict[str, dict[str, Any]]:
        return {code: dict(values) for code, values in self.rule_options}


@dataclass
class FileResult:
    diagnostics: list[Diagnostic] = field(default_factory=list)


class SourceError(Exception):
    """A file that cannot be read as Python source (binary, bad encoding)."""


def decode_source(data: bytes) -> str:
    """Source bytes to text, honouring a BOM and a PEP 263 coding declaration."""
    if b"\x00" in data:
        raise SourceError("binary file (contains NUL bytes), not Python source")
    try:
        encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    except SyntaxError as error:
        raise SourceError(f"bad encoding declaration: {error.msg}") from None
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as error:
        reason = error.reason if isinstance(error, UnicodeDecodeError) else str(error)
        raise SourceError(f"cannot decode as {encoding}: {reason}") from None


_compiled: dict[frozenset[str], list[list[re.Pattern]]] = {}


def could_match(source: str, codes: frozenset[str]) -> bool:
    """The cheap text prefilter: False means no selected rule can fire on this file."""
    groups = _compiled.get(codes)
    if groups is None:
        groups = [[re.compile(pattern) for pattern in entry] for code in codes for entry in TRIGGERS.get(code, ())]
        _compiled[codes] = groups
    return any(all(pattern.search(source) for pattern in group) for group in groups)


def file_error(filename: str, message: str, row: int = 1, column: int = 1, code: str = IO_ERROR) -> Diagnostic:
    name = "syntax-error" if code == SYNTAX_ERROR else "io-error"
    return Diagnostic(code, name, message, filename, Location(row, column), Location(row, column), "error")


def lint_text(source: str, filename: str, options: LintOptions, path: Path | None = None,
              module: cst.Module | None = None) -> list[Diagnostic]:
    """Diagnostics for one source text, ``# noqa`` applied, sorted by position."""
    checks = [code for code in sorted(options.codes) if code in CHECKS]
    if not checks or not could_match(source, frozenset(checks)):
        return []
    if module is None:
        try:
            module = cst.parse_module(source)
        except cst.ParserSyntaxError as error:
            return [file_error(filename, f"SyntaxError: {error.message}", error.raw_line,
                               error.raw_column + 1, SYNTAX_ERROR)]
        except RecursionError:
            return [file_error(filename, "SyntaxError: too deeply nested to parse", 1, 1, SYNTAX_ERROR)]
    findings = run_checks(module, source, path, options, checks)
    if not findings:
        return []
    return to_diagnostics(module, source, filename, findings)


def run_checks(module: cst.Module, source: str, path: Path | None, options: LintOptions,
               checks: list[str]) -> list[Finding]:
    facts = collect_facts(module)
    context = CheckContext(facts, source, path, all_rules(), options.options_for(), options.gpu)
    findings: list[Finding] = []
    for code in checks:
        findings.extend(CHECKS[code](context))
    return findings


def to_diagnostics(module: cst.Module, source: str, filename: str, findings: list[Finding]) -> list[Diagnostic]:
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    suppressions = parse_suppressions(source)
    rules = all_rules()
    seen: set[tuple[str, int, int]] = set()
    diagnostics = []
    for finding in findings:
        span = positions[finding.node]
        row, column = span.start.line, span.start.column + 1
        if (finding.code, row, column) in seen or suppressions.suppresses(finding.code, row):
            continue
        seen.add((finding.code, row, column))
        rule: Rule = rules[finding.code]
        diagnostics.append(Diagnostic(
            code=rule.code,
            name=rule.name,
            message=rule.format_message(finding.context),
            filename=filename,
            location=Location(row, column),
            end_location=Location(span.end.line, span.end.column + 1),
            severity=rule.severity,
            penalty=rule.penalty.to_dict() if rule.penalty else None,
            evidence=rule.penalty.rows() if rule.penalty else [],
            fix=None,
            url=rule.url,
        ))
    diagnostics.sort(key=Diagnostic.sort_key)
    return diagnostics
