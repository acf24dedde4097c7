"""Settings that depend on the file: per-file ignores, matched like Ruff's (path relative to the root, or name)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from ecolint.codes import PREFIX as RULE_PREFIX
from ecolint.config import Settings, selector_matches
from ecolint.diagnostics import Diagnostic

if TYPE_CHECKING:  # loaded when a setting has a pattern (about 30 ms)
    import pathspec


@lru_cache(maxsize=256)
def _pattern_spec(pattern: str) -> pathspec.GitIgnoreSpec:
    """One per-file-ignores pattern, compiled once per run rather than once per file."""
    import pathspec

    return pathspec.GitIgnoreSpec.from_lines([pattern])


def relative_to_root(settings: Settings, path: Path) -> str:
    try:
        return path.absolute().relative_to(settings.root).as_posix()
    except ValueError:
        return path.as_posix()


def _matches(pattern: str, relative: str, path: Path) -> bool:
    spec = _pattern_spec(pattern)
    return spec.match_file(relative) or spec.match_file(path.name)


def is_test_file(settings: Settings, path: Path | None) -> bool:
    """Whether ``test-paths`` names this file as test code."""
    if path is None or not settings.test_paths:
        return False
    relative = relative_to_root(settings, path)
    return any(_matches(pattern, relative, path) for pattern in settings.test_paths)


def ignored_codes(settings: Settings, path: Path | None) -> list[str]:
    """The selectors turned off for this file: ``per-file-ignores``, and every rule in test code."""
    if path is None:
        return []
    codes: list[str] = [RULE_PREFIX] if is_test_file(settings, path) else []
    if not settings.per_file_ignores:
        return codes
    relative = relative_to_root(settings, path)
    for pattern, selectors in settings.per_file_ignores.items():
        if _matches(pattern, relative, path):
            codes.extend(selectors)
    return codes


def apply_ignores(settings: Settings, path: Path | None, diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    if not diagnostics:  # nothing to drop: the patterns are not matched (a clean run never loads pathspec)
        return diagnostics
    ignored = ignored_codes(settings, path)
    if not ignored:
        return diagnostics
    return [d for d in diagnostics if not selector_matches(d.code, ignored)]
