"""Fixing one source text: lint, apply the fixes that apply, repeat until nothing more applies."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from pathlib import Path

from ecolint.config import selector_matches
from ecolint.diagnostics import Diagnostic
from ecolint.engine import LintOptions, lint_text
from ecolint.fixes.edits import Edit, EditError, LineIndex, apply_edits, edits_from_fix, normalize
from ecolint.fixes.registry import parses
from ecolint.fixes.together import EditLayer
from ecolint.rules import SYNTAX_ERROR

MAX_PASSES = 20


@dataclass(frozen=True)
class FixPolicy:
    """Which fixes may be applied: ``unsafe`` ones too or not, and which codes (``fixable``/``unfixable``)."""

    unsafe: bool = False
    fixable: tuple[str, ...] | None = None  # None: every code
    unfixable: tuple[str, ...] = ()

    def code_allowed(self, code: str) -> bool:
        if self.fixable is not None and not selector_matches(code, self.fixable):
            return False
        return not selector_matches(code, self.unfixable)

    def applies(self, diagnostic: Diagnostic) -> bool:
        fix = diagnostic.fix
        if not fix or not self.code_allowed(diagnostic.code):
            return False
        return fix.get("applicability") == "safe" or (self.unsafe and fix.get("applicability") == "unsafe")

    def hidden_unsafe(self, diagnostic: Diagnostic) -> bool:
        """A fix that ``--unsafe-fixes`` would apply but the current settings do not."""
        fix = diagnostic.fix
        return bool(fix) and not self.unsafe and fix.get("applicability") == "unsafe" and self.code_allowed(
            diagnostic.code)


@dataclass
class FixResult:
    """The fixed source (the original when nothing applied or fixing failed) and what happened.

    ``fixed`` holds the diagnostics whose fixes were applied, ``remaining`` the diagnostics of the
    returned source. ``converged`` is False when fixing did not settle or produced code that does
    not parse; the source is then the original and ``error`` says why.
    """

    source: str
    fixed: list[Diagnostic] = field(default_factory=list)
    remaining: list[Diagnostic] = field(default_factory=list)
    converged: bool = True
    error: str | None = None

    @property
    def changed(self) -> bool:
        return bool(self.fixed)


def select_fixes(diagnostics: list[Diagnostic], policy: FixPolicy,
                 index: LineIndex) -> list[tuple[Diagnostic, list[Edit]]]:
    """The applicable fixes that can be applied together: no edit touches another fix's edit."""
    chosen: list[tuple[Diagnostic, list[Edit]]] = []
    taken = EditLayer()  # an edit another fix already makes is shared (one import for two fixes)
    for diagnostic in diagnostics:
        if not policy.applies(diagnostic):
            continue
        try:
            edits = normalize(edits_from_fix(diagnostic.fix, index))
        except (EditError, KeyError, TypeError, ValueError):
            continue
        if not edits or not taken.fits(edits):
            continue
        chosen.append((diagnostic, edits))
        taken.add(edits)
    return chosen


def _apply(source: str, chosen: list[tuple[Diagnostic, list[Edit]]]) -> str:
    edits = sorted({edit for _, fix_edits in chosen for edit in fix_edits})
    return apply_edits(source, edits)


def fix_source(source: str, filename: str, options: LintOptions, unsafe: bool = False, *,
               fixable: tuple[str, ...] | list[str] | None = None, unfixable: tuple[str, ...] | list[str] = (),
               path: Path | None = None) -> FixResult:
    """Fix one source text in memory; never raises for bad input, never returns code that does not parse.

    Fixes are applied in passes: each pass lints the current text and applies every applicable fix
    that does not touch another one; the next pass picks up what was left or newly found, until a
    pass finds nothing to apply. Fixing the returned source again changes nothing.
    """
    policy = FixPolicy(unsafe, tuple(fixable) if fixable is not None else None, tuple(unfixable))
    return fix_with_policy(source, filename, options, policy, path)


def fix_with_policy(source: str, filename: str, options: LintOptions, policy: FixPolicy,
                    path: Path | None = None) -> FixResult:
    original = lint_text(source, filename, options, path)
    current, diagnostics = source, original
    fixed: list[Diagnostic] = []
    seen = {source}
    for _ in range(MAX_PASSES):
        if any(d.code == SYNTAX_ERROR for d in diagnostics):
            if current is source:
                return FixResult(source, [], diagnostics)
            return _failed(source, original, "a fix produced code that ecolint cannot parse")
        chosen = select_fixes(diagnostics, policy, LineIndex(current))
        if not chosen:
            return FixResult(current, fixed, diagnostics)
        new = _apply(current, chosen)
        if not parses(new):
            chosen = chosen[:1]  # fixes that are fine alone may clash together: one at a time
            new = _apply(current, chosen)
            if not parses(new):
                return _failed(source, original, "a fix produced code that does not parse")
        if new in seen:
            return _failed(source, original, "fixes undo each other")
        seen.add(new)
        fixed.extend(replace(diagnostic) for diagnostic, _ in chosen)
        current = new
        diagnostics = lint_text(current, filename, options, path)
    return _failed(source, original, f"fixes did not settle after {MAX_PASSES} passes")


def _failed(source: str, original: list[Diagnostic], reason: str) -> FixResult:
    return FixResult(source, [], original, converged=False, error=reason)
