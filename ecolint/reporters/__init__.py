"""Output formats. Each reporter turns the run's diagnostics into text for one audience."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

from ecolint.diagnostics import Diagnostic


@dataclass
class Summary:
    """What a reporter may say besides the diagnostics themselves."""

    files_checked: int = 0
    fixed: int = 0
    unsafe_fixable: int = 0
    quiet: bool = False
    fix_mode: bool = False
    practices: list = field(default_factory=list)  # the run's good practices (workspace.Practice), for the audit


Reporter = Callable[[list[Diagnostic], Summary], str]
REPORTERS: dict[str, Reporter] = {}


def reporter(name: str) -> Callable[[Reporter], Reporter]:
    def register(function: Reporter) -> Reporter:
        REPORTERS[name] = function
        return function

    return register


from ecolint.reporters import concise, json_output  # noqa: E402,F401
from ecolint.reporters import audit, full, github, json_lines, junit, sarif  # noqa: E402,F401
