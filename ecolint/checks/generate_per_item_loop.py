"""LLM201 generate-per-item-loop: a loop that runs generation once for every item instead of in batches.

The fix (unsafe) tries the shapes it can prove, in order: a text-generation pipeline, vLLM's
``generate`` / ``chat`` (``ecolint.fixes.batch_shapes``), and the tokenizer -> ``model.generate`` ->
decode loop (``ecolint.fixes.batch_generate_loop``, when present). Each raises ``NoFix`` with its
reason when the code is not its shape.
"""

from __future__ import annotations

from ecolint.analysis.batching import LOOP_WORDS, batching
from ecolint.analysis.sampling import seeded_sampling
from ecolint.checks import CheckContext, check
from ecolint.diagnostics import Finding
from ecolint.fixes.context import FixContext, NoFix, Proposal
from ecolint.fixes.registry import fixer


# Said when batching would change what a fixed seed makes reproducible (and no fix is offered).
SEEDED_NOTE = ("; the file fixes a random seed and this call may sample: batched, each item would draw other "
               "random numbers, so it is not fixed automatically")


# Said when the reported loop encloses a loop whose iterations depend on each other (the turns of a conversation).
TURNS_NOTE = ("; the inner {inner} carries a conversation (each turn reads an earlier answer), but the items of the "
              "outer {outer} start afresh: batch across those items, one turn at a time (not fixed automatically)")


# Said for mistral_inference's generate(encoded_prompts, model, ...), which decodes a list of prompts together.
MISTRAL_NOTE = ("; mistral_inference's generate takes a list of encoded prompts: pass several in one call, to a "
                "model loaded with a max_batch_size at least that large (Transformer.from_folder's default is 1)")


@check("LLM201")
def generate_per_item_loop(ctx: CheckContext) -> list[Finding]:
    findings = []
    for loop in ctx.shared("batching", batching).per_item:
        seeded = loop.generation is not None and seeded_sampling(ctx.facts.module, loop.generation)
        note = SEEDED_NOTE if seeded else ""
        if loop.kind == "mistral":
            note = MISTRAL_NOTE + note
        if loop.carried_by is not None:
            note = TURNS_NOTE.format(inner=LOOP_WORDS[loop.carried_by.kind], outer=loop.loop_kind) + note
        context = {"callee": loop.callee, "loop_kind": loop.loop_kind, "note": note}
        findings.append(Finding("LLM201", loop.site.node, context, loop))
    return findings


@fixer("LLM201")
def batch_per_item_generation(ctx: FixContext, finding: Finding) -> Proposal:
    from ecolint.fixes.batch_shapes import pipeline_per_item, vllm_per_item

    subject = finding.subject
    if subject is not None and subject.kind == "passed":
        raise NoFix("the loop is in the function the generator is passed to: that function decides the batch")
    if subject is None or subject.generation is None:
        raise NoFix("the generation runs in a helper: the helper's callers decide the batch")
    if subject.carried_by is not None:
        raise NoFix("the turns of the inner loop depend on each other: batching across the outer loop's items "
                    "regroups the work turn by turn")
    if subject.kind == "pipeline":
        return pipeline_per_item(ctx, subject)
    if subject.kind == "vllm":
        return vllm_per_item(ctx, subject)
    if subject.kind == "mistral":
        raise NoFix("mistral_inference's generate decodes at most the model's max_batch_size prompts together "
                    "(1 unless the model is loaded with more), which is set where the model is loaded")
    if subject.kind == "generate":
        try:
            from ecolint.fixes.batch_generate_loop import batch_generate_loop
        except ImportError:  # that shape's fix is not part of this version
            raise NoFix("no batching fix for model.generate loops") from None
        return batch_generate_loop(ctx, finding)
    raise NoFix(f"no batching fix for {subject.kind} calls")
