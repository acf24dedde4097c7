"""The workspace: the source files of one run, and the one way from paths to results.

Every front end goes through it: ``ecolint check`` (lint and fix), the language server, the
flake8 plugin and the audit report. It owns discovery, reading and decoding, stdin, the choice
between a notebook and a Python file, per-file settings, the cache and the worker pool.
"""

from __future__ import annotations

import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ecolint.config import ConfigError, Settings
from ecolint.diagnostics import Diagnostic
from ecolint.workspace import file_settings
from ecolint.workspace.pool import run_all
from ecolint.workspace.sources import (NOTEBOOK_SUFFIX, SourceError, SourceFile, decode_source, read_limited,
                                       read_text, size_problem)

SOURCE_SUFFIXES = (".py", ".pyi", NOTEBOOK_SUFFIX)


@dataclass(frozen=True)
class Practice:
    """A good practice found in a file (for the audit report)."""

    filename: str
    row: int
    cell: int | None
    text: str

    def where(self) -> str:
        return f"{self.filename}:cell {self.cell}:{self.row}" if self.cell else f"{self.filename}:{self.row}"


@dataclass
class FileTask:
    """One file of a run: why it cannot be read, its report from the cache, or what the worker returned."""

    source: SourceFile
    error: str | None = None
    cached: dict | None = None
    result: Any = None


@dataclass
class RunResult:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    practices: list[Practice] = field(default_factory=list)
    files_checked: int = 0
    files_from_cache: int = 0


def lint_options(settings: Settings, practices: bool = False):
    """The engine's options for these settings (the calibration file read and checked once, here)."""
    from ecolint.engine import LintOptions

    calibration, digest = None, ""
    if settings.calibration is not None:  # the rules and the measurement data are loaded for it, not before
        from hashlib import sha256

        from ecolint.energy.calibration import CalibrationError
        from ecolint.rules import rules_for

        calibration = str(settings.calibration)
        try:
            digest = sha256(settings.calibration.read_bytes()).hexdigest()
        except OSError as error:
            raise ConfigError(
                f"cannot read calibration file {settings.calibration}: {error.strerror or error}"
            ) from None
        try:
            rules_for(calibration)  # reports a bad file once, here, rather than in every worker
        except CalibrationError as error:
            raise ConfigError(str(error)) from None
    return LintOptions(settings.enabled_codes(), settings.frozen_rule_options(), settings.gpu, calibration, digest,
                       practices, project_root=str(settings.root.absolute()),
                       fix_batch_size=settings.fix_batch_size, transformers_version=settings.transformers_version)


def display_path(path: Path) -> str:
    """The path relative to the working directory when it lies below it, else as given."""
    try:
        return path.absolute().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path)


def cache_folder(settings: Settings) -> Path:
    from ecolint.workspace.cache import CACHE_DIR_NAME

    return settings.cache_dir or settings.root / CACHE_DIR_NAME


def diagnostics_of(report: dict, source: SourceFile, options) -> list[Diagnostic]:
    """The diagnostics of a report (fresh or cached), named for the file they belong to, with their rules'
    typed penalties (the rules are loaded only when a diagnostic has one)."""
    penalties = options.penalties() if any(d.get("penalty") for d in report["diagnostics"]) else {}
    return [Diagnostic.from_dict(dict(d, filename=source.display), penalties) for d in report["diagnostics"]]


def analyze_source(text: str, source: SourceFile, options) -> dict:
    """The report of one source text (diagnostics and practices as plain data), notebook or Python."""
    if source.is_notebook:
        from ecolint.notebooks import analyze_notebook_text as analyze
    else:
        from ecolint.engine import analyze_text as analyze
    analysis = analyze(text, source.display, options, source.path)
    report = {"diagnostics": [d.to_dict() for d in analysis.diagnostics],
              "practices": [list(practice) for practice in analysis.practices]}
    if analysis.uses:
        report["uses"] = dict(analysis.uses)
    return report


def analyze_file(job: tuple[str, str, object]) -> dict:
    """The report of one file on disk; a file that cannot be read gives one E902 diagnostic."""
    path, display, options = job
    source = SourceFile(Path(path), display)
    try:
        text = read_text(source.path)
    except SourceError as error:
        from ecolint.engine import file_error

        return {"diagnostics": [file_error(display, str(error)).to_dict()], "practices": []}
    return analyze_source(text, source, options)


class Workspace:
    """The files of one run under one set of settings."""

    def __init__(self, settings: Settings, *, use_cache: bool = True, jobs: int | None = None,
                 practices: bool = False) -> None:
        self.settings = settings
        self.options = lint_options(settings, practices)
        self.jobs = jobs
        self.cache = None
        if use_cache:  # the cache module (hashlib, OpenSSL) is loaded only for it
            from ecolint.workspace.cache import Cache

            self.cache = Cache(cache_folder(settings), self._fingerprint())
        self._finder = None

    def _fingerprint(self) -> list:
        from ecolint.project_versions import installed_version

        options = self.options
        return [sorted(options.codes), repr(options.rule_options), options.gpu.key if options.gpu else None,
                options.calibration_digest, options.practices, options.fix_batch_size,
                options.transformers_version, installed_version("transformers")]

    # ---- discovery and per-file settings ------------------------------------------------

    def discover(self, paths: Sequence[Path]) -> Iterator[tuple[SourceFile, str | None]]:
        """The files under ``paths``, each with the reason it cannot be linted (or None)."""
        from ecolint.discovery import FileFinder

        if self._finder is None:
            settings = self.settings
            self._finder = FileFinder(settings.root, settings.exclude, settings.extend_exclude,
                                      settings.respect_gitignore, suffixes=SOURCE_SUFFIXES,
                                      force_exclude=settings.force_exclude)
        for found in self._finder.find(list(paths)):
            yield SourceFile(found.path, display_path(found.path)), found.error

    def ignored_codes(self, path: Path | None) -> list[str]:
        return file_settings.ignored_codes(self.settings, path)

    def apply_file_settings(self, path: Path | None, diagnostics: list[Diagnostic]) -> list[Diagnostic]:
        return file_settings.apply_ignores(self.settings, path, diagnostics)

    # ---- linting --------------------------------------------------------------------------

    def lint_text(self, text: str, source: SourceFile) -> RunResult:
        """One text that is not (or not yet) on disk: stdin, an editor buffer, a flake8 file."""
        report = analyze_source(text, source, self.options)
        result = RunResult(files_checked=1)
        self._collect(result, source, report)
        return result

    def lint_stdin(self, source: SourceFile) -> RunResult:
        """The text on stdin; bytes that are not source text (NUL bytes, a bad encoding, more than
        ``max-file-size``) give one E902, as they do with ``--fix``."""
        try:
            text = decode_source(read_limited(sys.stdin.buffer, self.settings.max_file_size))
        except SourceError as error:
            from ecolint.engine import file_error

            return RunResult([file_error(source.display, str(error))], files_checked=1)
        return self.lint_text(text, source)

    def lint(self, paths: Sequence[str | Path], stdin_filename: str | None = None,
             progress: Callable[[int, int], None] | None = None) -> RunResult:
        """Lint files and folders (``-`` reads stdin); diagnostics sorted, per-file settings applied.
        ``progress(done, total)`` is called as files are done."""
        result = RunResult()
        if "-" in paths:
            display = stdin_filename or "-"
            source = SourceFile(Path(display) if stdin_filename else None, display)
            self._merge(result, self.lint_stdin(source))
        tasks = self.process([Path(p) for p in paths if p != "-"], analyze_file,
                             lambda source: (str(source.path), source.display, self.options), progress=progress)
        self.remove_stale_temporaries(tasks)
        for task in tasks:
            if task.error:
                from ecolint.engine import file_error

                result.diagnostics.append(file_error(task.source.display, task.error))
                continue
            result.files_checked += 1
            result.files_from_cache += task.cached is not None
            self._collect(result, task.source, task.cached if task.cached is not None else task.result)
        result.diagnostics.sort(key=Diagnostic.sort_key)
        result.practices.sort(key=lambda p: (p.filename, p.cell or 0, p.row))
        return result

    def process(self, paths: Sequence[Path], worker: Callable[[Any], Any], job_for: Callable[[SourceFile], Any], *,
                reuse: Callable[[SourceFile, dict], bool] | None = None,
                report_of: Callable[[Any], dict | None] | None = None, max_chunk: int = 32,
                progress: Callable[[int, int], None] | None = None) -> list[FileTask]:
        """The one loop of lint and fix: discover the files under ``paths``, take an unchanged file's report
        from the cache (when ``reuse`` accepts it), run ``worker(job_for(source))`` in the pool for the
        others, and cache the report that ``report_of`` makes of each result (None: nothing to cache).
        ``progress(done, total)``, when given, hears of every file done, cached files first."""
        tasks: list[FileTask] = []
        pending: list[FileTask] = []
        for source, error in self.discover(paths):
            task = FileTask(source, error or size_problem(source.path, self.settings.max_file_size))
            tasks.append(task)
            if task.error:
                continue
            cached = self.cache.get(source.path) if self.cache is not None else None
            if cached is not None and (reuse is None or reuse(source, cached)):
                task.cached = cached
            else:
                pending.append(task)
        done = [len(tasks) - len(pending)]

        def file_done() -> None:
            done[0] += 1
            progress(done[0], len(tasks))

        if progress is not None:
            progress(done[0], len(tasks))
        results = run_all(worker, [job_for(task.source) for task in pending], self.jobs, max_chunk,
                          file_done if progress is not None else None)
        for task, outcome in zip(pending, results):
            task.result = outcome
            report = report_of(outcome) if report_of is not None else outcome
            if self.cache is not None and report is not None:
                self.cache.put(task.source.path, self._with_pin_files(task.source.path, report))
        if self.cache is not None:
            self.cache.save()
        return tasks

    @staticmethod
    def remove_stale_temporaries(tasks: list[FileTask]) -> None:
        """Remove, and name on stderr, the temporary files that killed ``--fix`` runs left next to these
        files (their process is gone)."""
        from ecolint.workspace.temporaries import remove_stale_temporaries

        for path in sorted(remove_stale_temporaries({task.source.path.parent for task in tasks})):
            print(f"ecolint: removed {display_path(path)}, a temporary file left by an interrupted run",
                  file=sys.stderr)

    def _with_pin_files(self, path: Path, report: dict) -> dict:
        """The report with the pin files its results depend on among its ``uses``: a change to one of
        them (a new transformers pin) makes the cached entry stale."""
        from ecolint.workspace.cache import file_digest

        if self.options.versions is not None:
            return report
        uses = dict(report.get("uses", {}))
        for name in self.options.versions_for(path).files:
            digest = file_digest(Path(name))
            if digest is not None:
                uses[name] = digest
        return dict(report, uses=uses) if uses else report

    def _collect(self, result: RunResult, source: SourceFile, report: dict) -> None:
        result.diagnostics.extend(self.apply_file_settings(source.path, diagnostics_of(report, source, self.options)))
        result.practices.extend(Practice(source.display, row, cell, text)
                                for row, cell, text in report.get("practices", []))

    @staticmethod
    def _merge(result: RunResult, other: RunResult) -> None:
        result.diagnostics.extend(other.diagnostics)
        result.practices.extend(other.practices)
        result.files_checked += other.files_checked
