"""The progress line of a long run: files done of the total and the rate, on a terminal's stderr.

It appears only once a run has lasted ``SHOW_AFTER_S``, is redrawn in place at most every
``REDRAW_S``, and is erased when the run ends, so that the report that follows starts on a clean
line. Pipes, CI logs (the ``CI`` variable) and dumb terminals never get it.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Mapping
from typing import TextIO

SHOW_AFTER_S = 1.0  # a run that ends sooner shows nothing
REDRAW_S = 0.1
ERASE_LINE = "\r\x1b[K"


def stream_is_terminal(stream: TextIO) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):  # no isatty, or a closed stream
        return False


def wants_progress(stream: TextIO, environ: Mapping[str, str] | None = None) -> bool:
    """Whether a progress line belongs on ``stream``: a terminal, outside CI, that understands ``\\r``."""
    environ = os.environ if environ is None else environ
    if environ.get("CI", "").lower() not in ("", "0", "false") or environ.get("TERM") == "dumb":
        return False
    return stream_is_terminal(stream)


def format_duration(seconds: float) -> str:
    """``42 s``, ``3 min 5 s``, ``1 h 02 min``."""
    seconds = max(0, round(seconds))
    if seconds < 60:
        return f"{seconds} s"
    minutes, seconds = divmod(seconds, 60)
    if minutes < 60:
        return f"{minutes} min {seconds} s"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes:02d} min"


def time_left(done: int, total: int, elapsed: float) -> float | None:
    """The time the ``total - done`` remaining steps should take at the pace of the ``done`` ones."""
    if done <= 0 or elapsed <= 0:
        return None
    return elapsed / done * max(0, total - done)


class ProgressLine:
    """``ecolint: 1,200/2,860 files, 410 files/s``, rewritten in place; call it with (done, total)."""

    def __init__(self, stream: TextIO, *, show_after: float | None = None, redraw: float = REDRAW_S,
                 clock: Callable[[], float] = time.monotonic) -> None:
        self.stream = stream
        self.show_after = SHOW_AFTER_S if show_after is None else show_after
        self.redraw = redraw
        self.clock = clock
        self.started = clock()
        self.drawn_at: float | None = None

    def __call__(self, done: int, total: int) -> None:
        now = self.clock()
        elapsed = now - self.started
        if elapsed < self.show_after:
            return
        if self.drawn_at is not None and now - self.drawn_at < self.redraw and done < total:
            return
        rate = done / elapsed if elapsed > 0 else 0.0
        self.stream.write(f"{ERASE_LINE}ecolint: {done:,}/{total:,} files, {rate:,.0f} files/s")
        self.stream.flush()
        self.drawn_at = now

    def close(self) -> None:
        """Erase the line, if one was drawn."""
        if self.drawn_at is not None:
            self.stream.write(ERASE_LINE)
            self.stream.flush()
            self.drawn_at = None
