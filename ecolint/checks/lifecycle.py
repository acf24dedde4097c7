"""Model lifecycle: LLM203 (a model loaded again for every request or item)."""

from __future__ import annotations

from ecolint.analysis.collector import CallSite
from ecolint.analysis.facts import ModelLoad
from ecolint.analysis.scopes import dotted_name
from ecolint.analysis.values import ValueKind
from ecolint.analysis.helpers import callee_text
from ecolint.analysis.lifecycle import LoadContext, load_contexts, vllm_engine_loads
from ecolint.checks import CheckContext, check
from ecolint.diagnostics import Finding


ID_WORDS = ("name", "id", "path", "dir", "checkpoint", "repo", "ckpt")


def _wraps_loaded_model(load: ModelLoad) -> bool:
    """``pipeline(task, model=model)`` on a model object loaded elsewhere: building it loads nothing."""
    if not load.via_pipeline or load.model_id is None or load.model_id.text() is not None:
        return False
    if load.model_id.kind == ValueKind.OPTION:
        return False
    call = load.site.node
    given = [arg.value for arg in call.args if arg.keyword is not None and arg.keyword.value == "model"]
    positional = [arg.value for arg in call.args if arg.keyword is None and not arg.star]
    node = given[0] if given else (positional[1] if len(positional) > 1 else None)
    name = (dotted_name(node) or "").rsplit(".", 1)[-1].lower() if node is not None else ""
    return "model" in name and not any(word in name for word in ID_WORDS)


def _loads(ctx: CheckContext) -> list[CallSite]:
    facts = ctx.facts
    sites = [load.site for load in facts.model_loads
             if not facts.is_training(load.site.unit) and not _wraps_loaded_model(load)]
    if facts.collector is not None:
        sites += [site for site in vllm_engine_loads(facts.collector) if not facts.is_training(site.unit)]
    return sites


def _where(context: LoadContext) -> str:
    if context.kind == "loop":
        where = f"inside a {context.where}"
    else:
        where = f"in {context.where}"
    if context.chain:
        where += f" (via {' -> '.join(context.chain)})"
    return where


def _every(context: LoadContext) -> str:
    return "item" if context.kind == "loop" else "request"


@check("LLM203")
def model_loaded_per_request(ctx: CheckContext) -> list[Finding]:
    if ctx.facts.collector is None:
        return []
    sites = _loads(ctx)
    contexts = load_contexts(ctx.facts.collector, sites)
    findings = []
    seen: set[int] = set()
    for site in sites:
        context = contexts.get(id(site.node))
        if context is None or id(site.node) in seen:
            continue
        seen.add(id(site.node))
        findings.append(Finding("LLM203", site.node, {
            "callee": callee_text(site.node, "from_pretrained"),
            "where": _where(context),
            "every": _every(context),
        }))
    return findings
