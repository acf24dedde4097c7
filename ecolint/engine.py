"""Lint one source text: prefilter, parse once, collect facts, run the selected checks."""

from __future__ import annotations

import ast
import sys
import warnings
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ecolint.config import DEFAULT_FIX_BATCH_SIZE
from ecolint.diagnostics import IO_ERROR, SYNTAX_ERROR, Diagnostic, Location
from ecolint.prefilter import could_match, matching_codes

TOO_DEEP = "too deeply nested to analyze"
ANALYSIS_RECURSION_LIMIT = 4000  # about 5 frames per nesting level of the tree; small enough for the C stack
MAX_NESTING = 500  # deeper syntax trees are not analyzed (E999): libcst's time grows with the square of the depth

if TYPE_CHECKING:  # loaded on first use: a file the prefilter rejects never imports libcst or the rules
    import libcst as cst

    from ecolint.analysis.facts import ModuleFacts
    from ecolint.diagnostics import Finding
    from ecolint.energy.dataset import GpuSpec
    from ecolint.penalties import Penalty
    from ecolint.rules import Rule


@dataclass(frozen=True)
class LintOptions:
    """The part of the settings that decides what one file's diagnostics are."""

    codes: frozenset[str]
    rule_options: tuple[tuple[str, tuple[tuple[str, Any], ...]], ...] = ()
    gpu: GpuSpec | None = None
    calibration: str | None = None  # a calibration file whose rows give the penalties
    calibration_digest: str = ""  # its content hash, so that cached results follow its changes
    practices: bool = False  # also report the good practices (the audit report asks for them)
    project_root: str | None = None  # the project whose own modules cross-module facts may read
    # The project's pinned library versions (project_versions.ProjectVersions); None: read from the
    # pin files above each linted file.
    versions: Any = None
    fix_batch_size: int = DEFAULT_FIX_BATCH_SIZE  # the batch size batching fixes write (fix-batch-size)
    fixes: bool = True  # whether diagnostics carry their fixes (the flake8 plugin shows none)
    transformers_version: str | None = None  # the transformers-version setting (else the pin, else installed)

    def rules(self) -> dict[str, Rule]:
        from ecolint.rules import rules_for

        return rules_for(self.calibration)

    def penalties(self) -> dict[str, Penalty | None]:
        """Each rule's penalty (calibrated when the options name a calibration), by code."""
        return {code: rule.penalty for code, rule in self.rules().items()}

    def versions_for(self, path: Path | None):
        """The pins that apply to the file at ``path`` (those given in the options, else the project's)."""
        from ecolint.project_versions import versions_for_file, with_transformers_target

        versions = self.versions if self.versions is not None else versions_for_file(path)
        return with_transformers_target(versions, self.transformers_version)

    def options_for(self) -> dict[str, dict[str, Any]]:
        return {code: dict(values) for code, values in self.rule_options}


@dataclass
class Analysis:
    """What one pass over a source text found: diagnostics, and good practices when asked for."""

    diagnostics: list[Diagnostic] = field(default_factory=list)
    practices: list[tuple[int, int | None, str]] = field(default_factory=list)  # (row, notebook cell, text)
    uses: dict[str, str] = field(default_factory=dict)  # project modules read, with their content hashes


def file_error(filename: str, message: str, row: int = 1, column: int = 1, code: str = IO_ERROR) -> Diagnostic:
    name = "syntax-error" if code == SYNTAX_ERROR else "io-error"
    return Diagnostic(code, name, message, filename, Location(row, column), Location(row, column), "error")


def lint_text(source: str, filename: str, options: LintOptions, path: Path | None = None,
              module: cst.Module | None = None) -> list[Diagnostic]:
    """Diagnostics for one source text, ``# noqa`` applied, sorted by position."""
    return analyze_text(source, filename, options, path, module).diagnostics


def analyze_text(source: str, filename: str, options: LintOptions, path: Path | None = None,
                 module: cst.Module | None = None) -> Analysis:
    """One pass over a source text: prefilter, parse once, facts, checks (and practices when asked).

    A text nested too deeply for the analysis (it recurses over the syntax tree) gets one E999
    diagnostic instead of stopping the run."""
    try:
        with _recursion_limit(ANALYSIS_RECURSION_LIMIT):
            return _analyze(source, filename, options, path, module)
    except RecursionError:
        return Analysis([too_deeply_nested(filename)])


@contextmanager
def _recursion_limit(limit: int):
    """Python's recursion limit raised to at least ``limit`` for the duration (long ``a + b + ...`` chains)."""
    before = sys.getrecursionlimit()
    sys.setrecursionlimit(max(before, limit))
    try:
        yield
    finally:
        sys.setrecursionlimit(before)


def too_deeply_nested(filename: str) -> Diagnostic:
    return file_error(filename, f"SyntaxError: {TOO_DEEP}", 1, 1, SYNTAX_ERROR)


def _analyze(source: str, filename: str, options: LintOptions, path: Path | None,
             module: cst.Module | None) -> Analysis:
    matched = matching_codes(source, frozenset(options.codes))  # codes that are not rules' are left out there
    wanted = bool(matched)
    imported = _ImportedText(source, path, options)
    by_imports = False
    if not wanted and imported.may_be_read():
        wanted = by_imports = _imports_may_matter(source, imported)
    practices = options.practices and _practice_hints().search(source) is not None
    checks: list[str] = []
    summary = None
    if wanted:
        from ecolint.checks import CHECKS

        checks = [code for code in sorted(options.codes) if code in CHECKS]
        if not by_imports:  # only the checks whose triggers the text (or what it imports) has
            checks = _triggered(checks, matched, source, imported)
        if checks and module is None:  # CPython's tree tells which of them can fire before libcst parses
            from ecolint.candidates import possible

            tree, _ = _parse_python(source, filename)
            if tree is not None:
                summary = _summarize(tree)
                if summary is not None:
                    project = imported.found() if imported.may_be_read() else None
                    if project is None:
                        checks = possible(checks, summary, "", options.gpu is not None)
                    else:
                        checks = possible(checks, summary, imported.text(), options.gpu is not None,
                                          project.functions, project.assignments)
        wanted = bool(checks)
    if not wanted and not practices:
        if summary is not None:  # it parsed; a tree too deep to analyze is reported as when libcst was used
            return Analysis([too_deeply_nested(filename)] if summary.depth > MAX_NESTING else [])
        errors = syntax_errors(source, filename) if SYNTAX_ERROR in options.codes and module is None else []
        if errors and newer_syntax_module(source, errors) is not None:
            errors = []
        return Analysis(errors)
    import libcst as cst
    from libcst.metadata import MetadataWrapper, PositionProvider

    from ecolint.analysis.facts import collect_facts

    masked_first = None
    if module is None:
        if summary is not None:  # parsed by CPython above
            errors = [too_deeply_nested(filename)] if summary.depth > MAX_NESTING else []
        else:
            errors = syntax_errors(source, filename, MAX_NESTING)  # libcst accepts code CPython rejects
            module = newer_syntax_module(source, errors) if errors else None
            errors = [] if module is not None else errors
        if errors and filename.endswith(".py"):
            source, masked_first = _without_ipython_lines(source, filename, errors)
            errors = [] if masked_first is not None else errors
        if errors:
            return Analysis(errors)
        try:
            module = module or cst.parse_module(source)
        except (cst.ParserSyntaxError, RecursionError):
            # CPython has just parsed this text: what libcst refuses is past libcst's own limits (about
            # 5,000 adjacent string literals, which it nests in pairs), not a mistake in the code
            return Analysis([too_deeply_nested(filename)])
    link = None
    if options.project_root is not None and path is not None:
        from ecolint.analysis.project_index import index_for

        link = index_for(options.project_root).link_for(path)
    facts = collect_facts(module, link)
    findings = run_checks(facts, source, path, options, checks) if wanted else []
    uses = dict(link.uses) if link is not None else {}
    first_error = [masked_first] if masked_first is not None else []
    if not findings and not practices:
        return Analysis(first_error, uses=uses)
    positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    analysis = Analysis(first_error, uses=uses)
    if findings:
        # fixes would be computed on the masked text: never offered for it
        diagnostics = to_diagnostics(module, source, filename, findings, options.rules(), positions,
                                     options.versions_for(path), fix_settings(options, path),
                                     options.fixes and masked_first is None)
        analysis.diagnostics = sorted(first_error + diagnostics, key=Diagnostic.sort_key)
    if practices:
        from ecolint.analysis.practices import good_practices

        analysis.practices = [(row, None, text) for row, text in good_practices(facts, module, positions, path)]
    return analysis


class _ImportedText:
    """The text of what a file imports from its own project (``project_index.imported_text``), read once."""

    def __init__(self, source: str, path: Path | None, options: LintOptions) -> None:
        self.source, self.path, self.options = source, path, options
        self._found = None

    def may_be_read(self) -> bool:
        return self.options.project_root is not None and self.path is not None and "import" in self.source

    def found(self):
        if self._found is None:
            from ecolint.analysis.project_index import imported_text, index_for

            self._found = imported_text(index_for(self.options.project_root), self.path.absolute(), self.source)
        return self._found

    def text(self) -> str:
        found = self.found()
        return "\n".join((found.assignments, found.functions, found.loaders))


def _triggered(checks: list[str], matched: frozenset[str], source: str, imported: _ImportedText) -> list[str]:
    """The checks whose own triggers match (``matched``): a check that cannot fire on this text is not run. A
    check that does not match the file alone may still match with the definitions it imports from the project
    (each text that joins them is run through the prefilter once, for all such checks)."""
    found = [code for code in checks if code in matched]
    rest = frozenset(checks) - matched
    if rest and imported.may_be_read():
        from ecolint.analysis.project_index import may_matter

        joined: dict[str, frozenset[str]] = {}

        def matches_with_imports(text: str, code: str) -> bool:
            if text not in joined:
                joined[text] = matching_codes(text, rest)
            return code in joined[text]

        found += [code for code in sorted(rest)
                  if may_matter(imported.found(), source, lambda text, code=code: matches_with_imports(text, code))]
    return sorted(found)


def _imports_may_matter(source: str, imported: _ImportedText) -> bool:
    """Whether what the file imports from its own project (a config, a generating helper) may make a rule
    fire: the prefilter on the file's text together with the imported definitions' text."""
    from ecolint.analysis.project_index import may_matter

    codes = frozenset(imported.options.codes)
    return may_matter(imported.found(), source, lambda text: could_match(text, codes))


def _without_ipython_lines(source: str, filename: str, errors: list[Diagnostic]) -> tuple[str, Diagnostic | None]:
    """A notebook export that fails to parse only because of IPython lines: the source with them masked
    and the E999 of the first one; else the source unchanged and None."""
    from ecolint.ipython_lines import masked

    found = masked(source)
    if found is None:
        return source, None
    text, first = found
    if syntax_errors(text, filename, MAX_NESTING):
        return source, None
    return text, file_error(filename, "SyntaxError: IPython syntax (the file is linted with such lines masked)",
                            first, 1, SYNTAX_ERROR)


def _practice_hints():
    """The text a file must contain before it is parsed for good practices (the audit report only)."""
    from ecolint.analysis.practices import PRACTICE_HINTS

    return PRACTICE_HINTS


def syntax_errors(source: str, filename: str, max_nesting: int | None = None) -> list[Diagnostic]:
    """E999 from CPython's own parser: for a file no rule needs to parse (it is much cheaper than libcst),
    and before libcst parses one, as libcst accepts code CPython cannot compile (over 200 nested brackets)
    and takes quadratic time on very deep trees (``max_nesting``: the deepest tree analyzed)."""
    if max_nesting is None and _parses(source, filename):
        return []
    tree, errors = _parse_python(source, filename)
    if tree is None:
        return errors
    try:
        if max_nesting is not None and nesting_depth(tree) > max_nesting:
            return [too_deeply_nested(filename)]
    except RecursionError:
        return [too_deeply_nested(filename)]
    return []


def newer_syntax_module(source: str, errors: list[Diagnostic]):
    """libcst's tree of a text the running interpreter's parser refuses, when libcst's grammar (Python 3.0
    to 3.14: PEP 701 f-strings, type parameters, t-strings) reads it: code written for a newer Python is
    checked, as Ruff checks it. None when libcst refuses it too (the E999 stays), and for a text refused
    for its nesting, which libcst would accept and analyze in quadratic time."""
    if not errors or any(NESTING_ERROR in error.message or TOO_DEEP in error.message for error in errors):
        return None
    import libcst as cst

    try:
        return cst.parse_module(source)
    except (cst.ParserSyntaxError, RecursionError, MemoryError):
        return None


NESTING_ERROR = "too many nested parentheses"  # CPython's tokenizer: over 200 open brackets


def _parse_python(source: str, filename: str) -> tuple[ast.AST | None, list[Diagnostic]]:
    """CPython's syntax tree of the source, or None and its E999."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # SyntaxWarnings about the user's code are not ecolint's to print
            return ast.parse(source, filename), []
    except SyntaxError as error:
        return None, [file_error(filename, f"SyntaxError: {error.msg}", error.lineno or 1, error.offset or 1,
                                 SYNTAX_ERROR)]
    except RecursionError:
        return None, [too_deeply_nested(filename)]
    except (ValueError, MemoryError) as error:
        return None, [file_error(filename, f"SyntaxError: {error}", 1, 1, SYNTAX_ERROR)]


def _parses(source: str, filename: str) -> bool:
    """Whether CPython's parser accepts the text, asked without building a syntax tree of Python objects: the
    symbol table is built from the parser's own tree, about 30% less CPU than ``ast.parse`` over a large
    project. False also where the symbol table refuses what ``ast.parse`` accepts (``nonlocal`` at module
    level): the caller then asks ``ast.parse``, whose answer is the diagnostic."""
    import symtable

    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            symtable.symtable(source, filename, "exec")
        return True
    except (SyntaxError, RecursionError, ValueError, MemoryError):
        return False


def _summarize(tree: ast.AST):
    """The pre-pass's summary of a tree, or None when walking it runs out of stack."""
    from ecolint.candidates import summarize

    try:
        return summarize(tree)
    except RecursionError:
        return None


def nesting_depth(tree: ast.AST) -> int:
    """How deep the syntax tree goes (walked without recursion)."""
    deepest, stack = 0, [(tree, 0)]
    while stack:
        node, depth = stack.pop()
        deepest = max(deepest, depth)
        stack.extend([(child, depth + 1) for child in ast.iter_child_nodes(node)])
    return deepest


def fix_settings(options: LintOptions, path: Path | None):
    """What the fixes of one file read from the options: the GPU, the batch size, the file's folder."""
    from ecolint.fixes.context import FixSettings

    return FixSettings(options.gpu, options.fix_batch_size, (path.parent,) if path is not None else ())


def run_checks(facts: ModuleFacts, source: str, path: Path | None, options: LintOptions,
               checks: list[str]) -> list[Finding]:
    from ecolint.checks import CHECKS, CheckContext

    context = CheckContext(facts, source, path, options.rules(), options.options_for(), options.gpu,
                           versions=options.versions_for(path))
    findings: list[Finding] = []
    for code in checks:
        findings.extend(CHECKS[code](context))
    return findings


def to_diagnostics(
    module: cst.Module, source: str, filename: str, findings: list[Finding], rules: dict[str, Rule] | None = None,
    positions=None, versions=None, settings=None, with_fixes: bool = True,
) -> list[Diagnostic]:
    """The findings as diagnostics, ``# noqa`` applied; with their fixes unless ``with_fixes`` is off (the
    fixers run, and the fixed code is parsed, only for outputs that show or apply fixes)."""
    from libcst.metadata import MetadataWrapper, PositionProvider

    import ecolint.checks  # noqa: F401  (the rule modules register their fixers)
    from ecolint.codes import warn_legacy
    from ecolint.fixes.registry import fixes_for  # the fixers are loaded only for files with findings
    from ecolint.noqa import parse_suppressions
    from ecolint.rules import all_rules

    if positions is None:
        positions = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    suppressions = parse_suppressions(source)
    for row, code in suppressions.legacy:
        warn_legacy(code, f"{filename}:{row}")
    rules = rules or all_rules()
    seen: set[tuple[str, int, int]] = set()
    kept = []
    for finding in findings:
        span = positions[finding.node]
        row, column = span.start.line, span.start.column + 1
        if (finding.code, row, column) in seen or suppressions.suppresses(finding.code, row):
            continue
        seen.add((finding.code, row, column))
        kept.append((finding, span))
    fixes = fixes_for(module, source, positions, versions, settings)([finding for finding, _ in kept]) if with_fixes \
        else [None] * len(kept)
    diagnostics = []
    for (finding, span), fix in zip(kept, fixes):
        rule: Rule = rules[finding.code]
        diagnostics.append(Diagnostic(
            code=rule.code,
            name=rule.name,
            message=rule.format_message(finding.context),
            filename=filename,
            location=Location(span.start.line, span.start.column + 1),
            end_location=Location(span.end.line, span.end.column + 1),
            severity=finding.severity or rule.severity,
            penalty=rule.penalty,
            evidence=rule.penalty.rows() if rule.penalty else [],
            fix=fix,
            url=rule.url,
        ))
    diagnostics.sort(key=Diagnostic.sort_key)
    return diagnostics
