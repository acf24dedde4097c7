"""Checking all the fixes of one text with few parses: those that do not touch one another are applied
together and parsed once; only a group that fails is split in halves and parsed again.

Parsing once per fix would make linting quadratic in the number of fixable findings (each parse reads
the whole text). Here a text whose fixes all parse costs one parse per layer of fixes that can be
applied together (usually one), and each fix that fails costs a few more (a bisection).
"""

from __future__ import annotations

import bisect
from collections.abc import Callable, Sequence

from ecolint.fixes.edits import Edit, apply_edits, conflicts


class EditLayer:
    """Edits of several fixes that can be applied together: no edit touches another fix's edit; an edit
    two fixes share (one import for both) is made once."""

    def __init__(self) -> None:
        self.edits: list[Edit] = []  # sorted; each starts at or after the end of the one before

    def fits(self, edits: Sequence[Edit]) -> bool:
        """Whether a fix's sorted, non-overlapping edits can join the layer."""
        for edit in edits:
            at = bisect.bisect_left(self.edits, edit)
            if at < len(self.edits) and self.edits[at] == edit:
                continue  # shared
            # the layer's edits do not overlap, so only the neighbours in sorted order can touch ``edit``
            if at > 0 and conflicts(self.edits[at - 1], edit):
                return False
            if at < len(self.edits) and conflicts(self.edits[at], edit):
                return False
        return True

    def add(self, edits: Sequence[Edit]) -> None:
        for edit in edits:
            at = bisect.bisect_left(self.edits, edit)
            if at == len(self.edits) or self.edits[at] != edit:
                self.edits.insert(at, edit)


def layers(fixes: Sequence[Sequence[Edit]]) -> list[list[int]]:
    """The fixes (by index) in groups that can each be applied together, every fix in the first group it fits."""
    groups: list[tuple[EditLayer, list[int]]] = []
    for number, edits in enumerate(fixes):
        for layer, members in groups:
            if layer.fits(edits):
                layer.add(edits)
                members.append(number)
                break
        else:
            layer = EditLayer()
            layer.add(edits)
            groups.append((layer, [number]))
    return [members for _, members in groups]


def parsing_fixes(source: str, fixes: Sequence[Sequence[Edit]], parses: Callable[[str], bool]) -> list[bool]:
    """For each fix (sorted, non-overlapping edits of ``source``), whether the text parses with it applied.

    Fixes are checked in groups: a group whose edits, applied together, give text that parses passes as a
    whole; a group that does not is split in halves until the fixes that fail are found alone. (A fix that
    fails alone but passes together with others of its group would pass; fixes make local changes, and the
    fix loop parses what it writes again.)"""
    passed = [False] * len(fixes)
    pending = [members for members in layers(fixes)]
    while pending:
        group = pending.pop()
        edits = sorted({edit for number in group for edit in fixes[number]})
        if parses(apply_edits(source, edits)):
            for number in group:
                passed[number] = True
        elif len(group) > 1:
            half = len(group) // 2
            pending += [group[half:], group[:half]]
    return passed
