"""What the project's transformers pin says about major versions, for rules whose advice depends on it."""

from __future__ import annotations

import re

from ecolint.project_versions import ProjectVersions, parse_release

V5 = (5,)
_UPPER = re.compile(r"(<=?|==|~=)\s*v?([0-9][0-9.]*)")


def transformers_major(versions: ProjectVersions) -> str:
    """``"5"``: every allowed version is v5 or newer; ``"4"``: every allowed version is below v5;
    ``"unknown"``: no pin, or a pin that allows both."""
    pin = versions.pin("transformers")
    if pin is None:
        return "unknown"
    if pin.minimum is not None and pin.minimum >= V5:
        return "5"
    for operator, text in _UPPER.findall(pin.spec or ""):
        release = parse_release(text)
        if release is None:
            continue
        if (operator == "<" and release <= V5) or (operator in ("<=", "==") and release < V5):
            return "4"
        if operator == "~=" and len(release) > 1 and release < V5:
            return "4"
    return "unknown"


def transformers_pin(versions: ProjectVersions) -> str:
    """``transformers>=4.40 (requirements.txt)``, or ``no transformers pin found``."""
    pin = versions.pin("transformers")
    return pin.describe() if pin is not None else "no transformers pin found"
