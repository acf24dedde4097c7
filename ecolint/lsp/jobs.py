"""What the language server's worker process runs: a document's diagnostics, its fixes.

A diagnostic keeps its fix only when the settings would apply it: safe fixes, and unsafe ones
too when ``unsafe-fixes`` is on (in the configuration, or in the editor's settings).
"""

from __future__ import annotations

from pathlib import Path

from ecolint.diagnostics import Diagnostic
from ecolint.workspace import SourceFile, Workspace


def lint_document(workspace: Workspace, text: str, source: SourceFile) -> list[Diagnostic]:
    """The diagnostics of an editor buffer, with the settings of its workspace."""
    return allowed_fixes(workspace, source.path, workspace.lint_text(text, source).diagnostics)


def lint_notebook_document(workspace: Workspace, text: str, display: str, path: Path | None) -> list[Diagnostic]:
    """The diagnostics of a notebook document's cells (given as ``.ipynb`` JSON), rows in their cells."""
    from ecolint.notebooks import analyze_notebook_text

    found = analyze_notebook_text(text, display, workspace.options, path).diagnostics
    return allowed_fixes(workspace, path, workspace.apply_file_settings(path, found))


def allowed_fixes(workspace: Workspace, path: Path | None, diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    """Drop the fixes the settings would not apply (``fixable``, ``unfixable``, ``unsafe-fixes``)."""
    try:
        from ecolint.fixes.command import policy_for
    except ImportError:  # this build of ecolint has no fixes
        for diagnostic in diagnostics:
            diagnostic.fix = None
        return diagnostics
    policy = policy_for(workspace.settings, None, workspace.ignored_codes(path))
    for diagnostic in diagnostics:
        if diagnostic.fix is not None and not policy.applies(diagnostic):
            diagnostic.fix = None
    return diagnostics


def fix_document(workspace: Workspace, text: str, filename: str, path: Path | None) -> str | None:
    """The buffer with every fix the settings allow applied, or None when nothing changes."""
    try:
        from ecolint.fixes import fix_source
    except ImportError:
        return None  # this build of ecolint has no fixes
    settings = workspace.settings
    result = fix_source(text, filename, workspace.options, settings.unsafe_fixes, fixable=settings.fixable,
                        unfixable=(*settings.unfixable, *workspace.ignored_codes(path)), path=path)
    if not result.fixed or result.source == text:
        return None
    return result.source


def fix_notebook_document(workspace: Workspace, text: str, filename: str, path: Path | None) -> str | None:
    """A notebook document's ``.ipynb`` JSON with every allowed fix applied, or None when nothing changes."""
    try:
        from ecolint.notebooks import NotebookError, fix_notebook_text
    except ImportError:
        return None
    settings = workspace.settings
    try:
        outcome = fix_notebook_text(text, filename, workspace.options, settings.unsafe_fixes, path,
                                    settings.fixable, (*settings.unfixable, *workspace.ignored_codes(path)))
    except (ImportError, NotebookError):  # no fix engine, or a fix that would move code across cells
        return None
    return outcome.text if outcome.changed else None
