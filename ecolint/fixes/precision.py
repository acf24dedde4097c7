"""Fixes for LLM303 and LLM306 (unsafe): load in half precision instead of float32."""

from __future__ import annotations

import libcst as cst

from ecolint.analysis.values import Entry, Value
from ecolint.diagnostics import Finding
from ecolint.fixes.context import FixContext, NoFix, Proposal
from ecolint.fixes.edits import Edit
from ecolint.fixes.registry import fixer

FLOAT32_SYMBOLS = frozenset({"torch.float32", "torch.float"})
FLOAT32_STRINGS = frozenset({"float32", "float", "fp32"})


@fixer("LLM303")
def half_precision_dtype(ctx: FixContext, finding: Finding) -> Proposal:
    """Rewrite the float32 where it is written: ``torch.float32`` -> ``torch.bfloat16``, ``"float32"`` likewise."""
    entry: Entry = finding.subject
    suggested = finding.context.get("suggested") or "float16"
    if suggested not in ("float16", "bfloat16"):
        raise NoFix("unknown target precision")
    value: Value = entry.value
    if value.kind == "option" and isinstance(value.value, Value):
        value = value.value  # the command-line option's default
    node = value.node
    if value.kind == "symbol" and value.value in FLOAT32_SYMBOLS and isinstance(node, cst.Attribute):
        start, end = ctx.span(node.attr)
        return Proposal([Edit(start, end, suggested)])
    if value.kind == "const" and value.value in FLOAT32_STRINGS and isinstance(node, cst.SimpleString):
        prefix = node.prefix.lower()
        if "b" in prefix or "f" in prefix:
            raise NoFix("not a plain string")
        _check_choices(ctx, node, suggested)
        start, end = ctx.span(node)
        return Proposal([Edit(start, end, f"{node.prefix}{node.quote}{suggested}{node.quote}")])
    raise NoFix("the float32 is not written as torch.float32 or a string")


def _check_choices(ctx: FixContext, node: cst.SimpleString, suggested: str) -> None:
    """A command-line default must stay one of the option's ``choices``."""
    call = next((value for value in _statement_calls(ctx) if any(
        arg.value is node and arg.keyword is not None and arg.keyword.value == "default" for arg in value.args)), None)
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


def _statement_calls(ctx: FixContext):
    """Calls that make up a statement (``parser.add_argument(...)``), where argparse options are declared."""
    for statement in ctx.statements():
        value = getattr(statement, "value", None)
        if isinstance(statement, (cst.Expr, cst.Assign)) and isinstance(value, cst.Call):
            yield value


@fixer("LLM306")
def add_half_precision_dtype(ctx: FixContext, finding: Finding) -> Proposal:
    """Add ``torch_dtype=torch.float16`` (``dtype=`` where the pinned transformers accepts it) to the load."""
    from ecolint.fixes import imports
    from ecolint.fixes.layout import container_sequence
    from ecolint.fixes.quantization import DTYPE_KEYWORDS, dtype_keyword

    load = finding.subject
    call: cst.Call = load.site.node
    suggested = finding.context.get("suggested") or "float16"
    if suggested not in ("float16", "bfloat16") or not call.args:
        raise NoFix("nothing to add the dtype to")
    ctx.require_absent(call, DTYPE_KEYWORDS)
    torch = imports.torch_module(ctx, load.site.scope, load.site.order, call.func)
    keyword = dtype_keyword(ctx, call)
    edits = container_sequence(ctx, call).append(f"{keyword}={torch.text}.{suggested}")
    return Proposal([*edits, *torch.edits])
