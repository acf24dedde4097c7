"""One pipeline from paths (or text) to results, shared by every front end.

    workspace = Workspace(settings, use_cache=True, jobs=None)
    result = workspace.lint(["src/"])           # RunResult: diagnostics, practices, counts
    result = workspace.lint_text(text, SourceFile(path, display))   # an editor buffer, stdin

``sources`` reads and decodes files, ``file_settings`` applies per-file settings, ``cache`` keeps
results per file, ``pool`` spreads work over processes. Fixing (``ecolint.fixes.files``) uses the
same discovery, cache and pool through :meth:`Workspace.discover` and friends.
"""

from __future__ import annotations

from ecolint.workspace.sources import SourceError, SourceFile, decode_source
from ecolint.workspace.workspace import (
    Practice,
    RunResult,
    Workspace,
    cache_folder,
    display_path,
    lint_options,
)

__all__ = ["Practice", "RunResult", "SourceError", "SourceFile", "Workspace", "cache_folder", "decode_source",
           "display_path", "lint_options"]
