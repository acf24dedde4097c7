"""Output formats. Each reporter turns the run's diagnostics into text for one audience."""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterator, Mapping
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

# Each format's module, imported the first time the format is used: a run loads only its own reporter.
REPORTER_MODULES = {
    "concise": "concise",
    "full": "full",
    "json": "json_output",
    "json-lines": "json_lines",
    "github": "github",
    "sarif": "sarif",
    "junit": "junit",
    "audit": "audit",
}
# Formats that other programs read: nothing but the report goes to the terminal with them.
MACHINE_FORMATS = frozenset({"json", "json-lines", "sarif", "junit", "github"})
_registered: dict[str, Reporter] = {}


def reporter(name: str) -> Callable[[Reporter], Reporter]:
    def register(function: Reporter) -> Reporter:
        _registered[name] = function
        return function

    return register


class _Reporters(Mapping):
    """Reporter functions by format name; a format's module is imported on first lookup."""

    def __getitem__(self, name: str) -> Reporter:
        if name not in _registered and name in REPORTER_MODULES:
            importlib.import_module(f"{__name__}.{REPORTER_MODULES[name]}")
        return _registered[name]

    def __iter__(self) -> Iterator[str]:
        return iter({**dict.fromkeys(REPORTER_MODULES), **dict.fromkeys(_registered)})

    def __len__(self) -> int:
        return len(set(REPORTER_MODULES) | set(_registered))


REPORTERS: Mapping[str, Reporter] = _Reporters()
