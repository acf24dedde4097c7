"""LLM302 generate-without-torch-compile: generation in a loop in a module that never compiles the model."""

from __future__ import annotations

from collections.abc import Iterator

from ecolint.checks import CheckContext, check
from ecolint.diagnostics import Finding


@check("LLM302")
def generate_without_torch_compile(ctx: CheckContext) -> Iterator[Finding]:
    if ctx.facts.uses_compile:
        return
    for generation in ctx.facts.generations:
        if generation.site.loops and generation.kind != "vllm":  # vLLM captures CUDA graphs itself
            yield Finding("LLM302", generation.site.node)
            return
