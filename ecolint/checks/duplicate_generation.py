"""LLM205 duplicate-generation: the same generation call run again on the same input, the first result unused."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from ecolint.analysis.dataflow import names_in
from ecolint.analysis.scopes import code_of
from ecolint.checks import CheckContext, check
from ecolint.diagnostics import Finding


def _generation_of(statement: cst.CSTNode, generations: dict[int, object]) -> tuple[cst.Call, str | None] | None:
    """``pipe(x)`` or ``out = pipe(x)[0]["generated_text"]`` on one line: the generation call and the name it
    is stored in (None for a bare call, whose result is thrown away)."""
    if not isinstance(statement, cst.SimpleStatementLine) or len(statement.body) != 1:
        return None
    small = statement.body[0]
    target = None
    if isinstance(small, cst.Expr):
        value = small.value
    elif isinstance(small, cst.Assign) and len(small.targets) == 1 and isinstance(small.targets[0].target, cst.Name):
        value, target = small.value, small.targets[0].target.value
    elif isinstance(small, cst.Return) and small.value is not None:
        value, target = small.value, ""  # returned: used, but may repeat a discarded call before it
    else:
        return None
    while isinstance(value, (cst.Subscript, cst.Attribute)):
        value = value.value
    if not isinstance(value, cst.Call) or id(value) not in generations:
        return None
    return value, target


def _assigned(statements: list[cst.CSTNode]) -> set[str]:
    found: set[str] = set()

    class Targets(cst.CSTVisitor):
        def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
            found.update(names_in(node.target))

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            found.update(names_in(node.target))

        def visit_For(self, node: cst.For) -> None:
            found.update(names_in(node.target))

        def visit_Call(self, node: cst.Call) -> None:  # messages.append(...): the input changes in place
            if isinstance(node.func, cst.Attribute):
                found.update(names_in(node.func.value))

    for statement in statements:
        statement.visit(Targets())
    return found


def _read(statements: list[cst.CSTNode], name: str) -> bool:
    return any(name in names_in(statement) for statement in statements)


@check("LLM205")
def duplicate_generation(ctx: CheckContext) -> Iterator[Finding]:
    module = ctx.facts.module
    if module is None or not ctx.facts.generations:
        return
    generations = {id(generation.site.node): generation for generation in ctx.facts.generations}
    blocks: list[list[cst.CSTNode]] = [list(module.body)]

    class Blocks(cst.CSTVisitor):
        def visit_IndentedBlock(self, node: cst.IndentedBlock) -> None:
            blocks.append(list(node.body))

    module.visit(Blocks())
    for block in blocks:
        found = [(number, _generation_of(statement, generations)) for number, statement in enumerate(block)]
        found = [(number, item) for number, item in found if item is not None]
        for position, (first_at, (first, target)) in enumerate(found):
            text = code_of(first)
            for later_at, (later, _) in found[position + 1:]:
                if code_of(later) != text:
                    continue
                between = block[first_at + 1:later_at]
                if names_in(first) & _assigned(between):
                    break  # the input changed: a new request
                if target == "":
                    break  # a returned result is used
                if target is not None and (_read(between, target) or target in names_in(later)):
                    break  # the first result is used
                generation = generations[id(later)]
                yield Finding("LLM205", later, {"callee": f"{code_of(later.func)}()"}, generation)
                break
