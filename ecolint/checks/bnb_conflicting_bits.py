"""LLM104 bnb-conflicting-bits: 8-bit and 4-bit bitsandbytes loading requested together."""

from __future__ import annotations

from collections.abc import Iterator

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
        yield Finding("LLM104", where, {"condition": both_condition(eight.value, four.value)}, config)
