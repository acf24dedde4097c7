"""The cheap text prefilter: whether a selected rule can fire on a file, from the rules' ``triggers``.

Each rule file has ``triggers``: ``words`` (one must occur in the text; a plain ``in`` test that
runs first) and ``patterns``, groups of regular expressions: the rule can fire when every pattern
of one group matches. A pattern starting with ``code:`` counts only on code lines, not in comments,
doctest examples or docstrings. A pattern is tried only where the literals every match holds let one
start (``ecolint.regex_anchors``). A rule file without triggers is never skipped. Only the YAML is read (once per
process): neither libcst nor the measurement data is loaded here.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Iterator
from functools import cached_property, lru_cache

from ecolint.regex_anchors import anchors, matches, required
from ecolint.rule_schema import CODE_ONLY, rule_data

Group = tuple[tuple[str, ...], tuple["_Pattern", ...]]


LONG_LINE = 1000  # a text with a longer line skips the patterns: their backtracking grows with the square of a line


def could_match(source: str, codes: frozenset[str]) -> bool:
    """False means no rule of ``codes`` can fire on this source text."""
    candidates = [patterns for words, patterns in _groups(codes) if any(word in source for word in words)]
    if candidates and _longest_line(source) > LONG_LINE:
        return True  # as if every pattern matched: the text is parsed, which takes time linear in its size
    return any(all(pattern.found_in(source) for pattern in _anchored_first(patterns)) for patterns in candidates)


def matching_codes(source: str, codes: frozenset[str]) -> frozenset[str]:
    """The codes of ``codes`` whose triggers match the text: :func:`could_match` for each code, in one pass
    (each word is looked for once, each pattern searched at most once, whichever rules share it)."""
    words: dict[str, bool] = {}
    patterns: dict[str, bool] = {}
    long_text = None
    quotes: list = [None]  # the text's triple quotes, found once for all code-line patterns
    found = []
    for code in sorted(codes):
        for group_words, group in _code_groups(code):
            if not any(_memo(words, word, lambda word=word: word in source) for word in group_words):
                continue
            if long_text is None:
                long_text = _longest_line(source) > LONG_LINE
            if long_text or all(_memo(patterns, pattern.text, lambda pattern=pattern: pattern.found_in(source, quotes))
                                for pattern in _anchored_first(group)):
                found.append(code)
                break
    return frozenset(found)


def _memo(known: dict[str, bool], key: str, compute) -> bool:
    answer = known.get(key)
    if answer is None:
        answer = known[key] = compute()
    return answer


def _anchored_first(patterns: tuple[_Pattern, ...]) -> list[_Pattern]:
    """A group's patterns, those found through their literal anchors first (all of them must match)."""
    return sorted(patterns, key=_Pattern.scans_all) if len(patterns) > 1 else list(patterns)


def _longest_line(source: str) -> int:
    return max(map(len, source.split("\n")))


@lru_cache(maxsize=None)
def triggers() -> dict[str, dict]:
    """Each rule's ``triggers`` by code (rules without them are left out)."""
    return {code: data["triggers"] for code, data in rule_data().items() if data.get("triggers")}


@lru_cache(maxsize=64)
def _groups(codes: frozenset[str]) -> tuple[Group, ...]:
    return tuple(group for code in sorted(codes) for group in _code_groups(code))


@lru_cache(maxsize=None)
def _code_groups(code: str) -> tuple[Group, ...]:
    """One rule's trigger groups: (words, patterns); none for a code that is not a rule's (E999, ...)."""
    if code not in rule_data():
        return ()  # nothing to parse for
    entry = triggers().get(code)
    if entry is None:
        return ((("",), ()),)  # a rule file without triggers: always parse
    words = tuple(entry.get("words") or ("",))
    return tuple((words, tuple(_Pattern(text) for text in group)) for group in entry["patterns"])


# Triple quotes open and close docstrings: a match after an odd number of them is inside one (an example
# in a docstring is not code).
_TRIPLE_QUOTE = re.compile(r'"""|\'\'\'')


class _Pattern:
    def __init__(self, text: str) -> None:
        self.code_only = text.startswith(CODE_ONLY)
        self.text = text.removeprefix(CODE_ONLY)

    @cached_property
    def regex(self) -> re.Pattern:
        """Compiled when first searched: a text without a group's words never compiles its patterns."""
        return re.compile(self.text, re.MULTILINE)

    @cached_property
    def anchors(self) -> tuple[tuple[str, int, int], ...] | None:
        return anchors(self.regex)

    @cached_property
    def required(self) -> tuple[str, ...] | None:
        return required(self.regex) if self.anchors is None else None

    def scans_all(self) -> bool:
        """Whether the pattern is tried at every position of a text (it has no literal anchors)."""
        return self.anchors is None

    def _matches(self, source: str) -> Iterator[re.Match]:
        if self.anchors is None:
            if self.required is not None and not any(literal in source for literal in self.required):
                return iter(())  # no match can lack all of them
            return self.regex.finditer(source)
        return matches(self.regex, source, self.anchors)

    def found_in(self, source: str, quotes: list | None = None) -> bool:
        """Whether the pattern matches (a ``code:`` one on a code line); ``quotes`` (``[None]``), shared by the
        patterns searched in one text, keeps the positions of its triple quotes once found."""
        if not self.code_only:
            return next(self._matches(source), None) is not None
        quotes = quotes or [None]
        for match in self._matches(source):
            line_start = source.rfind("\n", 0, match.start()) + 1
            before = source[line_start:match.start()]
            if "#" in before or before.lstrip().startswith((">>>", "...")):
                continue
            if quotes[0] is None:
                quotes[0] = [found.start() for found in _TRIPLE_QUOTE.finditer(source)]
            if bisect.bisect_left(quotes[0], match.start()) % 2 == 0:  # not inside a docstring
                return True
        return False
