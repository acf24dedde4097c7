"""Fixing files on disk: one file at a time (or a pool of workers), written through ``writer``."""

from __future__ import annotations

import multiprocessing
import os
import sys
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from ecolint.diagnostics import Diagnostic
from ecolint.engine import LintOptions, SourceError, file_error, lint_text
from ecolint.fixes.apply import FixPolicy, fix_with_policy
from ecolint.fixes.edits import unified_diff
from ecolint.fixes.writer import WriteError, read_source, write_fixed

PARALLEL_THRESHOLD = 8
NOTEBOOK_SUFFIX = ".ipynb"


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


def fix_file(job: FixJob) -> FileOutcome:
    path = Path(job.path)
    if path.suffix == NOTEBOOK_SUFFIX:
        return _fix_notebook(job)
    outcome = FileOutcome(job.display)
    try:
        source = read_source(path)
    except IsADirectoryError:
        outcome.remaining = [file_error(job.display, "is a directory, not a file")]
        return outcome
    except OSError as error:
        outcome.remaining = [file_error(job.display, f"cannot read file: {error.strerror or error}")]
        return outcome
    except SourceError as error:
        outcome.remaining = [file_error(job.display, str(error))]
        return outcome
    result = fix_with_policy(source.text, job.display, job.options, job.policy, path)
    outcome.remaining = result.remaining
    if not result.converged:
        outcome.error = f"{result.error}; the file was left unchanged"
        return outcome
    if not result.fixed or result.source == source.text:
        return outcome
    outcome.fixed = [(d.code, d.name) for d in result.fixed]
    outcome.diff = unified_diff(source.text, result.source, job.display)
    if job.write:
        try:
            outcome.written = write_fixed(source, result.source)
        except WriteError as error:
            outcome.error = str(error)
            outcome.fixed = []
            outcome.remaining = lint_text(source.text, job.display, job.options, path)
    return outcome


def _fix_notebook(job: FixJob) -> FileOutcome:
    """Notebooks: the code cells are fixed by ``ecolint.notebooks``; the file is written here."""
    from ecolint.notebooks import NotebookError, fix_notebook_text, lint_notebook, lint_notebook_text

    outcome = FileOutcome(job.display)
    path = Path(job.path)
    try:
        source = read_source(path)
    except (OSError, SourceError):
        outcome.remaining = lint_notebook(path, job.display, job.options)  # reports why it cannot be read
        return outcome
    policy = job.policy
    try:
        fixed = fix_notebook_text(source.text, job.display, job.options, policy.unsafe, path,
                                  fixable=policy.fixable, unfixable=policy.unfixable)
    except NotebookError as error:
        outcome.remaining = lint_notebook_text(source.text, job.display, job.options, path)
        outcome.error = f"{error}"
        return outcome
    outcome.remaining = fixed.remaining
    if not fixed.changed:
        return outcome
    outcome.fixed = [("", "")] * fixed.fixed
    outcome.diff = unified_diff(source.text, fixed.text, job.display)
    if job.write:
        try:
            outcome.written = write_fixed(source, fixed.text)
        except WriteError as error:
            outcome.error = str(error)
            outcome.fixed = []
            outcome.remaining = lint_notebook_text(source.text, job.display, job.options, path)
    return outcome


def fix_files(jobs: list[FixJob], workers: int | None) -> list[FileOutcome]:
    workers = workers or os.cpu_count() or 1
    if workers < 2 or len(jobs) < PARALLEL_THRESHOLD:
        return [fix_file(job) for job in jobs]
    method = "fork" if sys.platform.startswith("linux") else None
    context = multiprocessing.get_context(method)
    chunk = max(1, min(16, len(jobs) // (workers * 8)))
    with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
        return list(pool.map(fix_file, jobs, chunksize=chunk))
