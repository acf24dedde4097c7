"""The workspace: the source files of one run, and the one way from paths to results.

Every front end goes through it: ``ecolint check`` (lint and fix), the language server, the
flake8 plugin and the audit report. It owns discovery, reading and decoding, stdin, the choice
between a notebook and a Python file, per-file settings, the cache and the worker pool.
"""

from __future__ import annotations

import hashlib
import sys
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ecolint.config import ConfigError, Settings
from ecolint.diagnostics import Diagnostic
from ecolint.workspace import file_settings
from ecolint.workspace.cache import CACHE_DIR_NAME, Cache
from ecolint.workspace.pool import run_all
from ecolint.workspace.sources import NOTEBOOK_SUFFIX, SourceError, SourceFile, decode_source, read_text

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
class RunResult:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    practices: list[Practice] = field(default_factory=list)
    files_checked: int = 0
    files_from_cache: int = 0


def lint_options(settings: Settings, practices: bool = False):
    """The engine's options for these settings (the calibration file read and checked once, here)."""
    from ecolint.energy.calibration import CalibrationError
    from ecolint.engine import LintOptions
    from ecolint.rules import rules_for

    calibration, digest = None, ""
    if settings.calibration is not None:
        calibration = str(settings.calibration)
        try:
            digest = hashlib.sha256(settings.calibration.read_bytes()).hexdigest()
        except OSError as error:
            raise ConfigError(
                f"cannot read calibration file {settings.calibration}: {error.strerror or error}"
            ) from None
        try:
            rules_for(calibration)  # reports a bad file once, here, rather than in every worker
        except CalibrationError as error:
            raise ConfigError(str(error)) from None
    return LintOptions(settings.enabled_codes(), settings.frozen_rule_options(), settings.gpu, calibration, digest,
                       practices)


def display_path(path: Path) -> str:
    """The path relative to the working directory when it lies below it, else as given."""
    try:
        return path.absolute().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path)


def cache_folder(settings: Settings) -> Path:
    return settings.cache_dir or settings.root / CACHE_DIR_NAME


def analyze_source(text: str, source: SourceFile, options) -> dict:
    """The report of one source text (diagnostics and practices as plain data), notebook or Python."""
    if source.is_notebook:
        from ecolint.notebooks import analyze_notebook_text as analyze
    else:
        from ecolint.engine import analyze_text as analyze
    analysis = analyze(text, source.display, options, source.path)
    return {"diagnostics": [d.to_dict() for d in analysis.diagnostics],
            "practices": [list(practice) for practice in analysis.practices]}


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
        self.cache = Cache(cache_folder(settings), self._fingerprint()) if use_cache else None
        self._finder = None

    def _fingerprint(self) -> list:
        options = self.options
        return [sorted(options.codes), repr(options.rule_options), options.gpu.key if options.gpu else None,
                options.calibration_digest, options.practices]

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

    def read_stdin(self) -> str:
        try:
            return decode_source(sys.stdin.buffer.read())
        except SourceError as error:
            raise ConfigError(f"stdin: {error}") from None

    def lint(self, paths: Sequence[str | Path], stdin_filename: str | None = None) -> RunResult:
        """Lint files and folders (``-`` reads stdin); diagnostics sorted, per-file settings applied."""
        result = RunResult()
        if "-" in paths:
            display = stdin_filename or "-"
            source = SourceFile(Path(display) if stdin_filename else None, display)
            self._merge(result, self.lint_text(self.read_stdin(), source))
        pending: list[SourceFile] = []
        for source, error in self.discover([Path(p) for p in paths if p != "-"]):
            if error:
                from ecolint.engine import file_error

                result.diagnostics.append(file_error(source.display, error))
                continue
            result.files_checked += 1
            cached = self.cache.get(source.path) if self.cache else None
            if cached is not None:
                result.files_from_cache += 1
                self._collect(result, source, cached)
            else:
                pending.append(source)
        jobs = [(str(source.path), source.display, self.options) for source in pending]
        for source, report in zip(pending, run_all(analyze_file, jobs, self.jobs)):
            if self.cache is not None:
                self.cache.put(source.path, report)
            self._collect(result, source, report)
        if self.cache is not None:
            self.cache.save()
        result.diagnostics.sort(key=Diagnostic.sort_key)
        result.practices.sort(key=lambda p: (p.filename, p.cell or 0, p.row))
        return result

    def _collect(self, result: RunResult, source: SourceFile, report: dict) -> None:
        diagnostics = [Diagnostic.from_dict(dict(d, filename=source.display)) for d in report["diagnostics"]]
        result.diagnostics.extend(self.apply_file_settings(source.path, diagnostics))
        result.practices.extend(Practice(source.display, row, cell, text)
                                for row, cell, text in report.get("practices", []))

    @staticmethod
    def _merge(result: RunResult, other: RunResult) -> None:
        result.diagnostics.extend(other.diagnostics)
        result.practices.extend(other.practices)
        result.files_checked += other.files_checked
