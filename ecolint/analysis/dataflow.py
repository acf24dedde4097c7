"""Which names carry an item: from a loop's target, or a function's parameters, through assignments.

A call inside a loop is fed by the loop when one of its inputs mentions a name derived from the
loop's target; a loop that re-runs one batch (a warm-up, a timing repeat, a sweep over settings)
does not feed its generation calls.
"""

from __future__ import annotations

import libcst as cst

from ecolint.analysis.walk import walk

# Calls that wrap an iterable without changing what it yields item by item.
ITERABLE_WRAPPERS = frozenset({"tqdm", "enumerate", "zip", "list", "iter", "sorted", "reversed", "track",
                               "trange", "islice", "tqdm_notebook", "progress_bar"})


class _Names:
    def __init__(self) -> None:
        self.found: set[str] = set()

    def visit_Name(self, node: cst.Name) -> bool:
        self.found.add(node.value)
        return False

    def visit_Attribute(self, node: cst.Attribute) -> bool:  # ``a.b`` mentions ``a`` (not ``b``)
        walk(node.value, self)
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def visit_Arg(self, node: cst.Arg) -> bool:  # ``f(key=value)`` reads ``value``, not ``key``
        walk(node.value, self)
        return False


def names_in(node: cst.CSTNode | None) -> set[str]:
    """The variable names an expression reads."""
    if node is None:
        return set()
    collector = _Names()
    walk(node, collector)
    return collector.found


class _Assignments:
    """``(targets, read names)`` of every assignment in a body, in source order."""

    def __init__(self) -> None:
        self.pairs: list[tuple[set[str], set[str]]] = []

    def visit_Assign(self, node: cst.Assign) -> bool:
        read = names_in(node.value)
        for target in node.targets:
            self.pairs.append((_targets(target.target), read | _subscript_bases(target.target)))
        return True

    def visit_AnnAssign(self, node: cst.AnnAssign) -> bool:
        if node.value is not None:
            self.pairs.append((_targets(node.target), names_in(node.value)))
        return True

    def visit_AugAssign(self, node: cst.AugAssign) -> bool:
        self.pairs.append((_targets(node.target), names_in(node.value)))
        return True

    def visit_NamedExpr(self, node: cst.NamedExpr) -> bool:
        self.pairs.append((_targets(node.target), names_in(node.value)))
        return True

    def visit_For(self, node: cst.For) -> bool:
        self.pairs.append((_targets(node.target), names_in(node.iter)))
        return True

    def visit_WithItem(self, node: cst.WithItem) -> bool:
        if node.asname is not None:
            self.pairs.append((_targets(node.asname.name), names_in(node.item)))
        return True

    def visit_Call(self, node: cst.Call) -> bool:
        # ``batch.append(item)`` / ``inputs.update(x)`` / ``conv.append_message(role, text)``: the receiver
        # now holds what it was given
        if isinstance(node.func, cst.Attribute) and isinstance(node.func.value, cst.Name) and _fills_receiver(
                node.func.attr.value):
            read = set().union(*(names_in(arg.value) for arg in node.args)) if node.args else set()
            self.pairs.append(({node.func.value.value}, read))
        return True

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        return False


# Methods that store their arguments in the receiver: ``list.append``, ``dict.update``, and a
# conversation's ``append_message`` / ``add_user_message`` / ``update_last_message``.
FILLING_METHODS = ("append", "extend", "update", "insert", "add", "setdefault")


def _fills_receiver(method: str) -> bool:
    return method in FILLING_METHODS or method.startswith(tuple(f"{verb}_" for verb in FILLING_METHODS))


def _targets(target: cst.BaseExpression) -> set[str]:
    if isinstance(target, cst.Name):
        return {target.value}
    if isinstance(target, (cst.Tuple, cst.List)):
        found: set[str] = set()
        for element in target.elements:
            found |= _targets(element.value)
        return found
    if isinstance(target, cst.StarredElement):
        return _targets(target.value)
    if isinstance(target, (cst.Subscript, cst.Attribute)):
        return _targets(target.value)  # ``batch[k] = item`` / ``self.x = item`` taint ``batch`` / ``self``
    return set()


def _subscript_bases(target: cst.BaseExpression) -> set[str]:
    if isinstance(target, cst.Subscript) and target.slice and isinstance(target.slice[0].slice, cst.Index):
        return names_in(target.slice[0].slice)
    return set()


def derived_names(body: cst.CSTNode | list[cst.CSTNode], seeds: set[str],
                  kill: frozenset[str] = frozenset()) -> set[str]:
    """``seeds`` and every name assigned (in ``body``) from an expression that reads one of them.

    Names in ``kill`` never carry anything (a loop's own target is rebound at every iteration)."""
    collector = _Assignments()
    for part in body if isinstance(body, list) else [body]:
        walk(part, collector)
    tainted = set(seeds)
    changed = True
    while changed:
        changed = False
        for targets, read in collector.pairs:
            targets = targets - kill
            if read & tainted and not targets <= tainted:
                tainted |= targets
                changed = True
    return tainted


def unwrap_iterable(node: cst.BaseExpression | None) -> list[cst.BaseExpression]:
    """The iterables a loop really walks: ``tqdm(zip(loader, rows))`` -> ``[loader, rows]``."""
    if node is None:
        return []
    if isinstance(node, cst.Call):
        name = node.func.attr.value if isinstance(node.func, cst.Attribute) else (
            node.func.value if isinstance(node.func, cst.Name) else None)
        if name in ITERABLE_WRAPPERS:
            positional = [arg.value for arg in node.args if arg.keyword is None and not arg.star]
            if name == "zip":
                return [inner for arg in positional for inner in unwrap_iterable(arg)]
            return unwrap_iterable(positional[0]) if positional else []
    return [node]


class _AssignedFrom:
    def __init__(self, call: cst.Call) -> None:
        self.call = call
        self.names: set[str] = set()

    def visit_Assign(self, node: cst.Assign) -> bool:
        if _contains(node.value, self.call):
            for target in node.targets:
                self.names |= _targets(target.target)
        return True


def _contains(root: cst.CSTNode, wanted: cst.CSTNode) -> bool:
    found = False

    class Finder:
        def visit_Call(self, node: cst.Call) -> bool:
            nonlocal found
            found = found or node is wanted
            return not found

    walk(root, Finder())
    return found


def carried_from_result(body: cst.CSTNode, call: cst.Call, kill: frozenset[str] = frozenset()) -> set[str]:
    """Names that hold what ``call`` returned, and names built from them, in ``body``."""
    collector = _AssignedFrom(call)
    walk(body, collector)
    return derived_names(body, collector.names, kill) if collector.names else set()
