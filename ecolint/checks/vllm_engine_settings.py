"""LLM204 vllm-engine-settings: a vLLM engine with CUDA graphs turned off, or a cap of a few sequences per batch;
the fix (unsafe) removes the setting where it is written."""

from __future__ import annotations

from ecolint.analysis.parameters import number
from ecolint.analysis.scopes import is_library_name, qualify
from ecolint.analysis.values import Entry
from ecolint.checks import CheckContext, check
from ecolint.diagnostics import Finding
from ecolint.fixes.context import FixContext, NoFix, Proposal
from ecolint.fixes.layout import container_sequence, element_of
from ecolint.fixes.registry import fixer

ENGINES = ("LLM", "EngineArgs", "AsyncEngineArgs")
MAX_SMALL_BATCH = 4


def _resembles(ctx: CheckContext, code: str) -> str:
    rule = ctx.rules.get(code)
    if rule is None or rule.penalty is None or not rule.penalty.measured:
        return "not measured"
    return f"{rule.penalty.describe()}, rule {code}"


@check("LLM204")
def vllm_engine_settings(ctx: CheckContext) -> list[Finding]:
    facts = ctx.facts
    if facts.collector is None:
        return []
    findings = []
    for site in facts.collector.calls:
        qualified = qualify(site.node.func, site.scope, site.order) or ""
        name = qualified.rsplit(".", 1)[-1]
        if name not in ENGINES or not is_library_name(qualified, "vllm", name) or facts.is_training(site.unit):
            continue
        entries = facts.resolver.call_entries(site.node, site.scope, site.order)
        eager = entries.get("enforce_eager")
        if eager is not None and eager.value.provably_true():
            findings.append(Finding("LLM204", eager.key_node, {
                "callee": f"{name}(...)",
                "setting": "enforce_eager=True turns off CUDA graphs: every decoding step launches its kernels "
                           "from Python",
                "resembles": "transformers decoding in eager mode against CUDA graphs (torch.compile, "
                             "mode=\"reduce-overhead\"): " + _resembles(ctx, "LLM302"),
                "instead": "Leave enforce_eager at False outside debugging",
            }, eager))
        seqs = entries.get("max_num_seqs")
        size = number(seqs.value) if seqs is not None else None
        if size is not None and 1 <= size <= MAX_SMALL_BATCH:
            findings.append(Finding("LLM204", seqs.key_node, {
                "callee": f"{name}(...)",
                "setting": f"max_num_seqs={size:g} lets vLLM batch at most {size:g} sequence{'s' if size > 1 else ''}",
                "resembles": "transformers generation at batch 1 against batch 8: " + _resembles(ctx, "LLM201"),
                "instead": "Leave max_num_seqs at vLLM's default or set it to the concurrency you serve",
            }, seqs))
    return findings


WHY_REMOVED = {
    "enforce_eager": "vLLM then captures CUDA graphs, which takes start-up time and GPU memory",
    "max_num_seqs": "vLLM's default batches many more sequences, whose KV cache needs GPU memory",
}


@fixer("LLM204")
def remove_engine_setting(ctx: FixContext, finding: Finding) -> Proposal:
    """Remove the keyword (or dict entry) where it is written; the engine falls back to vLLM's default."""
    entry = finding.subject
    if not isinstance(entry, Entry) or entry.name not in WHY_REMOVED or entry.owner is None:
        raise NoFix("the setting is not written as a keyword or a dict entry")
    sequence = container_sequence(ctx, entry.owner)
    edits, _ = sequence.remove({sequence.index_of(element_of(ctx, entry.key_node, entry.owner))})
    return Proposal(edits, message=f"Remove {entry.name}= ({WHY_REMOVED[entry.name]})")
