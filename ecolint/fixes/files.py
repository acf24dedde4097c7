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
from ecolint.rules import SYNTAX_ERROR
from ecolint.workspace import SourceError, SourceFile, Workspace
from ecolint.workspace.pool import parent_alive
from ecolint.workspace.workspace import analyze_source, diagnostics_of


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
    return diagnostics_of(analyze_source(text, source, options), source, options)


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
        unparsable = next((d for d in result.remaining if d.code == SYNTAX_ERROR), None)
        if unparsable is not None:
            outcome.error = f"not fixed: the source does not parse ({SYNTAX_ERROR} {unparsable.message})"
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
        outcome.error = outcome.error.replace("the source was left", "the file was left").replace(
            "the source does not", "the file does not")
    if new_text == original.text or not job.write:
        return outcome
    if not parent_alive():  # the run was killed: a worker that outlived it must not rewrite files
        outcome.error, outcome.fixed, outcome.diff = "not written: the run was stopped", [], ""
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
    """Fix the files under ``paths`` through the workspace's loop (discovery, cache, pool); per-file settings
    applied. A cached file with nothing to fix keeps its cached diagnostics."""
    policies: dict[Path, FixPolicy] = {}
    from_cache: dict[Path, list[Diagnostic]] = {}

    def policy(source: SourceFile) -> FixPolicy:
        if source.path not in policies:
            policies[source.path] = policy_for(source.path)
        return policies[source.path]

    def nothing_to_fix(source: SourceFile, cached: dict) -> bool:
        from_cache[source.path] = diagnostics_of(cached, source, workspace.options)
        return not any(policy(source).applies(d) for d in from_cache[source.path])

    def job_for(source: SourceFile) -> FixJob:
        return FixJob(str(source.path), source.display, workspace.options, policy(source), write)

    tasks = workspace.process(paths, fix_file, job_for, reuse=nothing_to_fix, report_of=_cacheable, max_chunk=16)
    if write:
        workspace.remove_stale_temporaries(tasks)
    outcomes: list[FileOutcome] = []
    for task in tasks:
        source = task.source
        if task.error:
            outcomes.append(FileOutcome(source.display, [file_error(source.display, task.error)]))
            continue
        outcome = FileOutcome(source.display, from_cache[source.path]) if task.cached is not None else task.result
        outcome.remaining = workspace.apply_file_settings(source.path, outcome.remaining)
        outcomes.append(outcome)
    return outcomes, sum(task.error is None for task in tasks)


def _cacheable(outcome: FileOutcome) -> dict | None:
    """What the cache may keep of a fix: the diagnostics of the file as it now is on disk."""
    if outcome.error or (outcome.fixed and not outcome.written):
        return None
    return {"diagnostics": [d.to_dict() for d in outcome.remaining], "practices": []}
