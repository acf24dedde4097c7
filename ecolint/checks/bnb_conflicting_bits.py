"""LLM104 bnb-conflicting-bits: 8-bit and 4-bit bitsandbytes loading requested together."""

from __future__ import annotations

from collections.abc import Iterator

from ecolint.analysis.facts import QuantConfig
from ecolint.analysis.parameters import values_at_calls
from ecolint.analysis.values import Value, ValueKind
from ecolint.checks import CheckContext, check
from ecolint.checks._common import both_condition, mutually_exclusive
from ecolint.diagnostics import Finding


@check("LLM104")
def conflicting_bits(ctx: CheckContext) -> Iterator[Finding]:
    for config in ctx.facts.quant_configs:
        eight, four = config.entry("load_in_8bit"), config.entry("load_in_4bit")
        if not (eight and four and eight.value.maybe_true() and four.value.maybe_true()):
            continue
        if mutually_exclusive(eight.value, four.value, ctx.facts.raising_guards):
            continue  # ``bits == 8`` and ``bits == 4``: never both true
        where = config.anchor if config.kind == "config" else (eight.owner or config.anchor)
        condition_text, severity = both_condition(eight.value, four.value), None
        callers = _callers_values(ctx, config, eight.value, four.value)
        if callers is not None:
            if callers and all(not (a.maybe_true() and b.maybe_true()) or mutually_exclusive(a, b)
                               for a, b in callers):
                continue  # every call of the loader turns on one flag at most
            if any(_known_true(a) and _known_true(b) for a, b in callers):
                condition_text = " (when both parameters are true, as a call of the function passes them)"
            else:
                condition_text = (" (when both parameters are true; no call in this module shows whether any caller"
                                  " passes both)")
                severity = "warning"
        yield Finding("LLM104", where, {"condition": condition_text}, config, severity=severity)


def _known_true(value: Value) -> bool:
    return value.kind == ValueKind.CONST and bool(value.value)


def _callers_values(ctx: CheckContext, config: QuantConfig, eight: Value, four: Value) -> list[tuple] | None:
    """The two flags' values at each call of the function whose parameters they are (see ``values_at_calls``)."""
    site = ctx.facts.call_site(config.anchor)
    if site is None:
        return None
    rows = values_at_calls(ctx.facts, site, [eight, four])
    return None if rows is None else [tuple(row) for row in rows]
