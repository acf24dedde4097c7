"""LLM303 fp32-inference: a generative model loaded for inference in float32; the fix (unsafe) writes
``"auto"`` (the checkpoint's dtype) or bfloat16 where the float32 is written (``analysis.dtype_choice``)."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from ecolint.analysis.dtype_choice import AUTO, float32_replacement
from ecolint.analysis.facts import ModelLoad
from ecolint.analysis.models import converted_later, generative, inference_loads, model_text, stays_on_cpu
from ecolint.analysis.values import Entry, Value, ValueKind, last_name
from ecolint.checks import CheckContext, check
from ecolint.diagnostics import Finding
from ecolint.fixes.context import FixContext, NoFix, Proposal
from ecolint.fixes.edits import Edit
from ecolint.fixes.registry import fixer

FLOAT32_SYMBOLS = frozenset({"torch.float32", "torch.float"})
FLOAT32_STRINGS = frozenset({"float32", "float", "fp32"})


def _is_float32(value) -> bool:
    if value.kind == ValueKind.SYMBOL:
        return value.value in FLOAT32_SYMBOLS
    if value.kind == ValueKind.CONST:
        return value.value in FLOAT32_STRINGS
    if value.kind == ValueKind.OPTION and value.value is not None:
        return _is_float32(value.value)  # the option's default loads in float32
    return False


def float32_when(value) -> str | None:
    """Whether a dtype value loads float32, and under which setting: "" when it always does, `` (when --precision
    keeps its default)`` for a command-line option whose default is float32, also as one of the values a dict
    entry set in the branches of an ``if`` may take; None otherwise."""
    if value.kind == ValueKind.CHOICE:
        flags = [option.flag for option in value.options if option.kind == ValueKind.OPTION and _is_float32(option)]
        return f" (when {flags[0]} keeps its default)" if flags else None
    if not _is_float32(value):
        return None
    return f" (when {value.flag} keeps its default)" if value.kind == ValueKind.OPTION else ""


# Saving or reading out the weights; merge_and_unload alone folds LoRA adapters in for faster inference.
WEIGHT_WORK = frozenset({"save_pretrained", "state_dict", "save_file"})


def converts_weights(facts, load: ModelLoad) -> bool:
    """Code that loads a model to change and save its weights (a weight diff, a merge, a conversion) and does
    not generate in the same function: float32 there is about exact arithmetic, not inference."""
    unit = load.site.unit
    if any(generation.site.unit is unit for generation in facts.generations):
        return False
    calls = facts.collector.calls if facts.collector is not None else []
    return any(site.unit is unit and last_name(site.node.func) in WEIGHT_WORK for site in calls)


@check("LLM303")
def fp32_inference(ctx: CheckContext) -> Iterator[Finding]:
    for load in inference_loads(ctx.facts):
        when = float32_when(load.dtype.value) if load.dtype is not None else None
        if when is None:
            continue
        if not generative(load) or stays_on_cpu(ctx.facts, load) or converted_later(ctx.facts, load):
            continue
        if converts_weights(ctx.facts, load):
            continue
        choice = float32_replacement(load.dtype)
        yield Finding(
            "LLM303",
            load.dtype.key_node,
            {"model": model_text(load) or "the model", "suggested": choice.written(), "why": choice.why,
             "keyword": load.dtype.name, "when": when},
            load.dtype,
        )


@fixer("LLM303")
def auto_or_bfloat16_dtype(ctx: FixContext, finding: Finding) -> Proposal:
    """Rewrite the float32 where it is written: ``"auto"`` at the keyword itself, ``bfloat16`` in a constant
    or a command-line option's default (``torch.float32`` -> ``torch.bfloat16``, ``"float32"`` likewise)."""
    entry: Entry = finding.subject
    choice = float32_replacement(entry)
    value: Value = entry.value
    if value.kind == "choice":
        raise NoFix("the dtype depends on the branch taken")
    if value.kind == "option" and isinstance(value.node, cst.Subscript):
        raise NoFix("the float32 is an entry of a table the option's value picks; the option's default chooses it")
    if value.kind == "option" and isinstance(value.value, Value):
        value = value.value  # the command-line option's default
    node = value.node
    message = f"Load with {choice.written()} ({choice.why})"
    if isinstance(node, cst.SimpleString) and ("b" in node.prefix.lower() or "f" in node.prefix.lower()):
        raise NoFix("not a plain string")
    if choice is AUTO:
        start, end = ctx.span(node)
        quote = node.quote if isinstance(node, cst.SimpleString) else '"'
        prefix = node.prefix if isinstance(node, cst.SimpleString) else ""
        return Proposal([Edit(start, end, f"{prefix}{quote}auto{quote}")], message=message)
    if value.kind == "symbol" and value.value in FLOAT32_SYMBOLS and isinstance(node, cst.Attribute):
        start, end = ctx.span(node.attr)
        return Proposal([Edit(start, end, choice.name)], message=message)
    if value.kind == "const" and value.value in FLOAT32_STRINGS and isinstance(node, cst.SimpleString):
        _check_choices(ctx, node, choice.name)
        start, end = ctx.span(node)
        return Proposal([Edit(start, end, f"{node.prefix}{node.quote}{choice.name}{node.quote}")], message=message)
    raise NoFix("the float32 is not written as torch.float32 or a string")


def _check_choices(ctx: FixContext, node: cst.SimpleString, suggested: str) -> None:
    """A command-line default must stay one of the option's ``choices``."""
    call = ctx.once("option defaults", lambda: _option_defaults(ctx)).get(id(node))
    if call is None:
        return
    for other in call.args:
        if other.keyword is not None and other.keyword.value == "choices":
            values = other.value
            if not isinstance(values, (cst.List, cst.Tuple, cst.Set)):
                raise NoFix("the option's choices cannot be read")
            allowed = [element.value.evaluated_value for element in values.elements
                       if isinstance(element.value, cst.SimpleString)]
            if suggested not in allowed:
                raise NoFix(f"{suggested} is not one of the option's choices")


def _option_defaults(ctx: FixContext) -> dict[int, cst.Call]:
    """The calls that make up a statement (``parser.add_argument(...)``, where argparse options are
    declared), by the id of their ``default=`` value."""
    found = {}
    for statement in ctx.statements():
        if isinstance(statement, (cst.Expr, cst.Assign)) and isinstance(statement.value, cst.Call):
            for arg in statement.value.args:
                if arg.keyword is not None and arg.keyword.value == "default":
                    found.setdefault(id(arg.value), statement.value)
    return found
