"""JSON Lines: one compact JSON object a diagnostic, the same fields as ``json``."""

from __future__ import annotations

import json

from ecolint.diagnostics import Diagnostic
from ecolint.reporters import Summary, reporter


@reporter("json-lines")
def render(diagnostics: list[Diagnostic], summary: Summary) -> str:
    return "\n".join(json.dumps(d.to_dict(), separators=(",", ":"), ensure_ascii=False) for d in diagnostics)
