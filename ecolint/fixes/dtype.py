"""How a fix spells the dtype keyword of a model load (``torch_dtype=`` or ``dtype=``)."""

from __future__ import annotations

import re

import libcst as cst

from ecolint.fixes.context import FixContext

DTYPE_KEYWORDS = ("dtype", "torch_dtype")
# A dtype keyword written in a file: ``torch_dtype=``, ``dtype=``, or a dict key ``"dtype":``.
WRITTEN_DTYPE = re.compile(r"""(?<![\w.])(torch_dtype|dtype)["']?\s*(?:=(?!=)|:)""")


def dtype_keyword(ctx: FixContext, call: cst.Call) -> str:
    """How to spell from_pretrained's dtype keyword: as the call, else the file, already spells it; else
    the spelling every transformers version the project allows accepts (``dtype=`` from 4.56 on,
    ``torch_dtype=`` before, and when no pin says which)."""
    written = {arg.keyword.value for arg in call.args if arg.keyword is not None} & set(DTYPE_KEYWORDS)
    if len(written) == 1:
        return written.pop()
    in_file = ctx.once("dtype spellings", lambda: _dtype_spellings(ctx) if WRITTEN_DTYPE.search(ctx.source) else set())
    if len(in_file) == 1:
        return next(iter(in_file))
    return ctx.versions.dtype_keyword()


def _dtype_spellings(ctx: FixContext) -> set[str]:
    """The dtype keywords written in the file: ``torch_dtype=``/``dtype=`` arguments and dict keys."""
    found: set[str] = set()

    class Spellings(cst.CSTVisitor):
        def visit_Arg(self, node: cst.Arg) -> None:
            if node.keyword is not None and node.keyword.value in DTYPE_KEYWORDS:
                found.add(node.keyword.value)

        def visit_DictElement(self, node: cst.DictElement) -> None:
            if isinstance(node.key, cst.SimpleString) and node.key.evaluated_value in DTYPE_KEYWORDS:
                found.add(node.key.evaluated_value)

    ctx.module.visit(Spellings())
    return found
