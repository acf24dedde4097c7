"""Lint one source text: prefilter, parse once, collect facts, run the selected checks."""

from __future__ import annotations

import ast
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from ecolint.analysis.facts import ModuleFacts, collect_facts
from ecolint.analysis.practices import PRACTICE_HINTS, good_practices
from ecolint.checks import CHECKS, CheckContext
from ecolint.diagnostics import Diagnostic, Finding, Location
from ecolint.energy.dataset import GpuSpec
from ecolint.codes import warn_legacy
from ecolint.noqa import parse_suppressions
from ecolint.prefilter import could_match
from ecolint.rules import IO_ERROR, SYNTAX_ERROR, Rule, all_rules, rules_for


@dataclass(frozen=True)
class LintOptions:
    """The part of the settings that decides what one file's diagnostics are."""

    codes: frozenset[str]
    rule_options: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...] = ()
    gpu: GpuSpec | None = None
    calibration: str | None = None  # a calibration file whose rows give the penalties
    calibration_digest: str = ""  # its content hash, so that cached results follow its changes
    practices: bool = False  # also report the good practices (the audit report asks for them)

    def rules(self) -> dict[str, Rule]:
        return rules_for(self.calibration)

    def options_for(self) -> dict[str, dict[str, Any]]:
        return {code: dict(values) for code, values in self.rule_options}


@dataclass
class Analysis:
    """What one pass over a source text found: diagnostics, and good practices when asked for."""

    diagnostics: list[Diagnostic] = field(default_factory=list)
    practices: list[tuple[int, int | None, str]] = field(default_factory=list)  # (row, notebook cell, text)


def file_error(filename: str, message: str, row: int = 1, column: int = 1, code: str = IO_ERROR) -> Diagnostic:
    name = "syntax-error" if code == SYNTAX_ERROR else "io-error"
    return Diagnostic(code, name, message, filename, Location(row, column), Location(row, column), "error")


def lint_text(source: str, filename: str, options: LintOptions, path: Path | None = None,
              module: cst.Module | None = None) -> list[Diagnostic]:
    """Diagnostics for one source text, ``# noqa`` applied, sorted by position."""
    return analyze_text(source, filename, options, path, module).diagnostics


def analyze_text(source: str, filename: str, options: LintOptions, path: Path | None = None,
                 module: cst.Module | None = None) -> Analysis:
    """One pass over a source text: prefilter, parse once, facts, checks (and practices when asked)."""
    checks = [code for code in sorted(options.codes) if code in CHECKS]
    wanted = bool(checks) and could_match(source, frozenset(checks))
    practices = options.practices and PRACTICE_HINTS.search(source) is not None
    if not wanted and not practices:
        errors = syntax_errors(source, filename) if SYNTAX_ERROR in options.codes and module is None else []
        return Analysis(errors)
    if module is None:
        try:
            module = cst.parse_module(source)
        except cst.ParserSyntaxError as error:
            return Analysis([file_error(filename, f"SyntaxError: {error.message}", error.raw_line,
                                        error.raw_column + 1, SYNTAX_ERROR)])
        except RecursionError:
            return Analysis([file_error(filename, "SyntaxError: too deeply nested to parse", 1, 1, SYNTAX_ERROR)])
    facts = collect_facts(module)
    findings = run_checks(facts, source, path, options, checks) if wanted else []
    if not findings and not practices:
        return Analysis()
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    analysis = Analysis()
    if findings:
        analysis.diagnostics = to_diagnostics(module, source, filename, findings, options.rules(), positions)
    if practices:
        analysis.practices = [(row, None, text) for row, text in good_practices(facts, module, positions, path)]
    return analysis


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


def run_checks(facts: ModuleFacts, source: str, path: Path | None, options: LintOptions,
               checks: list[str]) -> list[Finding]:
    context = CheckContext(facts, source, path, options.rules(), options.options_for(), options.gpu)
    findings: list[Finding] = []
    for code in checks:
        findings.extend(CHECKS[code](context))
    return findings


def to_diagnostics(
    module: cst.Module, source: str, filename: str, findings: list[Finding], rules: dict[str, Rule] | None = None,
    positions=None,
) -> list[Diagnostic]:
    from ecolint.fixes.registry import fixes_for  # the fixers are loaded only for files with findings

    if positions is None:
        positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    fix_for = fixes_for(module, source, positions)
    suppressions = parse_suppressions(source)
    for row, code in suppressions.legacy:
        warn_legacy(code, f"{filename}:{row}")
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
