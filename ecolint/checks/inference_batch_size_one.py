"""LLM202 inference-batch-size-one: generation fed one item at a time by ``batch_size=1`` (a pipeline, a
DataLoader), or a pipeline given many inputs without a batch size."""

from __future__ import annotations

from ecolint.analysis.batching import batching
from ecolint.checks import CheckContext, check
from ecolint.diagnostics import Finding


@check("LLM202")
def inference_batch_size_one(ctx: CheckContext) -> list[Finding]:
    return [Finding("LLM202", batch.node, {"where": batch.where, "defaulted": batch.defaulted}, batch)
            for batch in ctx.shared("batching", batching).batch_one]
