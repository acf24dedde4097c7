"""Python files exported from notebooks keep IPython lines (``!pip install``, ``%cd``, ``%%time``).

Such a file does not parse, but the rest of it is Python. ecolint reports the first IPython line as
E999, as before, and lints the file with those lines masked, as a notebook cell would be: each one
becomes ``pass`` at the same indentation, so every other line and column stays where it was.
"""

from __future__ import annotations

import re

# ``!cmd``, ``%magic``, ``%%cell_magic``, ``x = !cmd`` / ``x = %magic`` at the start of a line
IPYTHON_LINE = re.compile(r"^(?P<indent>[ \t]*)(?:[!%]|[A-Za-z_][\w.]*[ \t]*=[ \t]*[!%])\S")


def masked(source: str) -> tuple[str, int] | None:
    """The source with IPython lines replaced by ``pass``, and the first such line's number; None when
    there is none."""
    lines = source.split("\n")
    first = None
    for number, line in enumerate(lines):
        match = IPYTHON_LINE.match(line)
        if match is None or _continues_previous(lines, number):
            continue
        first = number + 1 if first is None else first
        lines[number] = match.group("indent") + "pass"
    return ("\n".join(lines), first) if first is not None else None


def _continues_previous(lines: list[str], number: int) -> bool:
    """``% 3`` on a line after ``x = (a`` or ``a \\`` is an operator inside an expression, not a magic."""
    if number == 0:
        return False
    previous = lines[number - 1].rstrip()
    return previous.endswith(("\\", "(", "[", "{", ",", "+", "-", "*", "/", "%"))
