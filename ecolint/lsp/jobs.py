"""What the language server's worker process runs: a document's diagnostics, its safe fixes."""

from __future__ import annotations

from pathlib import Path

from ecolint.diagnostics import Diagnostic
from ecolint.workspace import SourceFile, Workspace


def lint_document(workspace: Workspace, text: str, source: SourceFile) -> list[Diagnostic]:
    """The diagnostics of an editor buffer, with the settings of its workspace."""
    return workspace.lint_text(text, source).diagnostics


def fix_document(workspace: Workspace, text: str, filename: str, path: Path | None) -> str | None:
    """The buffer with every safe fix applied, or None when nothing changes (or there are no fixes)."""
    try:
        from ecolint.fixes import fix_source
    except ImportError:
        return None  # this build of ecolint has no fixes
    settings = workspace.settings
    result = fix_source(text, filename, workspace.options, False, fixable=settings.fixable,
                        unfixable=tuple(settings.unfixable), path=path)
    if not result.fixed or result.source == text:
        return None
    return result.source
