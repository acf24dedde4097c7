"""LLM201 generate-per-item-loop: a loop that runs generation once for every item instead of in batches."""

from __future__ import annotations

from ecolint.analysis.batching import batching
from ecolint.checks import CheckContext, check
from ecolint.diagnostics import Finding


@check("LLM201")
def generate_per_item_loop(ctx: CheckContext) -> list[Finding]:
    return [Finding("LLM201", loop.site.node, {"callee": loop.callee, "loop_kind": loop.loop_kind}, loop)
            for loop in ctx.shared("batching", batching).per_item]
