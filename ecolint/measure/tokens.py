"""How a measured program tells ecolint how many tokens it produced.

Three ways, summed when several are used:

* ``ecolint measure --tokens N -- COMMAND`` (overrides the two others);
* the program prints a line ``ECOLINT_TOKENS=<n>`` on its standard output;
* the program calls :func:`report_tokens` (``from ecolint.measure import report_tokens``).
  Under ``ecolint measure`` the count goes to the file named by ``ECOLINT_TOKENS_FILE``;
  inside ``with measure_energy() as m:`` it is added to ``m`` (in-process measurement).
"""

from __future__ import annotations

import os
import re
import threading

TOKENS_FILE_ENV = "ECOLINT_TOKENS_FILE"
TOKENS_LINE = re.compile(r"^\s*ECOLINT_TOKENS\s*=\s*(\d+)\s*$")

_active = []  # in-process measurements currently open (objects with add_tokens)
_lock = threading.Lock()


def parse_tokens_line(line) -> int | None:
    """The count of an ``ECOLINT_TOKENS=<n>`` line, else None. Accepts str or bytes."""
    if isinstance(line, bytes):
        line = line.decode("utf-8", "replace")
    match = TOKENS_LINE.match(line)
    return int(match.group(1)) if match else None


def _check(count) -> int:
    if isinstance(count, bool):
        raise ValueError(f"token count must be a whole number, not {count!r}")
    if not isinstance(count, int):
        try:
            if float(count) != int(count):
                raise ValueError
            count = int(count)
        except (TypeError, ValueError):
            raise ValueError(f"token count must be a whole number, not {count!r}") from None
    if count < 0:
        raise ValueError(f"token count must not be negative, not {count}")
    return count


def report_tokens(count: int) -> int:
    """Report ``count`` generated tokens to whatever ecolint measurement is running.

    Safe to call when nothing measures (it then does nothing). Returns the count.
    """
    count = _check(count)
    with _lock:
        for measurement in _active:
            measurement.add_tokens(count)
    path = os.environ.get(TOKENS_FILE_ENV)
    if path:
        try:
            with open(path, "a", encoding="utf-8") as handle:
                handle.write(f"{count}\n")
        except OSError:
            pass  # the measuring process went away; nothing to report to
    return count


def read_tokens_file(path) -> int | None:
    """Sum of the counts written by :func:`report_tokens` to ``path``; None when none were."""
    try:
        with open(path, encoding="utf-8") as handle:
            counts = [int(line) for line in handle if line.strip().isdigit()]
    except OSError:
        return None
    return sum(counts) if counts else None


def register(measurement) -> None:
    with _lock:
        _active.append(measurement)


def unregister(measurement) -> None:
    with _lock:
        if measurement in _active:
            _active.remove(measurement)
