"""LLM301 kv-cache-disabled: generation with ``use_cache=False``; the fix (unsafe) removes the setting."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from ecolint.analysis.collector import AttributeAssignment
from ecolint.analysis.models import generates
from ecolint.analysis.scopes import dotted_name
from ecolint.analysis.values import Entry, last_name
from ecolint.checks import CheckContext, check
from ecolint.diagnostics import Finding
from ecolint.fixes.context import FixContext, NoFix, Proposal
from ecolint.fixes.layout import container_sequence, element_of, remove_statement
from ecolint.fixes.registry import fixer


CONFIG_ATTRIBUTES = ("config", "generation_config")


@check("LLM301")
def kv_cache_disabled(ctx: CheckContext) -> Iterator[Finding]:
    facts = ctx.facts
    for generation in facts.generations:
        entry = generation.entries.get("use_cache")
        if entry is None or not entry.value.provably_false() or _training(facts, generation.site):
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
    if facts.training_anywhere() or any(_turns_on(facts, setting) for setting in facts.cache_settings):
        return
    for load in facts.model_loads:
        entry = load.entries.get("use_cache")
        if entry is None or not entry.value.provably_false() or not generates(facts, load):
            continue
        yield Finding("LLM301", entry.key_node, {"where": "given to from_pretrained for a model that generates"}, entry)


def _turns_on(facts, setting) -> bool:
    return not facts.resolver.resolve(setting.value, setting.scope, setting.order).provably_false()


INFERENCE_SWITCHES = {"for_inference": False, "for_training": True}  # unsloth's FastLanguageModel/FastVisionModel


def _training(facts, site) -> bool:
    """Training code, unless the last mode switch before the call in the same code is ``for_inference(model)``
    (a notebook's demo cells after ``FastLanguageModel.for_inference(model)``, before or after its training)."""
    if not facts.is_training(site.unit):
        return False
    calls = facts.collector.calls if facts.collector is not None else []
    switches = [(other.order, INFERENCE_SWITCHES[name]) for other in calls
                if other.unit is site.unit and other.order < site.order
                and (name := last_name(other.node.func)) in INFERENCE_SWITCHES]
    return max(switches)[1] if switches else True


def _one_new_token(entries) -> bool:
    limit = entries.get("max_new_tokens")
    return limit is not None and limit.value.number() is not None and limit.value.number() <= 1


def _restored_later(facts, setting) -> bool:
    """``model.config.use_cache = False`` followed in the same function by setting it back (a
    temporary switch, for calibration passes and the like, not the way generation runs)."""
    target = dotted_name(setting.target)
    for later in facts.cache_settings:
        if later.unit is setting.unit and later.order > setting.order and dotted_name(later.target) == target:
            if not facts.resolver.resolve(later.value, later.scope, later.order).provably_false():
                return True
    return False


@fixer("LLM301")
def remove_use_cache_false(ctx: FixContext, finding: Finding) -> Proposal:
    subject = finding.subject
    if isinstance(subject, Entry):
        if subject.owner is None:
            raise NoFix("the keyword's container is unknown")
        sequence = container_sequence(ctx, subject.owner)
        edits, _ = sequence.remove({sequence.index_of(element_of(ctx, subject.key_node, subject.owner))})
        return Proposal(edits)
    if isinstance(subject, AttributeAssignment):
        return Proposal(remove_statement(ctx, _statement_of(ctx, subject.target)),
                        message="Remove the statement that turns the KV cache off")
    raise NoFix("unknown finding subject")


def _statement_of(ctx: FixContext, target: cst.CSTNode) -> cst.BaseSmallStatement:
    parent = ctx.parent(target)
    if isinstance(parent, cst.AnnAssign) and parent.target is target:
        return parent
    if isinstance(parent, cst.AssignTarget):
        statement = ctx.parent(parent)
        if isinstance(statement, cst.Assign) and len(statement.targets) == 1:
            return statement
    raise NoFix("not a plain assignment with one target")
