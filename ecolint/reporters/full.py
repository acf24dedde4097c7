"""Full output: each diagnostic with its source snippet, the range marked, the penalty and the fix."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from ecolint.diagnostics import Diagnostic
from ecolint.reporters import Summary, reporter
from ecolint.reporters.concise import summary_lines
from ecolint.rules import all_rules

CONTEXT = 1  # lines shown before and after the marked range
MAX_MARKED = 6  # lines of a long range shown before it is cut


@lru_cache(maxsize=256)
def _file_lines(filename: str) -> tuple[str, ...] | None:
    from ecolint.workspace.sources import SourceError, decode_source

    path = Path(filename)
    try:
        return tuple(decode_source(path.read_bytes()).splitlines())
    except (OSError, SourceError):
        return None


def source_lines(diagnostic: Diagnostic) -> tuple[str, ...] | None:
    """The lines the diagnostic's rows refer to: the file's, or its notebook cell's."""
    if diagnostic.filename in ("-", ""):
        return None
    if diagnostic.cell is not None:
        from ecolint.notebooks import cell_lines

        lines = cell_lines(Path(diagnostic.filename), diagnostic.cell)
        return tuple(lines) if lines is not None else None
    return _file_lines(diagnostic.filename)


def snippet(diagnostic: Diagnostic, lines: tuple[str, ...]) -> list[str]:
    start, end = diagnostic.location, diagnostic.end_location
    if not 1 <= start.row <= len(lines):
        return []
    last = min(max(end.row, start.row), len(lines), start.row + MAX_MARKED - 1)
    first_shown = max(1, start.row - CONTEXT)
    last_shown = min(len(lines), last + CONTEXT)
    width = len(str(last_shown))
    out = [f"{'':>{width}} |"]
    for row in range(first_shown, last_shown + 1):
        text = lines[row - 1].expandtabs(1)
        out.append(f"{row:>{width}} | {text}".rstrip())
        if start.row <= row <= last:
            begin = start.column - 1 if row == start.row else len(text) - len(text.lstrip())
            stop = end.column - 1 if row == end.row else len(text)
            stop = max(stop, begin + 1)
            label = f" {diagnostic.code}" if row == last else ""
            out.append(f"{'':>{width}} | {' ' * begin}{'^' * (stop - begin)}{label}")
    if last < end.row:
        out.append(f"{'':>{width}} | ... ({end.row - last} more lines)")
    out.append(f"{'':>{width}} |")
    return out


def notes(diagnostic: Diagnostic) -> list[str]:
    rule = all_rules().get(diagnostic.code)
    lines = []
    if rule is not None:
        lines.append(f"= penalty: {rule.penalty_text()}")
    if diagnostic.fix:
        applicability = diagnostic.fix.get("applicability", "")
        lines.append(f"= fix: {diagnostic.fix.get('message') or (rule.fix_title if rule else '')} ({applicability})")
    elif diagnostic.hidden_fix:
        message = diagnostic.hidden_fix.get("message") or (rule.fix_title if rule else "")
        lines.append(f"= fix: {message} (unsafe; available with --unsafe-fixes)")
    elif rule is not None and rule.fixable:
        lines.append(f"= fix: {rule.fix_title} ({rule.fix_applicability}; not available at this location)")
    elif rule is not None:
        lines.append("= fix: none automatic; see the rule's documentation")
    if diagnostic.url:
        lines.append(f"= docs: {diagnostic.url} (ecolint rule {diagnostic.code})")
    return lines


def render_one(diagnostic: Diagnostic) -> str:
    marker = " [*]" if diagnostic.fixable else ""
    where = f"{diagnostic.filename}:{diagnostic.location.row}:{diagnostic.location.column}"
    if diagnostic.cell is not None:
        where = f"{diagnostic.filename}:cell {diagnostic.cell}:{diagnostic.location.row}:{diagnostic.location.column}"
    parts = [f"{where}: {diagnostic.code}{marker} {diagnostic.message}"]
    lines = source_lines(diagnostic)
    if lines is not None:
        parts.extend(snippet(diagnostic, lines))
    parts.extend(f"  {note}" for note in notes(diagnostic))
    return "\n".join(parts)


@reporter("full")
def render(diagnostics: list[Diagnostic], summary: Summary) -> str:
    _file_lines.cache_clear()
    blocks = [render_one(d) for d in diagnostics]
    if not summary.quiet:
        blocks.append("\n".join(summary_lines(diagnostics, summary)))
    return "\n\n".join(blocks)
