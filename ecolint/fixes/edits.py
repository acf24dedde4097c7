"""Text edits, the unit every fix is made of, and their Ruff-shaped JSON form.

An edit replaces ``text[start:end]`` with ``content`` (offsets are string indices). In JSON an
edit is ``{"content", "location": {"row", "column"}, "end_location": {...}}`` with 1-based rows
and columns counted in characters, lines being ended by ``\\r\\n``, ``\\r`` or ``\\n`` as
Python's tokenizer (and libcst's positions) count them.
"""

from __future__ import annotations

import bisect
import re
from dataclasses import dataclass

APPLICABILITIES = ("safe", "unsafe")
_NEWLINE = re.compile(r"\r\n|\r|\n")
_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+$")


class EditError(ValueError):
    """Edits that cannot be applied: overlapping, out of range, or not matching the text."""


@dataclass(frozen=True, order=True)
class Edit:
    start: int
    end: int
    content: str = ""

    @property
    def is_deletion(self) -> bool:
        return not self.content


class LineIndex:
    """Converts between string offsets and 1-based (row, column) positions."""

    def __init__(self, text: str) -> None:
        self.text = text
        self.starts = [0] + [match.end() for match in _NEWLINE.finditer(text)]

    def location(self, offset: int) -> tuple[int, int]:
        row = bisect.bisect_right(self.starts, offset) - 1
        return row + 1, offset - self.starts[row] + 1

    def offset(self, row: int, column: int) -> int:
        if not 1 <= row <= len(self.starts) or column < 1:
            raise EditError(f"position {row}:{column} is outside the text")
        start = self.starts[row - 1]
        line_end = self.starts[row] if row < len(self.starts) else len(self.text)
        offset = start + column - 1
        if offset > line_end:
            raise EditError(f"position {row}:{column} is past the end of its line")
        return offset

    def line_start(self, offset: int) -> int:
        return self.starts[bisect.bisect_right(self.starts, offset) - 1]


def normalize(edits: list[Edit]) -> list[Edit]:
    """Edits sorted by position, overlapping deletions merged; other overlaps are an error."""
    result: list[Edit] = []
    for edit in sorted(edits):
        if edit.start > edit.end:
            raise EditError("an edit ends before it starts")
        if result and edit.start < result[-1].end:
            last = result[-1]
            if edit == last:
                continue
            if last.is_deletion and edit.is_deletion:
                result[-1] = Edit(last.start, max(last.end, edit.end))
                continue
            raise EditError("edits of one fix overlap")
        if result and edit == result[-1]:
            continue
        result.append(edit)
    return result


def apply_edits(text: str, edits: list[Edit]) -> str:
    """``text`` with non-overlapping, sorted edits applied."""
    pieces: list[str] = []
    position = 0
    for edit in edits:
        if edit.start < position or edit.end > len(text):
            raise EditError("edits overlap or run past the end of the text")
        pieces.append(text[position:edit.start])
        pieces.append(edit.content)
        position = edit.end
    pieces.append(text[position:])
    return "".join(pieces)


def conflicts(first: Edit, second: Edit) -> bool:
    """Whether two edits of different fixes touch or overlap (identical edits do not conflict)."""
    if first == second:
        return False
    return first.start <= second.end and second.start <= first.end


def edits_to_dicts(edits: list[Edit], index: LineIndex) -> list[dict]:
    dicts = []
    for edit in edits:
        row, column = index.location(edit.start)
        end_row, end_column = index.location(edit.end)
        dicts.append({
            "content": edit.content,
            "location": {"row": row, "column": column},
            "end_location": {"row": end_row, "column": end_column},
        })
    return dicts


def edits_from_fix(fix: dict, index: LineIndex) -> list[Edit]:
    """The edits of a diagnostic's ``fix`` dict as offsets into the text ``index`` was built from."""
    edits = []
    for raw in fix.get("edits") or []:
        start = index.offset(raw["location"]["row"], raw["location"]["column"])
        end = index.offset(raw["end_location"]["row"], raw["end_location"]["column"])
        if end < start:
            raise EditError("an edit ends before it starts")
        edits.append(Edit(start, end, str(raw.get("content", ""))))
    return sorted(edits)


def unified_diff(before: str, after: str, name: str) -> str:
    """A unified diff of two texts, marking a missing final newline as diff(1) does."""
    import difflib

    def lines(text: str) -> list[str]:
        found = _LINE.findall(text)
        if found and not found[-1].endswith(("\n", "\r")):
            found[-1] += "\n\\ No newline at end of file\n"
        return found

    return "".join(difflib.unified_diff(lines(before), lines(after), f"a/{name}", f"b/{name}"))
