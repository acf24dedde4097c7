"""Literal anchors of a regular expression: where its matches can start, found with ``str.find``.

Python's ``re`` scans a text quickly only for a pattern that starts with a literal; one that starts with
``\\b``, a class or an alternation is tried at every position (about thirty times slower on a large
module). Most trigger patterns hold a literal at a bounded distance from the start of every match
(``\\bfrom_pretrained\\s*\\(``: ``from_pretrained``, right at the start). :func:`anchors` finds such literals;
:func:`matches` then tries the pattern only at the positions those literals allow and yields exactly the
matches ``finditer`` yields (leftmost, not overlapping), with the same results as scanning the whole text.
"""

from __future__ import annotations

import heapq
import itertools
import re
from collections.abc import Iterator

try:
    from re import _parser as sre_parse  # Python 3.11+
except ImportError:  # pragma: no cover - Python 3.10
    import sre_parse  # type: ignore[no-redef]

Anchor = tuple[str, int, int]  # a literal, and the least and most characters a match can have before it
MAX_BEFORE = 200  # a literal further from the start of the match (or after a repeat) is not an anchor
MIN_LITERAL = 3  # shorter literals occur too often to be worth finding


def anchors(pattern: re.Pattern) -> tuple[Anchor, ...] | None:
    """Literals such that every match of ``pattern`` holds one of them at a bounded offset from its start;
    None when the pattern has no such set (a case-insensitive part first, a repeat before every literal)."""
    if pattern.flags & (re.IGNORECASE | re.VERBOSE) or not isinstance(pattern.pattern, str):
        return None
    parsed = sre_parse.parse(pattern.pattern, pattern.flags)
    found = _sequence(parsed.state, list(parsed.data))
    return tuple(found) if found else None


def required(pattern: re.Pattern) -> tuple[str, ...] | None:
    """Literals one of which every match of ``pattern`` holds, wherever in the match; None when there is
    no such set. A text without any of them cannot match (a test with ``in`` before a slow scan)."""
    if pattern.flags & (re.IGNORECASE | re.VERBOSE) or not isinstance(pattern.pattern, str):
        return None
    found = _required(list(sre_parse.parse(pattern.pattern, pattern.flags).data))
    return tuple(found) if found else None


def _required(items: list) -> list[str] | None:
    """The most selective set among those each part of the sequence requires (its shortest literal longest)."""
    options = []
    for index, (op, value) in enumerate(items):
        if op is sre_parse.LITERAL and (index == 0 or items[index - 1][0] is not sre_parse.LITERAL):
            run = "".join(chr(next_value) for _, next_value in
                          itertools.takewhile(lambda item: item[0] is sre_parse.LITERAL, items[index:]))
            if len(run) >= MIN_LITERAL:
                options.append([run])
        elif op is sre_parse.BRANCH:
            branches = [_required(list(branch.data)) for branch in value[1]]
            if all(branches):
                options.append([literal for branch in branches for literal in branch])
        elif op is sre_parse.SUBPATTERN and not value[1] & re.IGNORECASE:
            options.append(_required(list(value[-1].data)))
        elif op in (sre_parse.MAX_REPEAT, sre_parse.MIN_REPEAT) and value[0] >= 1:
            options.append(_required(list(value[-1].data)))
    options = [option for option in options if option]
    return max(options, key=lambda option: min(map(len, option)), default=None)


def _sequence(state, items: list) -> list[Anchor] | None:
    before_low = before_high = 0
    for index, (op, value) in enumerate(items):
        found = None
        if op is sre_parse.LITERAL:
            run = [chr(value)]
            for next_op, next_value in items[index + 1:]:
                if next_op is not sre_parse.LITERAL:
                    break
                run.append(chr(next_value))
            if len(run) >= MIN_LITERAL:
                found = [("".join(run), 0, 0)]
        elif op is sre_parse.BRANCH:
            branches = [_sequence(state, list(branch.data)) for branch in value[1]]
            if all(branches):
                found = [anchor for branch in branches for anchor in branch]
        elif op is sre_parse.SUBPATTERN and not value[1] & re.IGNORECASE:
            found = _sequence(state, list(value[-1].data))
        if found:
            return [(literal, low + before_low, high + before_high) for literal, low, high in found]
        low, high = sre_parse.SubPattern(state, [(op, value)]).getwidth()
        before_low, before_high = before_low + low, before_high + high
        if before_high > MAX_BEFORE:
            return None
    return None


def matches(pattern: re.Pattern, source: str, found: tuple[Anchor, ...]) -> Iterator[re.Match]:
    """``pattern.finditer(source)``, trying the pattern only where one of its anchors ``found`` lets a match
    start: every other position cannot start one."""
    end = 0
    for start in _starts(source, found):
        if start < end:
            continue  # inside the last match: finditer goes on after it
        match = pattern.match(source, start)
        if match is not None:
            yield match
            end = max(match.end(), start + 1)


def _starts(source: str, found: tuple[Anchor, ...]) -> Iterator[int]:
    """The positions where a match may start, in increasing order, each once."""
    if len(found) == 1:
        yield from _starts_of(source, *found[0])
        return
    last = -1
    for start in heapq.merge(*(_starts_of(source, *anchor) for anchor in found)):
        if start > last:
            last = start
            yield start


def _starts_of(source: str, literal: str, low: int, high: int) -> Iterator[int]:
    last = -1
    index = source.find(literal)
    while index != -1:
        first = max(index - high, last + 1, 0)
        last = index - low
        yield from range(first, last + 1)
        index = source.find(literal, index + 1)


class Anchored:
    """A compiled pattern searched through its literal anchors when it has some (``re.search`` otherwise)."""

    def __init__(self, text: str, flags: int = 0) -> None:
        self.regex = re.compile(text, flags)
        self.anchors = anchors(self.regex)

    def finditer(self, source: str) -> Iterator[re.Match]:
        if self.anchors is None:
            return self.regex.finditer(source)
        return matches(self.regex, source, self.anchors)

    def search(self, source: str) -> re.Match | None:
        return next(self.finditer(source), None)


def line_matches(pattern: re.Pattern, source: str, word: str) -> Iterator[re.Match]:
    """``pattern.finditer(source)`` for a pattern whose every match starts a line (``(?m)^``) and holds ``word``
    before the end of that line (``^[ \\t]*import ...``): it is tried only at the starts of lines with the word."""
    end = 0
    index = source.find(word)
    while index != -1:
        start = source.rfind("\n", 0, index) + 1
        if start >= end:
            match = pattern.match(source, start)
            if match is not None:
                yield match
                end = max(match.end(), start + 1)
        line_end = source.find("\n", index)
        if line_end == -1:
            break
        index = source.find(word, line_end)
