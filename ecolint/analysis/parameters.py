"""Numbers read through command-line options and parameter defaults (``batch_size=1`` in a signature)."""

from __future__ import annotations

import libcst as cst

from ecolint.analysis.scopes import Binding
from ecolint.analysis.values import Value, ValueKind


def number(value: Value) -> float | None:
    """A numeric value, reading a command-line option's default."""
    if value.kind == ValueKind.OPTION and isinstance(value.value, Value):
        return value.value.number()
    return value.number()


def parameter_binding(value: Value, site) -> Binding | None:
    """The parameter a value comes from, seen from the call site that uses it."""
    if value.kind != ValueKind.UNKNOWN or value.reason != "parameter" or not isinstance(value.node, cst.Name):
        return None
    binding = site.scope.lookup(value.node.value, site.order)
    if binding is None or binding.kind != "param" or not isinstance(binding.node, cst.Param):
        return None
    return binding


def parameter_default(facts, value: Value, site) -> float | None:
    """The numeric default of the parameter a value comes from (``batch_size=1`` in the signature), when no
    call in the module gives the parameter a value of its own."""
    binding = parameter_binding(value, site)
    if binding is None or binding.node.default is None:
        return None
    info = facts.resolver.functions.get(id(binding.scope.node))
    if info is None or facts.resolver.passed_by_a_call(info, binding.name):
        return None
    return facts.resolver.resolve(binding.node.default, binding.scope.parent or binding.scope, binding.order).number()
