"""LLM106 removed-load-in-kwarg: ``load_in_8bit``/``load_in_4bit`` passed to ``from_pretrained`` directly,
which transformers v5 rejects; the fix moves them into a ``BitsAndBytesConfig``."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from ecolint.analysis.facts import LOAD_KEYWORDS, ModelLoad
from ecolint.analysis.values import Entries
from ecolint.checks import CheckContext, check
from ecolint.checks._versions import transformers_major, transformers_pin
from ecolint.diagnostics import Finding
from ecolint.fixes import imports
from ecolint.fixes.bitsandbytes import is_bnb_keyword
from ecolint.fixes.context import FixContext, NoFix, Proposal
from ecolint.fixes.edits import Edit
from ecolint.fixes.layout import (Sequence, as_keyword, container_sequence, element_name, element_of, quote_of,
                                  value_text)
from ecolint.fixes.registry import fixer


@check("LLM106")
def removed_load_in_keyword(ctx: CheckContext) -> Iterator[Finding]:
    # Pinned to 4.x only: deprecated there (a warning); a pin that allows v5, or none: v5 rejects it (an error).
    below_5 = transformers_major(ctx.versions) == "4"
    status = "deprecated in transformers 4.x and rejected by v5" if below_5 else "transformers v5 rejects it"
    for load in ctx.facts.model_loads:
        callee = "pipeline(model_kwargs=...)" if load.via_pipeline else "from_pretrained"
        for entry in load.direct_load_keywords:
            context = {"keyword": entry.name, "callee": callee, "status": status, "pin": transformers_pin(ctx.versions)}
            yield Finding("LLM106", entry.key_node, context, load, severity="warning" if below_5 else None)


def load_entries(load: ModelLoad) -> Entries:
    """The keywords that reach the model: a pipeline's ``model_kwargs``, else the call's own."""
    if load.via_pipeline:
        kwargs = load.entries.get("model_kwargs")
        if kwargs is None or kwargs.value.entries is None:
            raise NoFix("model_kwargs cannot be resolved")
        return kwargs.value.entries
    return load.entries


def _inline(ctx: FixContext, owner: cst.CSTNode, call: cst.Call) -> bool:
    """The container is the call itself or written inside it (``**{...}``, ``model_kwargs={...}``)."""
    return owner is call or any(arg.value is owner for arg in call.args)


def _simple_reference(node: cst.BaseExpression) -> bool:
    """A name or attribute chain: reading it twice is the same as reading it once."""
    while isinstance(node, cst.Attribute):
        node = node.value
    return isinstance(node, cst.Name)


@fixer("LLM106")
def move_into_quantization_config(ctx: FixContext, finding: Finding) -> Proposal:
    load: ModelLoad = finding.subject
    call = load.site.node
    entries = load_entries(load)
    if entries.unknown_splat or load.entries.unknown_splat:
        raise NoFix("a **kwargs dict may already hold a quantization_config")
    if entries.get("quantization_config") or load.entries.get("quantization_config"):
        raise NoFix("a quantization_config is already passed")
    ctx.require_absent(call, ("quantization_config",))
    flags = list(load.direct_load_keywords)
    bnb = [entry for name, entry in entries.items.items() if is_bnb_keyword(name)]
    owners = {id(entry.owner) for entry in bnb}
    if not flags or len(owners) != 1 or flags[0].owner is None:
        raise NoFix("the bitsandbytes keywords are written in more than one place")
    owner = flags[0].owner
    sequence = container_sequence(ctx, owner)
    elements = [element_of(ctx, entry.key_node, entry.owner) for entry in bnb]
    indexes = sorted(sequence.index_of(element) for element in elements)
    by_index = {sequence.index_of(element_of(ctx, entry.key_node, entry.owner)): entry for entry in bnb}
    flag_entries = [by_index[index] for index in indexes if by_index[index].name in LOAD_KEYWORDS]

    if all(entry.value.provably_false() for entry in flag_entries):
        # load_in_8bit=False asks for nothing: transformers ignored it, so it is simply removed
        flag_indexes = {index for index in indexes if by_index[index].name in LOAD_KEYWORDS}
        edits, _ = sequence.remove(flag_indexes)
        names = ", ".join(f"{entry.name}={ctx.code(element_of(ctx, entry.key_node, entry.owner).value)}"
                          for entry in flag_entries)
        return Proposal(edits, message=f"Remove {names}, which requests no quantization")

    condition = None
    keywords = [as_keyword(ctx, sequence.elements[index].node) for index in indexes]
    if not any(entry.value.provably_true() for entry in flag_entries):
        # quantization only when a run-time value is true: keep it that way (None is the default)
        dynamic = [element_of(ctx, entry.key_node, entry.owner) for entry in flag_entries
                   if not entry.value.provably_false()]
        if len(dynamic) == 1:
            # the value is read once, as the condition; inside the config the flag is then True
            position = indexes.index(sequence.index_of(dynamic[0]))
            keywords[position] = f"{element_name(dynamic[0])}=True"
            condition = _condition_text(ctx, dynamic[0])
        elif all(_simple_reference(element.value) for element in dynamic):
            condition = " or ".join(value_text(ctx, element) for element in dynamic)
        else:
            raise NoFix("the flags' values would be evaluated twice")

    used_at = None if _inline(ctx, owner, call) else ctx.span(owner)[0]
    reference = imports.bnb_config(ctx, load.site.scope, load.site.order, call.func, used_at)
    is_dict = isinstance(owner, cst.Dict)
    first = indexes[0]
    multiline = len(indexes) > 1 and all(sequence.alone(index) for index in indexes)
    edits: list[Edit] = []
    if multiline:
        removed, carried = sequence.remove(set(indexes[1:]), carry=True)
        edits.extend(removed)
        first_comment = sequence.trailing_comment(first)
        if first_comment is not None:
            carried[first] = first_comment[1]
        indent = ctx.indentation(sequence.elements[first].start)
        inner_indent = indent + ctx.indent_unit
        newline = ctx.newline
        lines = [f"{reference.text}("]
        for index, keyword in zip(indexes, keywords):
            comment = f"  {carried[index]}" if index in carried else ""
            lines.append(f"{inner_indent}{keyword},{comment}")
        lines.append(f"{indent})")
        config = newline.join(lines)
        element = sequence.elements[first]
        end = first_comment[0] + len(first_comment[1]) if first_comment else (
            element.comma + 1 if element.comma is not None else element.end)
        trailing = "," if element.comma is not None else ""
        value = f"{config} if {condition} else None" if condition else config
        edits.append(Edit(element.start, end, _entry(is_dict, owner, sequence, first, value) + trailing))
    else:
        removed, _ = sequence.remove(set(indexes[1:]))
        edits.extend(removed)
        config = f"{reference.text}({', '.join(keywords)})"
        value = f"{config} if {condition} else None" if condition else config
        element = sequence.elements[first]
        edits.append(Edit(element.start, element.end, _entry(is_dict, owner, sequence, first, value)))
    edits.extend(reference.edits)
    return Proposal(edits, applicability=None if used_at is None else "unsafe")


def _condition_text(ctx: FixContext, element: cst.CSTNode) -> str:
    text = value_text(ctx, element)
    value = element.value
    if isinstance(value, (cst.IfExp, cst.Lambda, cst.NamedExpr, cst.Yield)) and not value.lpar:
        return f"({text})"  # a conditional expression's condition cannot be one of these unparenthesized
    return text


def _entry(is_dict: bool, owner: cst.CSTNode, sequence: Sequence, index: int, value: str) -> str:
    if is_dict:
        quote = quote_of(sequence.elements[index].node)
        return f"{quote}quantization_config{quote}: {value}"
    return f"quantization_config={value}"
