"""LLM101 bnb-int8-outlier-threshold: 8-bit bitsandbytes loading with the outlier threshold on (its
mixed-precision path); the fix (unsafe) sets ``llm_int8_threshold=0.0``."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from ecolint.analysis.facts import QuantConfig
from ecolint.analysis.parameters import number, parameter_binding, values_at_calls
from ecolint.analysis.values import Entry, Value
from ecolint.checks import CheckContext, check
from ecolint.checks._common import condition
from ecolint.diagnostics import Finding
from ecolint.fixes.context import FixContext, NoFix, Proposal
from ecolint.fixes.edits import Edit
from ecolint.fixes.layout import Sequence, container_sequence, element_of, quote_of, value_text
from ecolint.fixes.registry import fixer


def _inference_configs(ctx: CheckContext) -> Iterator[QuantConfig]:
    for config in ctx.facts.quant_configs:
        if not ctx.facts.is_training(config.unit):
            yield config


def _load_options_from_caller(config: QuantConfig) -> bool:
    """Keywords given straight to ``from_pretrained`` whose only unknown ``**`` dicts are the caller's (a
    parameter of the function around the load): loading options in general, not a quantization config's."""
    return config.kind == "direct" and config.entries.from_caller


def _flag_condition(ctx: CheckContext, config: QuantConfig, flag: Value) -> str | None:
    """When the 8-bit flag is on: always (``""``), a run-time condition, or None when it is a parameter that
    every call of its function in this module leaves off."""
    site = ctx.facts.call_site(config.anchor)
    rows = values_at_calls(ctx.facts, site, [flag]) if site is not None else None
    if rows is None:
        return condition(flag)
    if rows and all(row[0].provably_false() for row in rows):
        return None
    if any(row[0].provably_true() for row in rows):
        return " (when the parameter is true, as a call of the function passes it)"
    binding = parameter_binding(flag, site)
    default = binding.node.default if binding is not None else None
    if not rows and default is not None and ctx.facts.resolver.resolve(
            default, binding.scope.parent or binding.scope, binding.order).provably_true():
        return " (when the parameter is true, as it is by default)"
    return condition(flag)


@check("LLM101")
def int8_outlier_threshold(ctx: CheckContext) -> Iterator[Finding]:
    for config in _inference_configs(ctx):
        flag = config.entry("load_in_8bit")
        if flag is None or not flag.value.maybe_true():
            continue
        threshold = config.entry("llm_int8_threshold")
        if threshold is None:
            if config.entries.unknown_splat and not _load_options_from_caller(config):
                continue  # the threshold may come through **kwargs
            described = " unset (bitsandbytes default)"
            if config.entries.unknown_splat:
                described = " unset (bitsandbytes default; the caller's **kwargs may set it)"
        else:
            value = number(threshold.value)
            if value is None or value == 0:
                continue
            described = f"={value:g}"
        when = _flag_condition(ctx, config, flag.value)
        if when is None:
            continue  # a parameter that every call of its function in this module leaves off
        yield Finding("LLM101", flag.key_node, {"threshold": described, "condition": when}, config)


THRESHOLD = "llm_int8_threshold"


def _replace_value(ctx: FixContext, entry: Entry, text: str) -> list[Edit]:
    element = element_of(ctx, entry.key_node, entry.owner)
    old = value_text(ctx, element)
    _, end = ctx.span(element)
    return [Edit(end - len(old), end, text)]


def _new_entry(ctx: FixContext, anchor: cst.CSTNode, sequence: Sequence, name: str, value: str) -> str:
    if isinstance(anchor, cst.Dict):
        quote = next((quote_of(e.node) for e in sequence.elements if isinstance(e.node, cst.DictElement)), '"')
        return f"{quote}{name}{quote}: {value}"
    return f"{name}={value}"


def _number_literal(node: cst.BaseExpression) -> bool:
    if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, (cst.Minus, cst.Plus)):
        node = node.expression
    return isinstance(node, (cst.Integer, cst.Float)) and not node.lpar


def _set_threshold(ctx: FixContext, threshold: Entry) -> Proposal:
    """0.0 where the threshold's value is written: a number there, or a command-line option's default."""
    element = element_of(ctx, threshold.key_node, threshold.owner)
    value = threshold.value
    if _number_literal(element.value):
        return Proposal(_replace_value(ctx, threshold, "0.0"))
    if isinstance(element.value, cst.Name) and value.kind == "const" and value.number() is not None \
            and value.node is not None and _number_literal(value.node) \
            and not isinstance(ctx.parent(value.node), cst.Param):
        return Proposal(_replace_value(ctx, threshold, "0.0"))  # a constant of the module, not an input
    if value.kind == "option" and isinstance(value.value, Value) and value.value.number() is not None \
            and _number_literal(value.value.node):
        # llm_int8_threshold=args.threshold: 0.0 at the call would silently ignore --threshold
        start, end = ctx.span(value.value.node)
        return Proposal([Edit(start, end, "0.0")], message=f"Set the default of {value.flag} to 0.0")
    raise NoFix("the threshold comes from a value set elsewhere")


def _attribute_settings(ctx: FixContext, config: QuantConfig) -> list[cst.Assign]:
    """``name.llm_int8_threshold = ...`` statements for a config bound to ``name`` (set after it is built)."""
    holder = ctx.parent(config.anchor) if isinstance(config.anchor, cst.Call) else None
    if not isinstance(holder, cst.Assign):
        holder = None
    names = {target.target.value for target in holder.targets
             if isinstance(target.target, cst.Name)} if holder is not None else set()
    found = []
    for statement, target in ctx.once("threshold settings", lambda: _threshold_targets(ctx)):
        if not names or not isinstance(target.value, cst.Name) or target.value.value in names:
            found.append(statement)
    return found


def _threshold_targets(ctx: FixContext) -> list[tuple[cst.CSTNode, cst.Attribute]]:
    """Every assignment to an ``x.llm_int8_threshold`` attribute, with its target."""
    found = []
    for statement in ctx.statements():
        if not isinstance(statement, (cst.Assign, cst.AugAssign, cst.AnnAssign)):
            continue
        targets = [t.target for t in statement.targets] if isinstance(statement, cst.Assign) else [statement.target]
        for target in targets:
            if isinstance(target, cst.Attribute) and target.attr.value == THRESHOLD:
                found.append((statement, target))
    return found


@fixer("LLM101")
def zero_outlier_threshold(ctx: FixContext, finding: Finding) -> Proposal:
    config: QuantConfig = finding.subject
    if config.kind == "direct":
        raise NoFix("the keywords are moved into a BitsAndBytesConfig first (LLM106)")
    if config.requests("load_in_4bit") and config.entry("load_in_4bit").value.provably_true():
        raise NoFix("both bit widths are requested (LLM104): which one was meant is unknown")
    if ctx.once("threshold written", lambda: THRESHOLD in ctx.source) and _attribute_settings(ctx, config):
        # cfg.llm_int8_threshold = 6.0 after the config is built wins over any keyword: no safe place
        raise NoFix("the threshold is also set on the config object after it is built")
    threshold = config.entry(THRESHOLD)
    if threshold is not None:
        if threshold.owner is not config.anchor:
            # written in a dict that reaches the config through **splat: that dict must be known whole
            _require_closed(ctx, config)
        return _set_threshold(ctx, threshold)
    if config.entries.unknown_splat:
        raise NoFix("the threshold may come through **kwargs")
    if isinstance(config.anchor, cst.Call) and config.kind == "config" and any(
            arg.keyword is None and arg.star != "**" for arg in config.anchor.args):
        raise NoFix("positional arguments may already set the threshold")
    ctx.require_absent(config.anchor, (THRESHOLD,))
    sequence = container_sequence(ctx, config.anchor)
    return Proposal(sequence.append(_new_entry(ctx, config.anchor, sequence, THRESHOLD, "0.0")))


def _require_closed(ctx: FixContext, config: QuantConfig) -> None:
    """The splats of the config call hold keys known in full, the threshold written once among them."""
    if not isinstance(config.anchor, cst.Call):
        return
    splats = [arg.value for arg in config.anchor.args if arg.star == "**"]
    if not splats:
        return
    for splat in splats:
        if ctx.splat_keys(splat) is None:
            raise NoFix("a **splat may be changed where it cannot be followed")
