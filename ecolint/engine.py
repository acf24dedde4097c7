"""Lint one source text: prefilter, parse once, collect facts, run the selected checks."""

from __future__ import annotations

import ast
import io
import re
import tokenize
import warnings
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
from ecolint.rules import IO_ERROR, SYNTAX_ERROR, Rule, all_rules, rules_for

# Text a file must contain before it is parsed for a rule: every pattern of one entry must match.
# A pattern starting with "code:" counts only on code lines: not in comments or doctest examples.
_GENERATION = "code:" + r"\.generate\(|\bpipeline\(|import[^\n]*\bpipeline\b"
_LOOP = r"\bfor\b|\bwhile\b"
_LOADS = "code:" + r"\b(?:from_pretrained|pipeline)\b"
TRIGGERS: dict[str, tuple[tuple[str, ...], ...]] = {
    "ECO101": (("load_in_8bit",),),
    "ECO102": (("load_in_4bit", _LOADS),),
    "ECO103": (("load_in_[48]bit", _LOADS),),
    "ECO104": (("load_in_8bit", "load_in_4bit"),),
    "ECO105": (("bnb_4bit_",),),
    "ECO106": (("load_in_[48]bit", _LOADS),),
    "ECO107": ((_LOADS,),),
    "ECO201": ((_GENERATION, _LOOP),),
    "ECO202": ((r"(?i:batch\w*)[\"']?\s*[=:]\s*1\b|default\s*=\s*1\b", r"pipeline|DataLoader"),
               (r"DataLoader\(", r"\.generate\(")),
    "ECO301": ((r"\.use_cache\s*=\s*False|use_cache=False|[\"']use_cache[\"']\s*:\s*False",),
               (r"use_cache\s*=\s*(?!use_cache\b)[A-Za-z_]\w*\s*[,)]", r"^\s*[A-Za-z_]\w*\s*=\s*False\s*$")),
    "ECO302": ((_GENERATION, _LOOP),),
    "ECO303": ((r"(?i:dtype)[\"']?\s*[=:]\s*(?:\w+\.float(?:32)?\b|[\"']float(?:32)?[\"'])"
                r"|[=:]\s*\w+\.float32\b|default\s*=\s*[\"']float32", _LOADS),),
}


@dataclass(frozen=True)
class LintOptions:
    """The part of the settings that decides what one file's diagnostics are."""

    codes: frozenset[str]
    rule_options: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...] = ()
    gpu: GpuSpec | None = None
    calibration: str | None = None  # a calibration file whose rows give the penalties
    calibration_digest: str = ""  # its content hash, so that cached results follow its changes

    def rules(self) -> dict[str, Rule]:
        return rules_for(self.calibration)

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
        if "invalid or missing encoding declaration" in str(error):
            raise SourceError("cannot decode as utf-8: the file is not UTF-8 and declares no encoding") from None
        raise SourceError(f"bad encoding declaration: {error.msg}") from None
    try:
        return data.decode(encoding)
    except (UnicodeDecodeError, LookupError) as error:
        reason = error.reason if isinstance(error, UnicodeDecodeError) else str(error)
        raise SourceError(f"cannot decode as {encoding}: {reason}") from None


# A word each rule's triggers need; checked with ``in`` before any regular expression runs.
KEYWORDS: dict[str, tuple[str, ...]] = {
    "ECO101": ("load_in_8bit",), "ECO102": ("load_in_4bit",), "ECO103": ("load_in_",), "ECO104": ("load_in_8bit",),
    "ECO105": ("bnb_4bit_",), "ECO106": ("load_in_",), "ECO107": ("from_pretrained", "pipeline"),
    "ECO201": ("generate(", "pipeline"), "ECO202": ("pipeline", "DataLoader"), "ECO301": ("use_cache",),
    "ECO302": ("generate(", "pipeline"), "ECO303": ("float",),
}
_compiled: dict[frozenset[str], list[tuple[tuple[str, ...], list[re.Pattern]]]] = {}


def could_match(source: str, codes: frozenset[str]) -> bool:
    """The cheap text prefilter: False means no selected rule can fire on this file."""
    groups = _compiled.get(codes)
    if groups is None:
        groups = [(KEYWORDS.get(code, ("",)), [_Pattern(pattern) for pattern in entry])
                  for code in sorted(codes) for entry in TRIGGERS.get(code, ())]
        _compiled[codes] = groups
    return any(
        any(word in source for word in words) and all(pattern.found_in(source) for pattern in patterns)
        for words, patterns in groups
    )


class _Pattern:
    def __init__(self, text: str) -> None:
        self.code_only = text.startswith("code:")
        self.regex = re.compile(text.removeprefix("code:"), re.MULTILINE)

    def found_in(self, source: str) -> bool:
        if not self.code_only:
            return self.regex.search(source) is not None
        for match in self.regex.finditer(source):
            line_start = source.rfind("\n", 0, match.start()) + 1
            before = source[line_start:match.start()]
            if "#" not in before and not before.lstrip().startswith((">>>", "...")):
                return True
        return False


def file_error(filename: str, message: str, row: int = 1, column: int = 1, code: str = IO_ERROR) -> Diagnostic:
    name = "syntax-error" if code == SYNTAX_ERROR else "io-error"
    return Diagnostic(code, name, message, filename, Location(row, column), Location(row, column), "error")


def lint_text(source: str, filename: str, options: LintOptions, path: Path | None = None,
              module: cst.Module | None = None) -> list[Diagnostic]:
    """Diagnostics for one source text, ``# noqa`` applied, sorted by position."""
    checks = [code for code in sorted(options.codes) if code in CHECKS]
    if not checks or not could_match(source, frozenset(checks)):
        return syntax_errors(source, filename) if SYNTAX_ERROR in options.codes and module is None else []
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
    return to_diagnostics(module, source, filename, findings, options.rules())


def syntax_errors(source: str, filename: str) -> list[Diagnostic]:
    """E999 for a file no rule needs to parse: Python's own parser is much cheaper than libcst."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarnings about the user's code are not ecolint's to print
            ast.parse(source, filename)
    except SyntaxError as error:
        return [file_error(filename, f"SyntaxError: {error.msg}", error.lineno or 1, error.offset or 1, SYNTAX_ERROR)]
    except (ValueError, RecursionError, MemoryError) as error:
        return [file_error(filename, f"SyntaxError: {error}", 1, 1, SYNTAX_ERROR)]
    return []


def run_checks(module: cst.Module, source: str, path: Path | None, options: LintOptions,
               checks: list[str]) -> list[Finding]:
    facts = collect_facts(module)
    context = CheckContext(facts, source, path, options.rules(), options.options_for(), options.gpu)
    findings: list[Finding] = []
    for code in checks:
        findings.extend(CHECKS[code](context))
    return findings


def to_diagnostics(
    module: cst.Module, source: str, filename: str, findings: list[Finding], rules: dict[str, Rule] | None = None
) -> list[Diagnostic]:
    from ecolint.fixes.registry import fixes_for  # imported here: the fixes package imports this module

    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    fix_for = fixes_for(module, source, positions)
    suppressions = parse_suppressions(source)
    rules = rules or all_rules()
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
            fix=fix_for(finding),
            url=rule.url,
        ))
    diagnostics.sort(key=Diagnostic.sort_key)
    return diagnostics
