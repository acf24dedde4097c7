"""JSON: a list of objects with Ruff's field names plus ecolint's penalty and evidence."""

from __future__ import annotations

import json

from ecolint.diagnostics import Diagnostic
from ecolint.reporters import Summary, reporter


@reporter("json")
def render(diagnostics: list[Diagnostic], summary: Summary) -> str:
    return json.dumps([d.to_dict() for d in diagnostics], indent=2)
