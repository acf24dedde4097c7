"""Autograd in inference: LLM304 (a model's forward pass run per item with autograd on)."""

from __future__ import annotations

from collections.abc import Iterator

from ecolint.analysis.grad_context import ungraded_forwards
from ecolint.checks import CheckContext, check
from ecolint.diagnostics import Finding


@check("LLM304")
def forward_without_no_grad(ctx: CheckContext) -> Iterator[Finding]:
    for forward in ungraded_forwards(ctx.facts, ctx.source):
        yield Finding("LLM304", forward.site.node, {"callee": forward.callee, "where": forward.where}, forward)
