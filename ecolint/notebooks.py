"""Jupyter notebooks: lint the code cells, report ``cell N`` and the line in it, fix in place.

The code cells of a notebook share one namespace, so they are linted together: a config built
in one cell and used in a later one is followed like in a script. The cells are joined into one
source text, with a marker comment between two cells, and each diagnostic is mapped back to its
cell. If that text cannot be parsed, each cell with a syntax error is found by parsing it alone
so that one broken cell does not hide the others' findings: it is reported and left out.

IPython syntax is not Python: cell magics (``%%bash``) leave their cell out, and line magics,
shell escapes (``!pip install``) and help queries (``obj?``) are replaced by ``pass`` while
linting and restored when a fix rewrites the cell.

Cells are numbered from 1 in notebook order, Markdown and raw cells included, so ``cell 3`` is
the third cell from the top. A code cell whose ``source`` is not text (a number, null, a list
holding something other than strings) is reported (E902) and left out, never linted as ``str()``
of what it holds.

A fix rewrites only the ``source`` of the code cells it changed. The rest of the file (outputs,
metadata, key order, indentation, escaping, final newline) is written back as it was read; a
notebook whose JSON layout cannot be reproduced exactly is not rewritten.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from ecolint.diagnostics import Diagnostic, Location
from ecolint.engine import Analysis, LintOptions, analyze_text, file_error
from ecolint.workspace.sources import SourceError, decode_notebook, read_bytes
from ecolint.rules import SYNTAX_ERROR

BOUNDARY = "# ecolint: notebook cell boundary"
MAGIC = "pass  # ecolint: ipython magic {index}"
_MAGIC_LINE = re.compile(r"^(?P<indent>\s*)pass  # ecolint: ipython magic (?P<index>\d+)$")
_SOURCE_KEY = re.compile(r'(?<!\\)"source"\s*:')
_LINE_MAGIC = re.compile(r"^\s*(?:[%!]|\?|[A-Za-z_][\w.]*\s*=\s*[%!])|^[^#'\"]*\?\??\s*$")


class NotebookError(Exception):
    """A file that is not a notebook ecolint can read (the message is one line)."""


@dataclass
class Cell:
    number: int  # 1-based position among all cells
    index: int  # position in the ``cells`` array
    text: str  # the cell's source as stored
    python: str  # the source to lint: magics replaced, cell-magic cells blanked
    magics: dict[int, str] = field(default_factory=dict)  # magic number -> original line


@dataclass
class Notebook:
    data: dict
    text: str
    cells: list[Cell]
    problems: list[tuple[int, str]] = field(default_factory=list)  # (cell number, why it was left out)

    def virtual_source(self) -> tuple[str, list[tuple[int, int, int]]]:
        """The code cells joined into one text, and ``(cell number, first row, row count)`` spans."""
        parts: list[str] = []
        spans: list[tuple[int, int, int]] = []
        row = 1
        for position, cell in enumerate(self.cells):
            if position:
                parts.append(BOUNDARY + "\n")
                row += 1
            body = cell.python if cell.python.endswith("\n") or not cell.python else cell.python + "\n"
            count = body.count("\n")
            spans.append((cell.number, row, count))
            parts.append(body)
            row += count
        return "".join(parts), spans


def _source_text(value) -> str:
    if isinstance(value, list):
        return "".join(str(part) for part in value)
    return str(value or "")


def _source_problem(value) -> str | None:
    """Why a code cell's ``source`` is not text (nbformat: a string or a list of strings), or None."""
    if isinstance(value, str) or (isinstance(value, list) and all(isinstance(part, str) for part in value)):
        return None
    if isinstance(value, list):
        kind = next(type(part) for part in value if not isinstance(part, str))
        return f"source is not text (a list holding {_kind(kind)})"
    return f"source is not text ({_kind(type(value))})"


def _kind(kind: type) -> str:
    names = {type(None): "null", bool: "a boolean", int: "a number", float: "a number", dict: "an object",
             list: "a list"}
    return names.get(kind, kind.__name__)


def _python_of(text: str, counter: list[int]) -> tuple[str, dict[int, str]]:
    lines = text.split("\n")
    first = next((line for line in lines if line.strip()), "")
    if first.lstrip().startswith("%%"):
        return "\n".join("" for _ in lines), {}
    magics: dict[int, str] = {}
    out = []
    for line in lines:
        if line.strip() and _LINE_MAGIC.match(line) and not _is_python(line):
            counter[0] += 1
            magics[counter[0]] = line
            indent = line[: len(line) - len(line.lstrip())]
            out.append(indent + MAGIC.format(index=counter[0]))
        else:
            out.append(line)
    return "\n".join(out), magics


def _is_python(line: str) -> bool:
    """A line that merely looks like a magic (``x = a % b`` cannot; ``d?`` in a string can)."""
    stripped = line.strip()
    if stripped.startswith(("%", "!", "?")):
        return False
    try:
        compile(stripped, "<line>", "exec")
    except SyntaxError:
        return False
    return True


def parse_notebook(text: str) -> Notebook:
    try:
        data = json.loads(text)
    except ValueError as error:
        raise NotebookError(f"not a notebook (invalid JSON: {error})") from None
    if not isinstance(data, dict) or not isinstance(data.get("cells"), list):
        raise NotebookError("not a notebook (no cells list)")
    counter = [0]
    cells = []
    problems = []
    for index, raw in enumerate(data["cells"]):
        if not isinstance(raw, dict) or raw.get("cell_type") != "code":
            continue
        problem = _source_problem(raw.get("source"))
        if problem is not None:
            problems.append((index + 1, problem))
            continue
        text_of_cell = _source_text(raw.get("source"))
        python, magics = _python_of(text_of_cell, counter)
        cells.append(Cell(index + 1, index, text_of_cell, python, magics))
    return Notebook(data, text, cells, problems)


def is_python_notebook(notebook: Notebook) -> bool:
    metadata = notebook.data.get("metadata") or {}
    language = (metadata.get("language_info") or {}).get("name") or (metadata.get("kernelspec") or {}).get("language")
    return language is None or str(language).lower() == "python"


def _map(diagnostic: Diagnostic, spans: list[tuple[int, int, int]]) -> Diagnostic:
    def where(row: int) -> tuple[int, int]:
        for number, first, count in spans:
            if first <= row < first + max(count, 1):
                return number, row - first + 1
        for number, first, _ in spans:  # a boundary line: the next cell
            if row < first:
                return number, 1
        number, first, count = spans[-1]
        return number, max(1, row - first + 1)

    cell, row = where(diagnostic.location.row)
    end_cell, end_row = where(diagnostic.end_location.row)
    start = Location(row, diagnostic.location.column)
    end = Location(end_row, diagnostic.end_location.column) if end_cell == cell else start
    return replace(diagnostic, location=start, end_location=end, cell=cell,
                   fix=_map_fix(diagnostic.fix, spans, where, cell))


def _map_fix(fix: dict | None, spans, where, cell: int) -> dict | None:
    """A fix's edits in cell coordinates; a fix that spans cells is not offered."""
    if not fix:
        return fix
    edits = []
    for edit in fix.get("edits", []):
        start_cell, start_row = where(edit["location"]["row"])
        end_cell, end_row = where(edit["end_location"]["row"])
        if start_cell != cell or end_cell != cell:
            return None
        edits.append({
            **edit,
            "location": {"row": start_row, "column": edit["location"]["column"]},
            "end_location": {"row": end_row, "column": edit["end_location"]["column"]},
        })
    return {**fix, "edits": edits}


def lint_notebook_text(text: str, filename: str, options: LintOptions, path: Path | None = None) -> list[Diagnostic]:
    """Diagnostics for a notebook's code cells, each naming its cell and the row in it."""
    return analyze_notebook_text(text, filename, options, path).diagnostics


def analyze_notebook_text(text: str, filename: str, options: LintOptions, path: Path | None = None) -> Analysis:
    """The engine's analysis of a notebook's code cells, rows mapped to their cells."""
    try:
        notebook = parse_notebook(text)
    except NotebookError as error:
        return Analysis([file_error(filename, str(error))])
    if not is_python_notebook(notebook):
        return Analysis()
    problems = [replace(file_error(filename, problem), cell=number)
                for number, problem in notebook.problems]
    if not notebook.cells:
        return Analysis(problems)
    analysis = _analyze_cells(notebook, filename, options, path)
    if problems:
        analysis = replace(analysis, diagnostics=sorted([*problems, *analysis.diagnostics], key=_cell_order))
    return analysis


def _analyze_cells(notebook: Notebook, filename: str, options: LintOptions, path: Path | None) -> Analysis:
    source, spans = notebook.virtual_source()
    analysis = analyze_text(source, filename, options, path)
    practices = [_map_row(row, spans) + (text,) for row, _, text in analysis.practices]
    diagnostics = analysis.diagnostics
    if not any(d.code == SYNTAX_ERROR for d in diagnostics):
        return Analysis(sorted((_map(d, spans) for d in diagnostics), key=_cell_order), practices)
    # a cell that cannot be parsed: report it, and lint the others with it left out
    import libcst as cst

    found: list[Diagnostic] = []
    for cell in notebook.cells:
        try:
            cst.parse_module(cell.python)
        except cst.ParserSyntaxError as error:
            found.append(replace(file_error(filename, f"SyntaxError: {error.message}", error.raw_line,
                                            error.raw_column + 1, SYNTAX_ERROR), cell=cell.number))
            cell.python = "\n" * cell.python.count("\n")
        except RecursionError:
            found.append(replace(file_error(filename, "SyntaxError: too deeply nested to parse", 1, 1, SYNTAX_ERROR),
                                 cell=cell.number))
            cell.python = "\n" * cell.python.count("\n")
    if not found:  # only the joined cells fail (a cell ending inside brackets): report where
        return Analysis(sorted((_map(d, spans) for d in diagnostics), key=_cell_order), practices)
    source, spans = notebook.virtual_source()
    analysis = analyze_text(source, filename, options, path)
    found += [_map(d, spans) for d in analysis.diagnostics if d.code != SYNTAX_ERROR]
    practices = [_map_row(row, spans) + (text,) for row, _, text in analysis.practices]
    return Analysis(sorted(found, key=_cell_order), practices)


def _map_row(row: int, spans: list[tuple[int, int, int]]) -> tuple[int, int | None]:
    """A row of the joined cells as ``(row in its cell, cell number)``."""
    for number, first, count in spans:
        if first <= row < first + max(count, 1):
            return row - first + 1, number
    return row, None


def _cell_order(diagnostic: Diagnostic) -> tuple:
    return (diagnostic.filename, diagnostic.cell or 0, diagnostic.location.row, diagnostic.location.column,
            diagnostic.code)


def read_text(path: Path) -> str:
    return decode_notebook(read_bytes(path))


def lint_notebook(path: Path, display: str, options: LintOptions) -> list[Diagnostic]:
    try:
        text = read_text(path)
    except SourceError as error:
        return [file_error(display, str(error))]
    return lint_notebook_text(text, display, options, path)


def cell_lines(path: Path, cell: int) -> list[str] | None:
    """The lines of cell ``cell`` (1-based, all cells counted), for showing source snippets."""
    try:
        data = json.loads(read_text(path))
        raw = data["cells"][cell - 1]
    except (OSError, SourceError, ValueError, KeyError, IndexError, TypeError):
        return None
    return _source_text(raw.get("source")).splitlines()


def file_row(path: Path, cell: int, row: int) -> int | None:
    """The line of the notebook file that holds line ``row`` of cell ``cell``, when it can be told.

    Notebooks written by Jupyter store a cell's source as a list of strings, one a line; the
    strings are looked for in order below the cell's ``"source"`` key.
    """
    try:
        text = read_text(path)
    except (OSError, SourceError):
        return None
    return file_row_in_text(text, cell, row)


def file_row_in_text(text: str, cell: int, row: int) -> int | None:
    """:func:`file_row` for a notebook's JSON text (an editor's buffer)."""
    try:
        data = json.loads(text)
        raw = data["cells"][cell - 1]
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    source = raw.get("source") if isinstance(raw, dict) else None
    if not isinstance(source, list) or not 1 <= row <= len(source):
        return None
    lines = text.splitlines()
    position = 0
    for index, item in enumerate(data["cells"][:cell]):
        if not isinstance(item, dict) or "source" not in item:
            continue
        while position < len(lines) and not lines[position].lstrip().startswith('"source"'):
            position += 1
        position += 1  # past this cell's "source" line, whatever its value (a string, a number, null)
        if not isinstance(item["source"], list):
            continue
        for number, part in enumerate(item["source"], start=1):
            if not isinstance(part, str):
                return None
            forms = {json.dumps(part, ensure_ascii=False), json.dumps(part)}
            while position < len(lines) and not any(form in lines[position] for form in forms):
                position += 1
            if position >= len(lines):
                return None
            if index == cell - 1 and number == row:
                return position + 1
            position += 1
    return None


def source_key_row(text: str, cell: int) -> int | None:
    """The line of the notebook's JSON text with cell ``cell``'s ``"source"`` key, when it can be told."""
    try:
        cells = json.loads(text)["cells"]
        wanted = cells[cell - 1]
    except (ValueError, KeyError, IndexError, TypeError):
        return None
    if not isinstance(wanted, dict) or "source" not in wanted:
        return None
    before = sum(1 for item in cells[:cell - 1] if isinstance(item, dict) and "source" in item)
    for count, match in enumerate(_SOURCE_KEY.finditer(text)):
        if count == before:
            return text.count("\n", 0, match.start()) + 1
    return None


# ---- fixing -------------------------------------------------------------------------------


@dataclass
class NotebookFix:
    """What fixing a notebook did: its new text (unchanged when nothing was fixed)."""

    text: str
    fixed: int
    remaining: list[Diagnostic]
    changed: bool


def _json_layout(text: str, data: dict) -> dict | None:
    """``json.dumps`` arguments that reproduce ``text`` exactly from ``data``, if any do."""
    trailing = text[len(text.rstrip("\r\n")):]
    body = text[: len(text) - len(trailing)] if trailing else text
    for indent in (1, 2, 4, 3, "\t", None):
        for ensure_ascii in (False, True):
            for separators in ((",", ": "), (", ", ": "), (",", ":")):
                if indent is None and separators == (",", ": "):
                    continue
                try:
                    dumped = json.dumps(data, indent=indent, ensure_ascii=ensure_ascii, separators=separators)
                except (TypeError, ValueError):
                    return None
                if "\r\n" in body:
                    dumped = dumped.replace("\n", "\r\n")
                if dumped == body:
                    return {"indent": indent, "ensure_ascii": ensure_ascii, "separators": separators,
                            "trailing": trailing, "crlf": "\r\n" in body}
    return None


def _split_virtual(source: str, count: int) -> list[str] | None:
    parts: list[list[str]] = [[]]
    for line in source.splitlines(keepends=True):
        if line.rstrip("\r\n") == BOUNDARY:
            parts.append([])
        else:
            parts[-1].append(line)
    if len(parts) != count:
        return None
    return ["".join(part) for part in parts]


def _restore(cell: Cell, fixed: str) -> str:
    lines = []
    for line in fixed.split("\n"):
        match = _MAGIC_LINE.match(line)
        if match and int(match.group("index")) in cell.magics:
            lines.append(cell.magics[int(match.group("index"))])
        else:
            lines.append(line)
    text = "\n".join(lines)
    # the joined text gave every cell a final newline; keep the cell's own ending
    if not cell.text.endswith("\n") and text.endswith("\n"):
        text = text[:-1]
    return text


def _stored_source(original, text: str):
    if isinstance(original, list):
        return text.splitlines(keepends=True)
    return text


def fix_notebook_text(text: str, filename: str, options: LintOptions, unsafe: bool = False,
                      path: Path | None = None, fixable=None, unfixable=()) -> NotebookFix:
    """Apply ecolint's fixes to the code cells; outputs, metadata and layout stay as they were.

    ``fixable`` and ``unfixable`` are the settings' code selectors, as for ``fix_source``.
    """
    from ecolint.fixes import fix_source  # the fix engine; imported only when fixing

    notebook = parse_notebook(text)
    if not notebook.cells or not is_python_notebook(notebook):
        return NotebookFix(text, 0, [], False)
    source, spans = notebook.virtual_source()
    if fixable is None and not unfixable:
        result = fix_source(source, filename, options, unsafe)
    else:
        result = fix_source(source, filename, options, unsafe, fixable=fixable, unfixable=tuple(unfixable))
    if getattr(result, "error", None):
        raise NotebookError(f"not fixed: {result.error}")
    remaining = [_map(d, spans) for d in result.remaining]
    if not result.fixed or result.source == source:
        return NotebookFix(text, 0, sorted(remaining, key=_cell_order), False)
    pieces = _split_virtual(result.source, len(notebook.cells))
    layout = _json_layout(text, notebook.data)
    if pieces is None:
        raise NotebookError("a fix moved code across cells; the notebook was not rewritten")
    if layout is None:
        raise NotebookError("the notebook's JSON layout is not one ecolint can reproduce; it was not rewritten")
    data = notebook.data
    for cell, piece in zip(notebook.cells, pieces):
        if piece == (cell.python if cell.python.endswith("\n") or not cell.python else cell.python + "\n"):
            continue
        new_text = _restore(cell, piece)
        raw = data["cells"][cell.index]
        raw["source"] = _stored_source(raw.get("source"), new_text)
    dumped = json.dumps(data, indent=layout["indent"], ensure_ascii=layout["ensure_ascii"],
                        separators=layout["separators"])
    if layout["crlf"]:
        dumped = dumped.replace("\n", "\r\n")
    new_text = dumped + layout["trailing"]
    # diagnostics left after fixing, in the rewritten notebook's cells
    remaining = lint_notebook_text(new_text, filename, options, path)
    fixed = result.fixed if isinstance(result.fixed, int) else len(result.fixed)
    return NotebookFix(new_text, fixed, remaining, new_text != text)


def fix_notebook(path: Path, display: str, options: LintOptions, unsafe: bool = False, fixable=None,
                 unfixable=()) -> NotebookFix:
    """Fix a notebook file in place (written only when something changed)."""
    text = read_text(path)
    outcome = fix_notebook_text(text, display, options, unsafe, path, fixable, unfixable)
    if outcome.changed:
        path.write_bytes(outcome.text.encode("utf-8"))
    return outcome
