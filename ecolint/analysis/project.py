"""What a module may ask about the rest of its project: constants and per-item generators it imports.

The analysis of one file sees only that file. A :class:`ProjectLink` (built by the
project index, ``ecolint.analysis.project_index``) answers for names imported from other
modules of the linted project (``from configs import BNB_CONFIG``, ``from .loading import run``);
third-party packages are never analyzed. Values from another module are re-anchored on the local
name that imports them, so findings and fixes only ever touch the file being linted.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Protocol

if TYPE_CHECKING:
    from ecolint.analysis.values import Value


class ProjectLink(Protocol):
    def constant(self, qualified: str) -> "Value | None":
        """The value of a module-level name of a project module (``pkg.configs.BNB_CONFIG``)."""

    def generator_chain(self, qualified: str, method: str | None = None) -> tuple[str, ...] | None:
        """For a project function (or, with ``method``, a method of a project class) that generates for the
        one item it is given: its chain of calls."""

    def item_calls(self, qualified: str) -> tuple | None:
        """For a project function that calls a callable it is given once per item of a loop: how (its
        ``ecolint.analysis.item_callers.ItemCall`` facts)."""
