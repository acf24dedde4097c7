"""``# noqa`` comments: per line (all codes or a list) and per file (``# ecolint: noqa``)."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from ecolint.codes import is_legacy, modernize

_LINE = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:\s*,?\s*[A-Z]+[0-9]+)*))?", re.IGNORECASE)
_FILE = re.compile(
    r"^\s*#\s*ecolint:\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]+(?:\s*,?\s*[A-Z]+[0-9]+)*))?\s*$",
    re.IGNORECASE | re.MULTILINE,
)
_CODE = re.compile(r"[A-Z]+[0-9]+", re.IGNORECASE)


@dataclass
class Suppressions:
    """What a file's comments suppress."""

    whole_file: bool = False
    file_codes: set[str] = field(default_factory=set)
    lines: dict[int, set[str] | None] = field(default_factory=dict)  # None: every code
    legacy: list[tuple[int, str]] = field(default_factory=list)  # (row, code) written with the ECO prefix

    def suppresses(self, code: str, row: int) -> bool:
        if self.whole_file or code in self.file_codes:
            return True
        if row not in self.lines:
            return False
        codes = self.lines[row]
        return codes is None or code in codes


def _codes(text: str, row: int, found: Suppressions) -> set[str]:
    codes = set()
    for code in _CODE.findall(text):
        if is_legacy(code):
            found.legacy.append((row, code.upper()))
        codes.add(modernize(code).upper())
    return codes


def parse_suppressions(source: str) -> Suppressions:
    found = Suppressions()
    if "noqa" not in source and "NOQA" not in source.upper():
        return found
    row, counted = 1, 0
    for match in _FILE.finditer(source):
        codes = match.group("codes")
        if codes:
            row, counted = row + source.count("\n", counted, match.start()), match.start()
            found.file_codes |= _codes(codes, row, found)
        else:
            found.whole_file = True
    for row, line in enumerate(source.splitlines(), start=1):
        if "noqa" not in line.lower() or _FILE.match(line):
            continue
        match = _LINE.search(line)
        if match is None:
            continue
        codes = match.group("codes")
        found.lines[row] = _codes(codes, row, found) if codes else None
    return found
