"""Fixing sources: one text (a file, stdin, a notebook) and many files through the workspace."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ecolint.diagnostics import Diagnostic
from ecolint.engine import LintOptions, file_error
from ecolint.fixes.apply import FixPolicy, fix_with_policy
from ecolint.fixes.edits import unified_diff
from ecolint.fixes.writer import WriteError, read_source, write_fixed
from ecolint.workspace import SourceError, SourceFile, Workspace
from ecolint.workspace.pool import run_all
from ecolint.workspace.workspace import analyze_source


@dataclass
class FileOutcome:
    """What fixing one file did. ``fixed`` are ``(code, name)`` pairs, one per applied fix."""

    display: str
    remaining: list[Diagnostic] = field(default_factory=list)
    fixed: list[tuple[str, str]] = field(default_factory=list)
    diff: str = ""
    error: str | None = None
    written: bool = False


@dataclass(frozen=True)
class FixJob:
    path: str
    display: str
    options: LintOptions
    policy: FixPolicy
    write: bool  # False: compute the diff only (--diff)


def _lint(text: str, source: SourceFile, options: LintOptions) -> list[Diagnostic]:
    return [Diagnostic.from_dict(d) for d in analyze_source(text, source, options)["diagnostics"]]


def fix_text(text: str, source: SourceFile, options: LintOptions, policy: FixPolicy) -> tuple[str, FileOutcome]:
    """The fixed text of a Python file or a notebook and what was done (nothing is written here)."""
    outcome = FileOutcome(source.display)
    if source.is_notebook:
        from ecolint.notebooks import NotebookError, fix_notebook_text

        try:
            result = fix_notebook_text(text, source.display, options, policy.unsafe, source.path,
                                       fixable=policy.fixable, unfixable=policy.unfixable)
        except NotebookError as error:
            outcome.remaining, outcome.error = _lint(text, source, options), str(error)
            return text, outcome
        outcome.remaining = result.remaining
        outcome.fixed = [("", "")] * result.fixed if result.changed else []
        new_text = result.text if result.changed else text
    else:
        result = fix_with_policy(text, source.display, options, policy, source.path)
        outcome.remaining = result.remaining
        if not result.converged:
            outcome.error = f"{result.error}; the source was left unchanged"
            return text, outcome
        new_text = result.source
        outcome.fixed = [(d.code, d.name) for d in result.fixed] if new_text != text else []
    if new_text != text:
        outcome.diff = unified_diff(text, new_text, source.display)
    return new_text, outcome


def fix_file(job: FixJob) -> FileOutcome:
    """Fix one file on disk, written atomically unless the job only wants the diff."""
    source = SourceFile(Path(job.path), job.display)
    try:
        original = read_source(source.path, notebook=source.is_notebook)
    except SourceError as error:
        return FileOutcome(job.display, [file_error(job.display, str(error))])
    new_text, outcome = fix_text(original.text, source, job.options, job.policy)
    if outcome.error:
        outcome.error = outcome.error.replace("the source was left", "the file was left")
    if new_text == original.text or not job.write:
        return outcome
    try:
        outcome.written = write_fixed(original, new_text)
    except WriteError as error:
        outcome.error = str(error)
        outcome.fixed, outcome.diff = [], ""
        outcome.remaining = _lint(original.text, source, job.options)
    return outcome


def fix_paths(workspace: Workspace, paths: Sequence[Path], policy_for: Callable[[Path], FixPolicy],
              write: bool) -> tuple[list[FileOutcome], int]:
    """Fix the files under ``paths``: the workspace's discovery, cache and pool; per-file settings applied."""
    cache = workspace.cache
    outcomes: list[FileOutcome] = []
    files_checked = 0
    pending: list[tuple[SourceFile, FixJob]] = []
    for source, error in workspace.discover(paths):
        if error:
            outcomes.append(FileOutcome(source.display, [file_error(source.display, error)]))
            continue
        files_checked += 1
        policy = policy_for(source.path)
        cached = cache.get(source.path) if cache else None
        if cached is not None:
            diagnostics = [Diagnostic.from_dict(dict(d, filename=source.display)) for d in cached["diagnostics"]]
            if not any(policy.applies(d) for d in diagnostics):  # nothing to fix: the cache is the answer
                outcomes.append(FileOutcome(source.display, workspace.apply_file_settings(source.path, diagnostics)))
                continue
        pending.append((source, FixJob(str(source.path), source.display, workspace.options, policy, write)))
    results = run_all(fix_file, [job for _, job in pending], workspace.jobs, max_chunk=16)
    for (source, _), outcome in zip(pending, results):
        if cache is not None and (outcome.written or not outcome.fixed) and not outcome.error \
                and not workspace.options.practices:
            cache.put(source.path, {"diagnostics": [d.to_dict() for d in outcome.remaining], "practices": []})
        outcome.remaining = workspace.apply_file_settings(source.path, outcome.remaining)
        outcomes.append(outcome)
    if cache is not None:
        cache.save()
    return outcomes, files_checked
