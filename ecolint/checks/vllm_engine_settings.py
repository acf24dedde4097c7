"""LLM204 vllm-engine-settings: a vLLM engine with CUDA graphs turned off, or a cap of a few sequences per batch."""

from __future__ import annotations

from ecolint.analysis.parameters import number
from ecolint.analysis.scopes import is_library_name, qualify
from ecolint.checks import CheckContext, check
from ecolint.diagnostics import Finding

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
            }))
        seqs = entries.get("max_num_seqs")
        size = number(seqs.value) if seqs is not None else None
        if size is not None and 1 <= size <= MAX_SMALL_BATCH:
            findings.append(Finding("LLM204", seqs.key_node, {
                "callee": f"{name}(...)",
                "setting": f"max_num_seqs={size:g} lets vLLM batch at most {size:g} sequence{'s' if size > 1 else ''}",
                "resembles": "transformers generation at batch 1 against batch 8: " + _resembles(ctx, "LLM201"),
                "instead": "Leave max_num_seqs at vLLM's default or set it to the concurrency you serve",
            }))
    return findings
