"""flake8-style lines: ``path:line:col: CODE message [*]``, then a summary."""

from __future__ import annotations

from collections import Counter

from ecolint.diagnostics import Diagnostic
from ecolint.reporters import Summary, reporter


def diagnostic_line(diagnostic: Diagnostic) -> str:
    marker = " [*]" if diagnostic.fixable else ""
    where = f"{diagnostic.filename}:{diagnostic.location.row}:{diagnostic.location.column}"
    if diagnostic.cell is not None:
        where = f"{diagnostic.filename}:cell {diagnostic.cell}:{diagnostic.location.row}:{diagnostic.location.column}"
    return f"{where}: {diagnostic.code} {diagnostic.message}{marker}"


def summary_lines(diagnostics: list[Diagnostic], summary: Summary) -> list[str]:
    lines = []
    count = len(diagnostics)
    files = f"{summary.files_checked} file{'s' if summary.files_checked != 1 else ''}"
    if summary.fix_mode and (summary.fixed or count):
        found = count + summary.fixed
        lines.append(f"Found {found} diagnostic{'s' if found != 1 else ''} ({summary.fixed} fixed, {count} remaining)"
                     f" in {files} checked.")
    elif summary.fixed:
        lines.append(f"Fixed {summary.fixed} diagnostic{'s' if summary.fixed != 1 else ''}.")
    if count == 0:
        lines.append(f"All checks passed ({files} checked).")
        return lines
    if not summary.fix_mode:
        lines.append(f"Found {count} diagnostic{'s' if count != 1 else ''} in {files} checked.")
    fixable = sum(1 for d in diagnostics if d.fixable)
    if fixable:
        lines.append(f"[*] {fixable} fixable with the `--fix` option.")
    if summary.unsafe_fixable:
        lines.append(f"{summary.unsafe_fixable} more fixable with the `--unsafe-fixes` option.")
    return lines


@reporter("concise")
def render(diagnostics: list[Diagnostic], summary: Summary) -> str:
    lines = [diagnostic_line(d) for d in diagnostics]
    if not summary.quiet:
        lines.extend(summary_lines(diagnostics, summary))
    return "\n".join(lines)


def statistics(diagnostics: list[Diagnostic]) -> list[dict]:
    counts = Counter(d.code for d in diagnostics)
    names = {d.code: d.name for d in diagnostics}
    fixable = {d.code for d in diagnostics if d.fixable}
    return [
        {"code": code, "name": names[code], "count": count, "fixable": code in fixable}
        for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0]))
    ]


def render_statistics(diagnostics: list[Diagnostic]) -> str:
    rows = statistics(diagnostics)
    width = max((len(str(row["count"])) for row in rows), default=1)
    return "\n".join(
        f"{row['count']:>{width}}\t{row['code']}\t{'[*] ' if row['fixable'] else '    '}{row['name']}" for row in rows
    )
