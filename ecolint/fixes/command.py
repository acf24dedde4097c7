"""``ecolint check --fix / --unsafe-fixes / --diff / --show-fixes``: the fix side of the check command."""

from __future__ import annotations

import contextlib
import sys
from collections import Counter
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import click

from ecolint.config import Settings
from ecolint.diagnostics import Diagnostic
from ecolint.engine import file_error
from ecolint.fixes.apply import FixPolicy
from ecolint.fixes.files import FileOutcome, fix_paths, fix_text
from ecolint.workspace import SourceError, SourceFile, Workspace, decode_source
from ecolint.workspace.sources import OverSizeLimit, read_limited
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
            diagnostic.hidden_fix = diagnostic.fix
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


def fix_disk_paths(workspace: Workspace, paths: list[Path], unsafe_fixes: bool | None, write: bool) -> FixRun:
    settings = workspace.settings
    outcomes, files_checked = fix_paths(
        workspace, paths, lambda path: policy_for(settings, unsafe_fixes, workspace.ignored_codes(path)), write)
    return FixRun(outcomes, files_checked)


def fix_stdin(workspace: Workspace, unsafe_fixes: bool | None,
              stdin_filename: str | None) -> tuple[FileOutcome, str, Iterable[bytes]]:
    """Fix source read from stdin; returns the outcome, the original text and the bytes to print."""
    display = stdin_filename or "-"
    source = SourceFile(Path(display) if stdin_filename else None, display)
    try:
        data = read_limited(sys.stdin.buffer, workspace.settings.max_file_size)
        text = decode_source(data)
    except OverSizeLimit as error:  # given back unchanged: what was read, then the rest as it comes
        return FileOutcome(display, [file_error(display, str(error))]), "", _passed_through(error.head)
    except SourceError as error:  # an editor waits for its text back: give it back unchanged
        return FileOutcome(display, [file_error(display, str(error))]), "", [data]
    policy = policy_for(workspace.settings, unsafe_fixes, workspace.ignored_codes(Path(display)))
    new_text, outcome = fix_text(text, source, workspace.options, policy)
    outcome.remaining = workspace.apply_file_settings(Path(display), outcome.remaining)
    output = data if new_text == text else _encode_like(data, new_text)
    return outcome, text, [output]


def _passed_through(head: bytes) -> Iterator[bytes]:
    """``head``, then the rest of stdin in chunks (memory stays bounded however much there is)."""
    yield head
    while chunk := sys.stdin.buffer.read(1 << 16):
        yield chunk


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
    workspace = Workspace(settings, use_cache=use_cache, jobs=jobs)
    stdin_output: Iterable[bytes] | None = None
    if "-" in paths:
        outcome, _, stdin_output = fix_stdin(workspace, unsafe_fixes, stdin_filename)
        run.outcomes.append(outcome)
        run.files_checked += 1
    disk_paths = [Path(p) for p in paths if p != "-"]
    if disk_paths:
        found = fix_disk_paths(workspace, disk_paths, unsafe_fixes, write=not diff)
        run.outcomes.extend(found.outcomes)
        run.files_checked += found.files_checked
    if output_format == "audit" and disk_paths and not diff:  # the good practices of the fixed files
        practices = Workspace(settings, use_cache=False, jobs=jobs, practices=True).lint(disk_paths).practices
    else:
        practices = []
    for outcome in run.outcomes:
        if outcome.error:
            click.echo(f"ecolint: error: {outcome.display}: {outcome.error}", err=True)
    remaining = run.remaining
    unsafe_hidden = show_available(remaining, policy_for(settings, unsafe_fixes))

    if diff:
        text = "".join(outcome.diff for outcome in run.outcomes)
        if text:
            click.echo(text, nl=False)
        click.echo(diff_summary(run.fixed, len(remaining), unsafe_hidden), err=True)
        for line in unsafe_fix_notes(run):
            click.echo(line, err=True)
        return EXIT_FOUND if text and not exit_zero else EXIT_CLEAN

    summary = Summary(files_checked=run.files_checked, fixed=run.fixed, unsafe_fixable=unsafe_hidden, quiet=quiet,
                      fix_mode=True, practices=practices)
    if stdin_output is not None:
        for chunk in stdin_output:
            sys.stdout.buffer.write(chunk)
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


def diff_summary(fixable: int, left: int, hidden: int) -> str:
    """The line ``--diff`` ends with: what ``--fix`` would fix, and what ``--unsafe-fixes`` would add."""
    remaining = f"{left} remaining" if fixable else f"{left} diagnostic{'s' if left != 1 else ''} remaining"
    if hidden:
        remaining += (f"; {hidden} unsafe fix{'es' if hidden != 1 else ''} available with --unsafe-fixes")
    if fixable:
        return f"Would fix {fixable} diagnostic{'s' if fixable != 1 else ''} ({remaining})."
    return f"No fixes available ({remaining})."


def unsafe_fix_notes(run: FixRun) -> list[str]:
    """One line per unsafe fix in the diff: what to prefer before it and what it risks (the rule's advice)."""
    from ecolint.rules import all_rules

    rules = all_rules()
    codes = sorted({code for outcome in run.outcomes for code, _ in outcome.fixed if code in rules})
    notes = []
    for code in codes:
        rule = rules[code]
        risks = [group.risk for group in (rule.penalty.groups if rule.penalty else ()) if group.fix and group.risk]
        if rule.fix_applicability == "unsafe" and risks:
            notes.append(f"{code} (unsafe fix: {rule.fix_title}): {' '.join(risks[0].split())}")
    return notes


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
