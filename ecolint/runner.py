"""Lint many files: discovery, the per-file cache, parallel workers and per-file ignores."""

from __future__ import annotations

import hashlib
import json
import multiprocessing
import os
import sys
import tempfile
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from functools import lru_cache
from importlib import resources
from pathlib import Path

import pathspec

from ecolint import __version__
from ecolint.config import ConfigError, Settings, selector_matches
from ecolint.energy.calibration import CalibrationError
from ecolint.rules import rules_for
from ecolint.diagnostics import Diagnostic
from ecolint.discovery import SOURCE_SUFFIXES, FileFinder
from ecolint.engine import LintOptions, SourceError, decode_source, file_error, lint_text
from ecolint.notebooks import NOTEBOOK_SUFFIX, lint_notebook

PARALLEL_THRESHOLD = 8  # below this many files to lint, worker start-up costs more than it saves
CACHE_DIR_NAME = ".ecolint_cache"


@dataclass
class RunResult:
    diagnostics: list[Diagnostic] = field(default_factory=list)
    files_checked: int = 0
    files_from_cache: int = 0


def lint_options(settings: Settings) -> LintOptions:
    options = settings.frozen_rule_options()
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
    return LintOptions(settings.enabled_codes(), options, settings.gpu, calibration, digest)


def display_path(path: Path) -> str:
    """The path relative to the working directory when it lies below it, else as given."""
    try:
        return path.absolute().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return str(path)


def lint_file(path: Path, display: str, options: LintOptions) -> list[Diagnostic]:
    """Diagnostics for one file on disk; unreadable files give one E902 diagnostic."""
    if path.suffix == NOTEBOOK_SUFFIX:
        return lint_notebook(path, display, options)
    try:
        data = path.read_bytes()
    except IsADirectoryError:
        return [file_error(display, "is a directory, not a file")]
    except OSError as error:
        return [file_error(display, f"cannot read file: {error.strerror or error}")]
    try:
        source = decode_source(data)
    except SourceError as error:
        return [file_error(display, str(error))]
    return lint_text(source, display, options, path)


def _lint_job(job: tuple[str, str, LintOptions]) -> list[dict]:
    path, display, options = job
    return [diagnostic.to_dict() for diagnostic in lint_file(Path(path), display, options)]


@lru_cache(maxsize=None)
def _inputs_digest() -> str:
    """A hash of the shipped rule files and data: a change in either invalidates the cache."""
    digest = hashlib.sha256(__version__.encode())
    for package in ("ecolint.rule_files", "ecolint.energy.data"):
        folder = resources.files(package)
        for entry in sorted(folder.iterdir(), key=lambda item: item.name):
            if entry.name.endswith((".yaml", ".csv")):
                digest.update(entry.name.encode())
                digest.update(entry.read_bytes())
    return digest.hexdigest()


class Cache:
    """Diagnostics per file, keyed by the file's size and modification time and the settings."""

    def __init__(self, folder: Path, options: LintOptions) -> None:
        fingerprint = hashlib.sha256(
            json.dumps(
                [
                    sorted(options.codes),
                    repr(options.rule_options),
                    options.gpu.key if options.gpu else None,
                    options.calibration_digest,
                    _inputs_digest(),
                ]
            ).encode()
        ).hexdigest()[:16]
        self.file = folder / __version__ / f"{fingerprint}.json"
        self.folder = folder
        self.entries: dict[str, list] = {}
        self.dirty = False
        try:
            self.entries = json.loads(self.file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            self.entries = {}

    @staticmethod
    def _stamp(path: Path) -> list[int] | None:
        try:
            status = path.stat()
        except OSError:
            return None
        return [status.st_size, status.st_mtime_ns]

    def get(self, path: Path) -> list[dict] | None:
        entry = self.entries.get(str(path.absolute()))
        stamp = self._stamp(path)
        if entry is None or stamp is None or entry[0] != stamp:
            return None
        return entry[1]

    def put(self, path: Path, diagnostics: list[dict]) -> None:
        stamp = self._stamp(path)
        if stamp is not None:
            self.entries[str(path.absolute())] = [stamp, [dict(d, filename=None) for d in diagnostics]]
            self.dirty = True

    def save(self) -> None:
        if not self.dirty:
            return
        try:
            self.file.parent.mkdir(parents=True, exist_ok=True)
            ignore = self.folder / ".gitignore"
            if not ignore.exists():
                ignore.write_text("# Created by ecolint\n*\n", encoding="utf-8")
            handle, temporary = tempfile.mkstemp(dir=self.file.parent, suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump(self.entries, stream)
            os.replace(temporary, self.file)
        except OSError:
            pass  # a cache that cannot be written only costs speed


def clear_cache(folder: Path) -> bool:
    import shutil

    if folder.is_dir():
        shutil.rmtree(folder)
        return True
    return False


def cache_folder(settings: Settings) -> Path:
    return settings.cache_dir or settings.root / CACHE_DIR_NAME


def _ignored_codes(settings: Settings, path: Path) -> list[str]:
    if not settings.per_file_ignores:
        return []
    try:
        relative = path.absolute().relative_to(settings.root).as_posix()
    except ValueError:
        relative = path.as_posix()
    codes: list[str] = []
    for pattern, selectors in settings.per_file_ignores.items():
        spec = _pattern_spec(pattern)
        if spec.match_file(relative) or spec.match_file(path.name):
            codes.extend(selectors)
    return codes


@lru_cache(maxsize=256)
def _pattern_spec(pattern: str) -> pathspec.GitIgnoreSpec:
    """One per-file-ignores pattern, compiled once per run rather than once per file."""
    return pathspec.GitIgnoreSpec.from_lines([pattern])


def _apply_per_file_ignores(settings: Settings, path: Path, diagnostics: list[Diagnostic]) -> list[Diagnostic]:
    ignored = _ignored_codes(settings, path)
    if not ignored:
        return diagnostics
    return [d for d in diagnostics if not selector_matches(d.code, ignored)]


def run(paths: list[Path], settings: Settings, use_cache: bool = True, jobs: int | None = None) -> RunResult:
    options = lint_options(settings)
    finder = FileFinder(
        settings.root,
        settings.exclude,
        settings.extend_exclude,
        settings.respect_gitignore,
        suffixes=(*SOURCE_SUFFIXES, NOTEBOOK_SUFFIX),
        force_exclude=settings.force_exclude,
    )
    result = RunResult()
    cache = Cache(cache_folder(settings), options) if use_cache else None
    pending: list[tuple[Path, str]] = []
    for found in finder.find(paths):
        display = display_path(found.path)
        if found.error:
            result.diagnostics.append(file_error(display, found.error))
            continue
        result.files_checked += 1
        cached = cache.get(found.path) if cache else None
        if cached is not None:
            result.files_from_cache += 1
            diagnostics = [Diagnostic.from_dict(dict(d, filename=display)) for d in cached]
            result.diagnostics.extend(_apply_per_file_ignores(settings, found.path, diagnostics))
        else:
            pending.append((found.path, display))
    for (path, display), dicts in zip(pending, _lint_all(pending, options, jobs)):
        if cache is not None:
            cache.put(path, dicts)
        diagnostics = [Diagnostic.from_dict(d) for d in dicts]
        result.diagnostics.extend(_apply_per_file_ignores(settings, path, diagnostics))
    if cache is not None:
        cache.save()
    result.diagnostics.sort(key=Diagnostic.sort_key)
    return result


def _lint_all(pending: list[tuple[Path, str]], options: LintOptions, jobs: int | None) -> list[list[dict]]:
    jobs = jobs or os.cpu_count() or 1
    work = [(str(path), display, options) for path, display in pending]
    if jobs < 2 or len(work) < PARALLEL_THRESHOLD:
        return [_lint_job(job) for job in work]
    method = "fork" if sys.platform.startswith("linux") else None
    context = multiprocessing.get_context(method)
    chunk = max(1, min(32, len(work) // (jobs * 8)))
    with ProcessPoolExecutor(max_workers=jobs, mp_context=context) as pool:
        return list(pool.map(_lint_job, work, chunksize=chunk))
