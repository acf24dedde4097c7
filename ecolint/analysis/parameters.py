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


def values_at_calls(facts, site, parameters: list[Value]) -> list[list[Value]] | None:
    """For values that are parameters of the function around ``site``: what each call of that function in the
    module passes for them (the parameter's default where a call leaves one out; unknown for ``*args``/
    ``**kwargs``). None when they are not all parameters of one function; an empty list when no call of it
    is in the module."""
    from ecolint.analysis.helpers import called_function

    bindings = [parameter_binding(value, site) for value in parameters]
    if None in bindings or len({id(binding.scope) for binding in bindings}) != 1:
        return None
    info = facts.resolver.functions.get(id(bindings[0].scope.node))
    if info is None or facts.collector is None:
        return None
    positional = info.parameters()
    found = []
    for call in facts.collector.calls:
        if called_function(facts.collector, call) is not info:
            continue
        if any(arg.star for arg in call.node.args):
            found.append([Value(ValueKind.UNKNOWN, reason="splat") for _ in bindings])
            continue
        given = [arg.value for arg in call.node.args if arg.keyword is None]
        keywords = {arg.keyword.value: arg.value for arg in call.node.args if arg.keyword is not None}
        row = []
        for binding in bindings:
            name = binding.name
            index = positional.index(name) if name in positional else -1
            node = keywords.get(name) if name in keywords else (given[index] if 0 <= index < len(given) else None)
            if node is not None:
                row.append(facts.resolver.resolve(node, call.scope, call.order))
            elif binding.node.default is not None:
                row.append(facts.resolver.resolve(binding.node.default, binding.scope.parent or binding.scope,
                                                  binding.order))
            else:
                row.append(Value(ValueKind.UNKNOWN, reason="missing"))
        found.append(row)
    return found
