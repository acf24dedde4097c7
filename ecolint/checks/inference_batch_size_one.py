"""LLM202 inference-batch-size-one: generation fed one item at a time by ``batch_size=1`` (a pipeline, a
DataLoader), or a pipeline given many inputs without a batch size.

The fix (unsafe) writes the ``fix-batch-size`` (``ecolint.fixes.batch_shapes.larger_batch_size``).
"""

from __future__ import annotations

from ecolint.analysis.batching import batching
from ecolint.checks import CheckContext, check
from ecolint.diagnostics import Finding
from ecolint.fixes.context import FixContext, NoFix, Proposal
from ecolint.fixes.registry import fixer


@check("LLM202")
def inference_batch_size_one(ctx: CheckContext) -> list[Finding]:
    return [Finding("LLM202", batch.node, {"where": batch.where, "defaulted": batch.defaulted}, batch)
            for batch in ctx.shared("batching", batching).batch_one]


@fixer("LLM202")
def use_a_larger_batch(ctx: FixContext, finding: Finding) -> Proposal:
    from ecolint.fixes.batch_shapes import larger_batch_size

    if finding.subject is None or finding.subject.facts is None:
        raise NoFix("unknown finding subject")
    return larger_batch_size(ctx, finding.subject)
