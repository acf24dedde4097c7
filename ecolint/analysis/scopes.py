"""Scopes, bindings and qualified names, built in the same single pass that collects facts.

A light, flow-approximate version of Python's rules: a name used in a scope resolves to the
latest binding before the use in that scope, else to the latest binding in an enclosing
function or module scope (class scopes are skipped, as Python does). Imports give qualified
names (``import transformers as tf`` makes ``tf.pipeline`` mean ``transformers.pipeline``); a
local ``def`` or ``class`` shadows a library name.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field

import libcst as cst

BUILTIN_NAMES = frozenset(dir(builtins))


@dataclass(eq=False)
class Binding:
    """One place where a name gets a value."""

    name: str
    kind: str  # "import", "assign", "function", "class", "param", "loop", "other"
    order: int
    scope: "Scope"
    qualified: str | None = None  # for imports: the module path the name stands for
    value: cst.BaseExpression | None = None  # for assignments: the assigned expression
    node: cst.CSTNode | None = None  # function/class definitions, parameters


@dataclass(eq=False)
class Scope:
    kind: str  # "module", "function", "class", "comprehension", "lambda"
    parent: "Scope | None"
    node: cst.CSTNode | None = None
    bindings: dict[str, list[Binding]] = field(default_factory=dict)
    star_imports: list[str] = field(default_factory=list)

    def bind(self, binding: Binding) -> None:
        self.bindings.setdefault(binding.name, []).append(binding)

    def lookup(self, name: str, order: int) -> Binding | None:
        """The binding ``name`` refers to when used in this scope at position ``order``."""
        scope: Scope | None = self
        first = True
        while scope is not None:
            if first or scope.kind != "class":
                found = scope._visible(name, order if first else None)
                if found is not None:
                    return found
            first = False
            scope = scope.parent
        return None

    def _visible(self, name: str, order: int | None) -> Binding | None:
        candidates = self.bindings.get(name)
        if not candidates:
            return None
        if order is not None:
            before = [b for b in candidates if b.order < order]
            if before:
                return before[-1]
            if self.kind == "module":
                return None  # used before it is bound at module level
        return candidates[-1]

    def star_import_for(self, name: str) -> str | None:
        scope: Scope | None = self
        while scope is not None:
            if scope.star_imports:
                return f"{scope.star_imports[-1]}.{name}"
            scope = scope.parent
        return None


def dotted_name(node: cst.CSTNode) -> str | None:
    """``a.b.c`` for a Name/Attribute chain, else None."""
    if isinstance(node, cst.Name):
        return node.value
    if isinstance(node, cst.Attribute):
        base = dotted_name(node.value)
        return None if base is None else f"{base}.{node.attr.value}"
    return None


def code_of(node: cst.CSTNode) -> str:
    """The source text of a node, as written (for comparing expressions by their text)."""
    return _EMPTY_MODULE.code_for_node(node)


_EMPTY_MODULE = cst.Module([])


def module_path(node: cst.CSTNode | None) -> str:
    return "" if node is None else (dotted_name(node) or "")


def qualify(node: cst.BaseExpression, scope: Scope, order: int, depth: int = 0) -> str | None:
    """The qualified name an expression stands for, following imports and simple aliases.

    Returns ``"<local>.name"`` for names bound to a local function or class, ``"builtins.x"``
    for unshadowed builtins, and None when the name cannot be known.
    """
    if depth > 8:
        return None
    if isinstance(node, cst.Attribute):
        base = qualify(node.value, scope, order, depth + 1)
        return None if base is None else f"{base}.{node.attr.value}"
    if not isinstance(node, cst.Name):
        return None
    binding = scope.lookup(node.value, order)
    if binding is None:
        if node.value in BUILTIN_NAMES:
            return f"builtins.{node.value}"
        return scope.star_import_for(node.value)
    if binding.kind == "import":
        return binding.qualified
    if binding.kind in ("function", "class"):
        return f"<local>.{node.value}"
    if binding.kind == "assign" and isinstance(binding.value, (cst.Name, cst.Attribute)):
        return qualify(binding.value, binding.scope, binding.order, depth + 1)
    return None


def is_library_name(qualified: str | None, package: str, name: str) -> bool:
    """Whether ``qualified`` is ``name`` from ``package`` (any sub-module of it)."""
    if not qualified:
        return False
    return qualified.startswith(package + ".") and qualified.rsplit(".", 1)[-1] == name
