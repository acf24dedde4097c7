"""``ecolint check --fix / --unsafe-fixes / --diff / --show-fixes``: the fix side of the check command."""

from __future__ import annotations

import contextlib
import sys
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

import click

from ecolint.config import Settings
from ecolint.diagnostics import Diagnostic
from ecolint.engine import SourceError, decode_source
from ecolint.fixes.apply import FixPolicy, fix_with_policy
from ecolint.fixes.edits import unified_diff
from ecolint.fixes.files import FileOutcome, FixJob, fix_files
from ecolint.reporters import Summary

EXIT_CLEAN, EXIT_FOUND = 0, 1


def policy_for(settings: Settings, unsafe_fixes: bool | None, extra_unfixable: list[str] | tuple = ()) -> FixPolicy:
    """The fixes the settings allow: ``--unsafe-fixes`` overrides ``unsafe-fixes`` from the config."""
    unsafe = settings.unsafe_fixes if unsafe_fixes is None else unsafe_fixes
    fixable = tuple(settings.fixable) if settings.fixable is not None else None
    return FixPolicy(unsafe, fixable, (*settings.unfixable, *extra_unfixable))


def show_available(diagnostics: list[Diagnostic], policy: FixPolicy) -> int:
    """Keep on each diagnostic only a fix the current settings would apply; count the hidden unsafe ones.

    ``[*]`` and the JSON ``fix`` then mean "``--fix`` would apply this"; the count is what
    ``--unsafe-fixes`` would add.
    """
    hidden = 0
    for diagnostic in diagnostics:
        if diagnostic.fix is None:
            continue
        if policy.hidden_unsafe(diagnostic):
            hidden += 1
        if not policy.applies(diagnostic):
            diagnostic.fix = None
    return hidden


@dataclass
class FixRun:
    outcomes: list[FileOutcome] = field(default_factory=list)
    files_checked: int = 0

    @property
    def remaining(self) -> list[Diagnostic]:
        found = [d for outcome in self.outcomes for d in outcome.remaining]
        return sorted(found, key=Diagnostic.sort_key)

    @property
    def fixed(self) -> int:
        return sum(len(outcome.fixed) for outcome in self.outcomes)


def fix_disk_paths(paths: list[Path], settings: Settings, unsafe_fixes: bool | None, write: bool,
                   use_cache: bool, jobs: int | None) -> FixRun:
    from ecolint.discovery import SOURCE_SUFFIXES, FileFinder
    from ecolint.engine import file_error
    from ecolint.runner import Cache, _apply_per_file_ignores, _ignored_codes, cache_folder, display_path, lint_options

    options = lint_options(settings)
    extra = {"force_exclude": True} if getattr(settings, "force_exclude", False) else {}
    finder = FileFinder(settings.root, settings.exclude, settings.extend_exclude, settings.respect_gitignore,
                        suffixes=(*SOURCE_SUFFIXES, ".ipynb"), **extra)
    cache = Cache(cache_folder(settings), options) if use_cache else None
    run = FixRun()
    pending: list[tuple[Path, FixJob]] = []
    for found in finder.find(paths):
        display = display_path(found.path)
        if found.error:
            run.outcomes.append(FileOutcome(display, [file_error(display, found.error)]))
            continue
        run.files_checked += 1
        policy = policy_for(settings, unsafe_fixes, _ignored_codes(settings, found.path))
        cached = cache.get(found.path) if cache else None
        if cached is not None:
            diagnostics = [Diagnostic.from_dict(dict(d, filename=display)) for d in cached]
            if not any(policy.applies(d) for d in diagnostics):  # nothing to fix: the cache is the answer
                run.outcomes.append(FileOutcome(display, _apply_per_file_ignores(settings, found.path, diagnostics)))
                continue
        pending.append((found.path, FixJob(str(found.path), display, options, policy, write)))
    for (path, _), outcome in zip(pending, fix_files([job for _, job in pending], jobs)):
        if cache is not None and (outcome.written or not outcome.fixed) and not outcome.error:
            cache.put(path, [d.to_dict() for d in outcome.remaining])
        outcome.remaining = _apply_per_file_ignores(settings, path, outcome.remaining)
        run.outcomes.append(outcome)
    if cache is not None:
        cache.save()
    return run


def fix_stdin(settings: Settings, unsafe_fixes: bool | None,
              stdin_filename: str | None) -> tuple[FileOutcome, str, bytes]:
    """Fix source read from stdin; returns the outcome, the original text and the bytes to print."""
    from ecolint.runner import _apply_per_file_ignores, _ignored_codes, lint_options

    from ecolint.engine import file_error

    display = stdin_filename or "-"
    data = sys.stdin.buffer.read()
    try:
        text = decode_source(data)
    except SourceError as error:  # an editor waits for its text back: give it back unchanged
        return FileOutcome(display, [file_error(display, str(error))]), "", data
    path = Path(display) if stdin_filename else None
    policy = policy_for(settings, unsafe_fixes, _ignored_codes(settings, Path(display)))
    outcome = FileOutcome(display)
    if display.endswith(".ipynb"):
        from ecolint.notebooks import NotebookError, fix_notebook_text, lint_notebook_text

        options = lint_options(settings)
        try:
            result = fix_notebook_text(text, display, options, policy.unsafe, path, fixable=policy.fixable,
                                       unfixable=policy.unfixable)
            new_text, outcome.fixed, outcome.remaining = result.text, [("", "")] * result.fixed, result.remaining
        except NotebookError as error:
            new_text, outcome.error = text, str(error)
            outcome.remaining = lint_notebook_text(text, display, options, path)
    else:
        result = fix_with_policy(text, display, lint_options(settings), policy, path)
        new_text, outcome.remaining = result.source, result.remaining
        outcome.fixed = [(d.code, d.name) for d in result.fixed]
        if not result.converged:
            outcome.error = f"{result.error}; the source was left unchanged"
    outcome.remaining = _apply_per_file_ignores(settings, Path(display), outcome.remaining)
    outcome.diff = unified_diff(text, new_text, display) if new_text != text else ""
    output = data if new_text == text else _encode_like(data, new_text)
    return outcome, text, output


def _encode_like(original: bytes, text: str) -> bytes:
    """``text`` in the encoding the original bytes used (BOM and coding declaration honoured)."""
    import io
    import tokenize

    encoding, _ = tokenize.detect_encoding(io.BytesIO(original).readline)
    try:
        return text.encode(encoding)
    except (UnicodeEncodeError, LookupError):
        return original


def fix_command(paths: tuple[str, ...], settings: Settings, *, unsafe_fixes: bool | None, diff: bool,
                show_fixes: bool, stdin_filename: str | None, use_cache: bool, jobs: int | None,
                output_format: str, show_statistics: bool, quiet: bool, exit_zero: bool, emit) -> int:
    """Run ``check --fix`` (or ``--diff``) and print what the options ask for; returns the exit status."""
    run = FixRun()
    stdin_output: bytes | None = None
    if "-" in paths:
        outcome, _, stdin_output = fix_stdin(settings, unsafe_fixes, stdin_filename)
        run.outcomes.append(outcome)
        run.files_checked += 1
    disk_paths = [Path(p) for p in paths if p != "-"]
    if disk_paths:
        found = fix_disk_paths(disk_paths, settings, unsafe_fixes, write=not diff, use_cache=use_cache, jobs=jobs)
        run.outcomes.extend(found.outcomes)
        run.files_checked += found.files_checked
    for outcome in run.outcomes:
        if outcome.error:
            click.echo(f"ecolint: error: {outcome.display}: {outcome.error}", err=True)
    remaining = run.remaining
    unsafe_hidden = show_available(remaining, policy_for(settings, unsafe_fixes))

    if diff:
        text = "".join(outcome.diff for outcome in run.outcomes)
        if text:
            click.echo(text, nl=False)
        fixable, left = run.fixed, len(remaining)
        if fixable:
            message = f"Would fix {fixable} diagnostic{'s' if fixable != 1 else ''} ({left} remaining)."
        else:
            message = f"No fixes available ({left} diagnostic{'s' if left != 1 else ''} remaining)."
        click.echo(message, err=True)
        return EXIT_FOUND if text and not exit_zero else EXIT_CLEAN

    summary = Summary(files_checked=run.files_checked, fixed=run.fixed, unsafe_fixable=unsafe_hidden, quiet=quiet,
                      fix_mode=True)
    if stdin_output is not None:
        sys.stdout.buffer.write(stdin_output)
        sys.stdout.flush()
        with contextlib.redirect_stdout(sys.stderr):  # stdout holds the fixed source
            emit(remaining, summary, output_format, show_statistics)
            if show_fixes:
                _print_fixed(run)
    else:
        emit(remaining, summary, output_format, show_statistics)
        if show_fixes:
            _print_fixed(run)
    return EXIT_FOUND if remaining and not exit_zero else EXIT_CLEAN


def _print_fixed(run: FixRun) -> None:
    outcomes = [outcome for outcome in run.outcomes if outcome.fixed]
    if not outcomes:
        click.echo("No diagnostics were fixed.")
        return
    total = run.fixed
    click.echo(f"Fixed {total} diagnostic{'s' if total != 1 else ''}:")
    for outcome in sorted(outcomes, key=lambda item: item.display):
        click.echo(f"- {outcome.display}:")
        counts = Counter(outcome.fixed)
        for (code, name), count in sorted(counts.items()):
            label = f"{code} ({name})" if code else "fixes in code cells"
            click.echo(f"    {count} \u00d7 {label}")
