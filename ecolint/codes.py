"""Rule code prefixes: ``LLM`` today, ``ECO`` read for one release with a deprecation message.

flake8 selects codes by prefix, so a family that starts with ``E`` (pycodestyle's errors) is
selected by ``--select E`` and silenced by ``--ignore E``. ecolint's codes start with ``LLM``,
which no common plugin's family contains; the former ``ECO`` codes still work in configuration,
on the command line and in ``# noqa`` comments until version 0.3, each use with a warning.
"""

from __future__ import annotations

import sys

PREFIX = "LLM"
LEGACY_PREFIX = "ECO"
LEGACY_UNTIL = "0.3"

_warned: set[str] = set()


def is_legacy(code: str) -> bool:
    return code.upper().startswith(LEGACY_PREFIX)


def modernize(code: str) -> str:
    """``ECO101`` -> ``LLM101``; any other code or prefix unchanged."""
    upper = code.upper()
    return PREFIX + upper[len(LEGACY_PREFIX):] if upper.startswith(LEGACY_PREFIX) else code


def warn_legacy(code: str, where: str) -> None:
    """One line on stderr, once per code and place, for a deprecated ``ECO`` code."""
    key = f"{code.upper()}@{where}"
    if key in _warned:
        return
    _warned.add(key)
    print(
        f"warning: {where}: rule code {code.upper()} is deprecated, write {modernize(code)} "
        f"(the {LEGACY_PREFIX} prefix is read until ecolint {LEGACY_UNTIL})",
        file=sys.stderr,
    )
