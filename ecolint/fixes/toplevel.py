"""Module-level places a fix writes to: compound statements' extents, and modules imported at the top.

A fix that adds a decorator or a module-level function needs a module (``torch``, ``functools``,
``streamlit``) under a name that is valid where it is used: a top-level import above that place
is reused (``import torch as th`` gives ``th``; ``from functools import lru_cache`` gives
``lru_cache``), else ``import module`` is added above the module's first import.
"""

from __future__ import annotations

import re

import libcst as cst

from ecolint.analysis.scopes import module_path
from ecolint.fixes.context import FixContext, NoFix
from ecolint.fixes.edits import Edit


def compound_span(ctx: FixContext, node: cst.CSTNode, keywords: tuple[str, ...]) -> tuple[int, int]:
    """Offsets of a statement: a compound one from its positions, checked by the keyword it starts with
    (libcst renders it with its leading blank lines and comments, so ``ctx.span`` cannot check it); a
    statement line from its first statement to the end of its line (its trailing comment included)."""
    if isinstance(node, cst.SimpleStatementLine):
        start, _ = ctx.span(node.body[0])
        _, end = ctx.span(node.body[-1])
        return start, ctx.line_end(end)
    try:
        position = ctx.positions[node]
        start = ctx.index.offset(position.start.line, position.start.column + 1)
        end = ctx.index.offset(position.end.line, position.end.column + 1)
    except (KeyError, ValueError):
        raise NoFix("node has no position") from None
    if not any(re.match(rf"{re.escape(keyword)}\b" if keyword.isalpha() else re.escape(keyword), ctx.source[start:])
               for keyword in keywords):
        raise NoFix("position does not match the source text")
    decorators = getattr(node, "decorators", None)
    if decorators:  # the statement starts at its first decorator's "@"
        first, _ = ctx.span(decorators[0].decorator)
        at = ctx.source.rfind("@", ctx.line_start(first), first)
        if at < 0 or at > start:
            raise NoFix("the first decorator cannot be found")
        start = at
    return start, end


def statement_keywords(node: cst.CSTNode) -> tuple[str, ...]:
    """What a compound statement's text starts with."""
    decorators = ("@",) if getattr(node, "decorators", None) else ()  # where positions start varies
    if isinstance(node, cst.FunctionDef):
        return (*decorators, "async" if node.asynchronous is not None else "def")
    if isinstance(node, cst.ClassDef):
        return (*decorators, "class")
    if isinstance(node, cst.For):
        return ("async",) if node.asynchronous is not None else ("for",)
    names = {cst.While: "while", cst.If: "if", cst.With: "with", cst.Try: "try"}
    for kind, keyword in names.items():
        if isinstance(node, kind):
            return ("async",) if getattr(node, "asynchronous", None) is not None else (keyword,)
    return ()


def module_reference(ctx: FixContext, before: int, module: str, member: str | None = None) -> tuple[str, list[Edit]]:
    """How to write ``module`` (or ``module.member``) at module level above offset ``before``, and the
    edits that import it when the module does not."""
    found = _top_level_imports(ctx, module, member)
    usable = sorted({text for text, offset in found if offset < before})
    if len(usable) == 1:
        return usable[0], []
    if usable:
        raise NoFix(f"{module} is imported under several names")
    if found:
        raise NoFix(f"{module} is imported below the code that needs it")
    from ecolint.fixes.imports import name_in_code

    root = module.split(".", 1)[0]
    if name_in_code(ctx, root):
        raise NoFix(f"the name {root} already means something else here")
    first = first_import_line(ctx)
    if first is None or first >= before:
        raise NoFix(f"no module-level import above the code to put `import {module}` next to")
    text = f"{module}.{member}" if member else module
    return text, [Edit(first, first, f"import {module}{ctx.newline}")]


def _top_level_imports(ctx: FixContext, module: str, member: str | None) -> list[tuple[str, int]]:
    """``(text, offset)`` for each top-level import that makes ``module`` (or ``module.member``) usable."""
    found = []
    for statement in ctx.module.body:
        if not isinstance(statement, cst.SimpleStatementLine):
            continue
        for small in statement.body:
            if isinstance(small, cst.Import):
                for alias in small.names:
                    path = module_path(alias.name)
                    if alias.asname is not None and path == module:
                        local = alias.asname.name.value
                    elif alias.asname is None and (path == module or _binds_package(path, module)):
                        local = module
                    else:
                        continue
                    found.append((f"{local}.{member}" if member else local, ctx.span(small)[0]))
            elif (member and isinstance(small, cst.ImportFrom) and not small.relative and small.module is not None
                  and module_path(small.module) == module and not isinstance(small.names, cst.ImportStar)):
                for alias in small.names:
                    if module_path(alias.name) == member:
                        local = alias.asname.name.value if alias.asname is not None else member
                        found.append((local, ctx.span(small)[0]))
    return found


def _binds_package(path: str, module: str) -> bool:
    """``import torch.nn`` binds ``torch`` too."""
    return "." not in module and path.startswith(f"{module}.")


def first_import_line(ctx: FixContext) -> int | None:
    """The start of the line of the module's first top-level import other than ``from __future__``."""
    for statement in ctx.module.body:
        if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
            continue
        small = statement.body[0]
        if isinstance(small, cst.Import) or (isinstance(small, cst.ImportFrom) and not (
                not small.relative and small.module is not None and module_path(small.module) == "__future__")):
            start, _ = ctx.span(small)
            if ctx.starts_line(start) and not ctx.indentation(start):
                return ctx.line_start(start)
    return None
