"""Names a fix needs at a call site (``BitsAndBytesConfig``, ``torch``): reuse an import, or add one.

An existing import (or alias) that is visible at the call site is reused as it is. Otherwise the
name is added next to the import that brought in the callee (``from transformers import
AutoModelForCausalLM`` gains ``BitsAndBytesConfig``), in the same block, so that a function-local
or guarded import stays local or guarded. When the name already occurs in the file with some
other meaning, or the callee's import cannot be found, no fix is offered.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass

import libcst as cst

from ecolint.analysis.scopes import Binding, Scope, is_library_name, module_path
from ecolint.fixes.context import FixContext, NoFix
from ecolint.fixes.edits import Edit
from ecolint.fixes.layout import Sequence, remove_statement


@dataclass
class Reference:
    """How to write a name at a site, and the edits (an import) that make it valid there."""

    text: str
    edits: list[Edit]


def _module_scope(scope: Scope) -> Scope:
    while scope.parent is not None:
        scope = scope.parent
    return scope


def visible_import(ctx: FixContext, scope: Scope, order: int, wanted: Callable[[str | None], bool]) -> str | None:
    """A local name that is visible at ``(scope, order)`` and bound by an import ``wanted`` accepts."""
    current: Scope | None = scope
    first = True
    while current is not None:
        if first or current.kind != "class":
            for name, binding in _import_bindings(ctx, current):
                if wanted(binding.qualified) and scope.lookup(name, order) is binding:
                    return name
        first = False
        current = current.parent
    return None


def _import_bindings(ctx: FixContext, scope: Scope) -> list[tuple[str, Binding]]:
    """The names a scope binds by an import, sorted, with their bindings (found once per scope)."""
    return ctx.once(("import bindings", id(scope)), lambda: [
        (name, binding) for name in sorted(scope.bindings) for binding in scope.bindings[name]
        if binding.kind == "import"])


def name_in_code(ctx: FixContext, name: str) -> bool:
    """Whether ``name`` occurs in the code as a name (comments, strings and ``x.name`` do not count)."""
    return name in ctx.once("names in code", lambda: _names_in_code(ctx.module))


def _names_in_code(module: cst.Module) -> set[str]:
    found: set[str] = set()

    class Names(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            found.add(node.value)

        def visit_Attribute(self, node: cst.Attribute) -> bool:
            node.value.visit(self)
            return False

    module.visit(Names())
    return found


def variable_names(ctx: FixContext) -> frozenset[str]:
    """Every name the module binds or reads, keyword names and attribute names apart: a name a fix
    introduces must differ from all of them. Computed once per module."""
    return ctx.once("variable names", lambda: frozenset(_variable_names(ctx.module)))


def _variable_names(module: cst.Module) -> set[str]:
    found: set[str] = set()

    class Names(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            found.add(node.value)

        def visit_Attribute(self, node: cst.Attribute) -> bool:
            node.value.visit(self)
            return False

        def visit_Arg(self, node: cst.Arg) -> bool:
            node.value.visit(self)
            return False

    module.visit(Names())
    return found


def root_name(node: cst.BaseExpression) -> str | None:
    while isinstance(node, cst.Attribute):
        node = node.value
    return node.value if isinstance(node, cst.Name) else None


def import_statements(ctx: FixContext, name: str) -> list[cst.CSTNode]:
    """The ``import``/``from ... import`` statements of the module that bind ``name``."""
    return ctx.once("import statements", lambda: _import_statements(ctx)).get(name, [])


def _import_statements(ctx: FixContext) -> dict[str, list[cst.CSTNode]]:
    found: dict[str, list[cst.CSTNode]] = {}
    for statement in ctx.statements():
        if isinstance(statement, cst.Import):
            aliases = statement.names
        elif isinstance(statement, cst.ImportFrom) and not isinstance(statement.names, cst.ImportStar):
            aliases = statement.names
        else:
            continue
        bound = []
        for alias in aliases:
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                bound.append(alias.asname.name.value)
            elif isinstance(statement, cst.Import):
                bound.append(module_path(alias.name).split(".", 1)[0])
            else:
                bound.append(module_path(alias.name))
        for local in dict.fromkeys(bound):
            found.setdefault(local, []).append(statement)
    return found


def _statement_line(ctx: FixContext, statement: cst.CSTNode) -> tuple[int, int, str]:
    """Start of the line holding ``statement``, start of the line after it, and its indentation."""
    line = ctx.parent(statement)
    if not isinstance(line, cst.SimpleStatementLine):
        raise NoFix("the import shares a line with a compound statement")
    first_start, _ = ctx.span(line.body[0])
    _, last_end = ctx.span(line.body[-1])
    if not ctx.starts_line(first_start):
        raise NoFix("the import does not start its line")
    return ctx.line_start(first_start), ctx.after_line(ctx.line_end(last_end)), ctx.indentation(first_start)


def _is_top_level(ctx: FixContext, statement: cst.CSTNode) -> bool:
    line = ctx.parent(statement)
    return line is not None and isinstance(ctx.parent(line), cst.Module)


def _member_key(name: str) -> tuple[int, str]:
    """isort's and Ruff's default order of imported names: CONSTANTS, Classes, functions."""
    if name.isupper() and len(name) > 1:
        kind = 0
    elif name[:1].isupper():
        kind = 1
    else:
        kind = 2
    return kind, name.lower()


def add_to_from_import(ctx: FixContext, statement: cst.ImportFrom, name: str) -> list[Edit]:
    """Edits that add ``name`` to ``from module import ...``, in sorted position when the names are sorted."""
    if isinstance(statement.names, cst.ImportStar):
        raise NoFix("star import")
    names = list(statement.names)
    sequence = Sequence(ctx, names)
    parenthesized = statement.lpar is not None  # without parentheses a new line would end the statement
    keys = [_member_key(module_path(alias.name)) for alias in names]
    if keys == sorted(keys):
        new = _member_key(name)
        for index, key in enumerate(keys):
            if key > new:
                if parenthesized:
                    return sequence.insert_before(index, name)
                start = sequence.elements[index].start
                return [Edit(start, start, f"{name}, ")]
    if parenthesized:
        return sequence.append(name)
    end = sequence.elements[-1].end
    return [Edit(end, end, f", {name}")]


def _insert_line(ctx: FixContext, statement: cst.CSTNode, text: str, before: bool) -> list[Edit]:
    start, after, indent = _statement_line(ctx, statement)
    at = start if before else after
    newline = ctx.newline
    if not before and after == len(ctx.source) and not ctx.source.endswith(("\n", "\r")):
        return [Edit(at, at, f"{newline}{indent}{text}")]
    return [Edit(at, at, f"{indent}{text}{newline}")]


def _callee_import(ctx: FixContext, scope: Scope, order: int, callee: cst.BaseExpression,
                   before: int | None) -> cst.CSTNode:
    """The one import statement that binds the callee's root name (``M`` in ``M.from_pretrained``)."""
    root = root_name(callee)
    if root is None:
        raise NoFix("the callee is not a name")
    binding: Binding | None = scope.lookup(root, order)
    if binding is None or binding.kind != "import":
        raise NoFix("the callee does not come from an import")
    statements = import_statements(ctx, root)
    if len(statements) != 1:
        raise NoFix("the callee's import is ambiguous")
    statement = statements[0]
    if before is not None and (not _is_top_level(ctx, statement) or ctx.span(statement)[0] > before):
        raise NoFix("the import is not a module-level statement before the code that needs it")
    return statement


def bnb_config(ctx: FixContext, scope: Scope, order: int, callee: cst.BaseExpression,
               used_at: int | None = None) -> Reference:
    """``BitsAndBytesConfig`` as it can be written at a call site.

    ``used_at``: the offset where the name is used when that is outside the call (a ``**kwargs``
    dict built elsewhere); then only module-level imports above it are reused or extended.
    """
    if used_at is not None:
        scope, order = _module_scope(scope), 1 << 60
    name = visible_import(ctx, scope, order, lambda q: is_library_name(q, "transformers", "BitsAndBytesConfig"))
    if name is not None and _usable(ctx, name, used_at):
        return Reference(name, [])
    module = visible_import(ctx, scope, order, lambda q: q == "transformers")
    if module is not None and _usable(ctx, module, used_at):
        return Reference(f"{module}.BitsAndBytesConfig", [])
    if name_in_code(ctx, "BitsAndBytesConfig"):
        raise NoFix("BitsAndBytesConfig already means something else here")
    statement = _shared(ctx, _callee_import(ctx, scope, order, callee, used_at))
    if _from_transformers(statement):
        return Reference("BitsAndBytesConfig", add_to_from_import(ctx, statement, "BitsAndBytesConfig"))
    return Reference("BitsAndBytesConfig", _insert_line(ctx, statement, "from transformers import BitsAndBytesConfig",
                                                        before=False))


def _from_transformers(statement: cst.CSTNode) -> bool:
    return isinstance(statement, cst.ImportFrom) and not statement.relative and not isinstance(
        statement.names, cst.ImportStar) and module_path(statement.module) == "transformers"


def _shared(ctx: FixContext, statement: cst.CSTNode) -> cst.CSTNode:
    """For a module-level import, the module's first ``from transformers import``: fixes of several
    calls then add the name to the same statement (one edit, applied once) instead of to each."""
    if not _is_top_level(ctx, statement):
        return statement
    candidate = ctx.once("first from transformers import", lambda: next(
        (found for found in ctx.statements() if _from_transformers(found) and _is_top_level(ctx, found)), None))
    if candidate is not None:
        return candidate if ctx.span(candidate)[0] <= ctx.span(statement)[0] else statement
    return statement


def _usable(ctx: FixContext, name: str, used_at: int | None) -> bool:
    """A name reused away from the call must come from one module-level import above its use."""
    if used_at is None:
        return True
    statements = import_statements(ctx, name)
    return len(statements) == 1 and _is_top_level(ctx, statements[0]) and ctx.span(statements[0])[0] < used_at


def torch_module(ctx: FixContext, scope: Scope, order: int, callee: cst.BaseExpression) -> Reference:
    """The ``torch`` module as it can be written at a call site (``import torch`` added when needed)."""
    name = visible_import(ctx, scope, order, lambda q: q == "torch")
    if name is not None:
        return Reference(name, [])
    if name_in_code(ctx, "torch"):
        raise NoFix("the name torch already means something else here")
    statement = _shared(ctx, _callee_import(ctx, scope, order, callee, None))
    return Reference("torch", _insert_line(ctx, statement, "import torch", before=True))


def unused_after_removal(ctx: FixContext, removed: cst.BaseExpression) -> list[Edit]:
    """Edits that drop ``BitsAndBytesConfig`` from its import when ``removed`` was its only use.

    Only the plain case is handled: the name's one import is ``from transformers import`` and the
    name occurs exactly twice in the file (that import and the removed call); otherwise nothing.
    """
    if not isinstance(removed, cst.Call) or not isinstance(removed.func, cst.Name):
        return []
    name = removed.func.value
    if ctx.once(("occurrences", name), lambda: len(re.findall(rf"\b{re.escape(name)}\b", ctx.source))) != 2:
        return []
    statements = import_statements(ctx, name)
    if len(statements) != 1 or not isinstance(statements[0], cst.ImportFrom):
        return []
    statement = statements[0]
    if statement.relative or module_path(statement.module) != "transformers":
        return []
    names = list(statement.names)
    index = next(i for i, alias in enumerate(names)
                 if (alias.asname.name.value if alias.asname else module_path(alias.name)) == name)
    if module_path(names[index].name) != "BitsAndBytesConfig":
        return []
    try:
        if len(names) == 1:
            return remove_statement(ctx, statement)
        edits, _ = Sequence(ctx, names).remove({index})
        return edits
    except NoFix:
        return []
