"""Settings that depend on the file: per-file ignores, matched like Ruff's (path relative to the root, or name)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import pathspec

from ecolint.config import Settings, selector_matches
from ecolint.diagnostics import Diagnostic


@lru_cache(maxsize=256)
def _pattern_spec(pattern: str) -> pathspec.GitIgnoreSpec:
    """One per-file-ignores pattern, compiled once per run rather than once per file."""
    return pathspec.GitIgnoreSpec.from_lines([pattern])


def relative_to_root(settings: Settings, path: Path) -> str:
    try:
        return path.absolute().relative_to(settings.root).as_posix()
    except ValueError:
        return path.as_posix()


def ignored_codes(settings: Settings, path: Path | None) -> list[str]:
    """The selectors that ``per-file-ignores`` turns off for this file."""
    if not settings.per_file_ignores or path is None:
        return []
    relative = relative_to_root(settings, path)
    codes: list[str] = []
    for pattern, selectors in settings.per_file_ignores.items():
        spec = _pattern_spec(pattern)
        if spec.match_file(relative) or spec.match_file(path.name):
            codes.extend(selectors)
    return codes


def apply_ignores(settings: Settings, path: Path | None, diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    ignored = ignored_codes(settings, path)
    if not ignored:
        return diagnostics
    return [d for d in diagnostics if not selector_matches(d.code, ignored)]
