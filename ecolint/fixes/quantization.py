"""Fixes for the bitsandbytes rules: LLM106 (safe), LLM105 (safe), LLM101 and LLM102 (unsafe)."""

from __future__ import annotations

import libcst as cst

from ecolint.analysis.facts import LOAD_KEYWORDS, ModelLoad, QuantConfig
from ecolint.analysis.values import Entries, Entry, Value
from ecolint.diagnostics import Finding
from ecolint.fixes import imports
from ecolint.fixes.dtype import DTYPE_KEYWORDS, dtype_keyword
from ecolint.fixes.context import FixContext, NoFix, Proposal
from ecolint.fixes.edits import Edit
from ecolint.fixes.layout import (Sequence, as_keyword, container_sequence, element_name, element_of, quote_of,
                                  value_text)
from ecolint.fixes.registry import fixer

BNB_PREFIXES = ("bnb_4bit_", "llm_int8_")
HALF = {"torch.float16": "float16", "torch.half": "float16", "torch.bfloat16": "bfloat16",
        "float16": "float16", "half": "float16", "bfloat16": "bfloat16"}


def is_bnb_keyword(name: str | None) -> bool:
    return name is not None and (name in LOAD_KEYWORDS or name.startswith(BNB_PREFIXES))


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


# -- LLM106 ---------------------------------------------------------------------------------
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


# -- LLM101 ---------------------------------------------------------------------------------
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


# -- LLM105 ---------------------------------------------------------------------------------
@fixer("LLM105")
def remove_unused_4bit_options(ctx: FixContext, finding: Finding) -> Proposal:
    config: QuantConfig = finding.subject
    options = config.bnb_4bit_options()
    if not options or any(option.owner is not config.anchor for option in options):
        raise NoFix("some options are written elsewhere (a shared dict)")
    sequence = container_sequence(ctx, config.anchor)
    indexes = {sequence.index_of(element_of(ctx, option.key_node, option.owner)) for option in options}
    edits, _ = sequence.remove(indexes)
    eight = config.entry("load_in_8bit")
    four = config.entry("load_in_4bit")
    certain = eight is not None and eight.value.provably_true() and (four is None or four.value.provably_false())
    # with neither flag on, the options may be a forgotten load_in_4bit=True: removing them is a choice
    return Proposal(edits, applicability=None if certain else "unsafe")


# -- LLM102 ---------------------------------------------------------------------------------
def _compute_dtype(config: QuantConfig) -> str:
    entry = config.entry("bnb_4bit_compute_dtype")
    if entry is None:
        return "float16"
    value = entry.value
    key = value.value if value.kind in ("symbol", "const") and isinstance(value.value, str) else None
    return HALF.get(key, "float16")


@fixer("LLM102")
def load_in_half_precision(ctx: FixContext, finding: Finding) -> Proposal:
    load: ModelLoad = finding.subject
    call = load.site.node
    config = load.quant
    four = config.entry("load_in_4bit") if config is not None else None
    if four is None or not four.value.provably_true() or load.via_pipeline:
        raise NoFix("4-bit loading is not certain, or it is configured through a pipeline")
    if load.model_id is None or load.model_id.kind != "const":
        # a --model default or a parameter: the model actually loaded, and its size, are chosen at run time
        raise NoFix("the model is not written in the code")
    sequence = container_sequence(ctx, call)
    if config.kind == "direct":
        # load_in_4bit=True and its companions written in the call: all of them give way to the dtype
        entries = [entry for name, entry in load.entries.items.items() if is_bnb_keyword(name)]
        if any(entry.owner is not call for entry in entries):
            raise NoFix("some bitsandbytes keywords come through **kwargs")
        indexes = sorted(sequence.index_of(element_of(ctx, entry.key_node, entry.owner)) for entry in entries)
    else:
        entry = load.entries.get("quantization_config")
        if entry is None or entry.owner is not call:
            raise NoFix("the quantization_config is not written in the call")
        if load.direct_load_keywords:
            raise NoFix("load_in_* is also passed directly; which one applies is unclear")
        indexes = [sequence.index_of(element_of(ctx, entry.key_node, entry.owner))]
    if load.dtype is not None:
        edits, _ = sequence.remove(set(indexes))
        return Proposal(edits, message="Remove the 4-bit quantization (the dtype is already given)")
    ctx.require_absent(call, DTYPE_KEYWORDS)
    torch = imports.torch_module(ctx, load.site.scope, load.site.order, call.func)
    keyword = dtype_keyword(ctx, call)
    element = sequence.elements[indexes[0]]
    edits, _ = sequence.remove(set(indexes[1:]))
    edits += [Edit(element.start, element.end, f"{keyword}={torch.text}.{_compute_dtype(config)}"), *torch.edits]
    if config.kind != "direct":
        edits += imports.unused_after_removal(ctx, element.node.value)
    return Proposal(edits)
