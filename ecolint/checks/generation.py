"""Generation settings: LLM301 (KV cache off) and LLM302 (no torch.compile)."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from ecolint.analysis.scopes import dotted_name
from ecolint.checks import CheckContext, check
from ecolint.diagnostics import Finding

CONFIG_ATTRIBUTES = ("config", "generation_config")


@check("LLM301")
def kv_cache_disabled(ctx: CheckContext) -> Iterator[Finding]:
    facts = ctx.facts
    for generation in facts.generations:
        entry = generation.entries.get("use_cache")
        if entry is None or not entry.value.provably_false() or facts.is_training(generation.site.unit):
            continue
        if _one_new_token(generation.entries):
            continue  # a single forward pass (hidden states, scoring): there is no later step to reuse a cache
        yield Finding("LLM301", entry.key_node, {"where": "passed to generation"}, entry)
    for config in facts.generation_configs:
        entry = config.entries.get("use_cache")
        if entry is None or not entry.value.provably_false() or facts.is_training(config.site.unit):
            continue
        yield Finding("LLM301", entry.key_node, {"where": "in a GenerationConfig"}, entry)
    for setting in facts.cache_settings:
        owner = setting.target.value
        if not (isinstance(owner, cst.Attribute) and owner.attr.value in CONFIG_ATTRIBUTES):
            continue
        value = facts.resolver.resolve(setting.value, setting.scope, setting.order)
        if not value.provably_false() or facts.is_training(setting.unit) or _restored_later(facts, setting):
            continue
        yield Finding("LLM301", setting.target, {"where": f"set on {dotted_name(owner) or owner.attr.value}"}, setting)


def _one_new_token(entries) -> bool:
    limit = entries.get("max_new_tokens")
    return limit is not None and limit.value.number() is not None and limit.value.number() <= 1


@check("LLM302")
def generate_without_torch_compile(ctx: CheckContext) -> Iterator[Finding]:
    if ctx.facts.uses_compile:
        return
    for generation in ctx.facts.generations:
        if generation.site.loops and generation.kind != "vllm":  # vLLM captures CUDA graphs itself
            yield Finding("LLM302", generation.site.node)
            return


def _restored_later(facts, setting) -> bool:
    """``model.config.use_cache = False`` followed in the same function by setting it back (a
    temporary switch, for calibration passes and the like, not the way generation runs)."""
    target = dotted_name(setting.target)
    for later in facts.cache_settings:
        if later.unit is setting.unit and later.order > setting.order and dotted_name(later.target) == target:
            if not facts.resolver.resolve(later.value, later.scope, later.order).provably_false():
                return True
    return False
