"""GitHub Actions workflow commands: one ``::warning``/``::error``/``::notice`` annotation a diagnostic."""

from __future__ import annotations

from pathlib import Path

from ecolint.diagnostics import Diagnostic
from ecolint.reporters import Summary, reporter

LEVELS = {"error": "error", "warning": "warning", "info": "notice"}


def escape_data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def escape_property(text: str) -> str:
    return escape_data(text).replace(":", "%3A").replace(",", "%2C")


def annotation(diagnostic: Diagnostic) -> str:
    level = LEVELS.get(diagnostic.severity, "warning")
    start, end = diagnostic.location, diagnostic.end_location
    message = f"{diagnostic.code} {diagnostic.message}"
    properties = [("title", f"ecolint ({diagnostic.code})"), ("file", diagnostic.filename)]
    if diagnostic.cell is not None:
        from ecolint.notebooks import file_row

        message = f"cell {diagnostic.cell}, line {start.row}: {message}"
        row = file_row(Path(diagnostic.filename), diagnostic.cell, start.row)
        if row is not None:
            properties.append(("line", str(row)))
    else:
        properties += [("line", str(start.row)), ("col", str(start.column))]
        properties.append(("endLine", str(end.row)))
        if end.row == start.row:
            properties.append(("endColumn", str(end.column)))
    fields = ",".join(f"{key}={escape_property(value)}" for key, value in properties)
    return f"::{level} {fields}::{escape_data(message)}"


@reporter("github")
def render(diagnostics: list[Diagnostic], summary: Summary) -> str:
    return "\n".join(annotation(d) for d in diagnostics)
