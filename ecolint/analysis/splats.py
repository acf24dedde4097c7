"""Which keys a ``**splat`` may carry: the proof a fix needs before it adds a keyword next to one.

``SplatKeys(module).keys_of(expression)`` gives the keys a splatted dict can hold, or None when
they cannot be known. They are known only for a dict literal or ``dict(...)`` with constant keys,
or a name bound once, in the module, to such a dict, whose every other use is one of:

* a read: ``**cfg``, ``cfg["k"]``, ``cfg.get(...)``, ``cfg.items()``, ``"k" in cfg``;
* a change with a constant key: ``cfg["k"] = v``, ``cfg.setdefault("k", v)``,
  ``cfg.update(k=v)``, ``cfg.update({"k": v})`` (each adds ``k``, wherever and whenever it runs);
* a removal: ``del cfg["k"]``, ``cfg.pop(...)``.

Anything else (the dict passed to a function, ``cfg.update(other)``, ``cfg[key] = v``, ``cfg |= x``,
a second assignment, a parameter) may add any key, so the keys are unknown.
"""

from __future__ import annotations

import libcst as cst
from libcst.metadata import (BuiltinAssignment, MetadataWrapper, ParentNodeProvider, ScopeProvider)

READS = frozenset({"get", "keys", "values", "items", "copy", "__contains__", "__getitem__"})
REMOVALS = frozenset({"pop", "popitem", "clear"})
MAX_DEPTH = 8


def constant_key(node: cst.BaseExpression) -> str | None:
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
        value = node.evaluated_value
        return value if isinstance(value, str) else None
    return None


class SplatKeys:
    """Answers "which keys may this ``**`` expression carry" for one module (metadata resolved once)."""

    def __init__(self, module: cst.Module) -> None:
        wrapper = MetadataWrapper(module, unsafe_skip_copy=True)
        self.scopes = wrapper.resolve(ScopeProvider)
        self.parents = wrapper.resolve(ParentNodeProvider)

    def may_carry(self, expression: cst.BaseExpression, key: str) -> bool:
        keys = self.keys_of(expression)
        return keys is None or key in keys

    def keys_of(self, node: cst.BaseExpression, depth: int = 0) -> frozenset[str] | None:
        """The keys the dict ``node`` evaluates to may hold; None when any key may be there."""
        if depth > MAX_DEPTH:
            return None
        if isinstance(node, cst.Dict):
            return self._literal_keys(node, depth)
        if isinstance(node, cst.Call) and self._is_builtin_dict(node.func):
            return self._dict_call_keys(node, depth)
        if isinstance(node, cst.Name):
            return self._name_keys(node, depth)
        return None

    # -- literals -------------------------------------------------------------------------------
    def _literal_keys(self, node: cst.Dict, depth: int) -> frozenset[str] | None:
        keys: set[str] = set()
        for element in node.elements:
            if isinstance(element, cst.StarredDictElement):
                inner = self.keys_of(element.value, depth + 1)
                if inner is None:
                    return None
                keys |= inner
                continue
            key = constant_key(element.key)
            if key is None:
                return None
            keys.add(key)
        return frozenset(keys)

    def _dict_call_keys(self, node: cst.Call, depth: int) -> frozenset[str] | None:
        keys: set[str] = set()
        for arg in node.args:
            if arg.keyword is not None:
                keys.add(arg.keyword.value)
            elif arg.star == "*":
                return None
            else:  # dict(base) and dict(**extra)
                inner = self.keys_of(arg.value, depth + 1)
                if inner is None:
                    return None
                keys |= inner
        return frozenset(keys)

    def _is_builtin_dict(self, func: cst.BaseExpression) -> bool:
        if not isinstance(func, cst.Name) or func.value != "dict":
            return False
        scope = self.scopes.get(func)
        if scope is None:
            return False
        referents = [referent for access in scope.accesses[func] if access.node is func
                     for referent in access.referents]
        return bool(referents) and all(isinstance(referent, BuiltinAssignment) for referent in referents)

    # -- names ----------------------------------------------------------------------------------
    def _name_keys(self, node: cst.Name, depth: int) -> frozenset[str] | None:
        scope = self.scopes.get(node)
        if scope is None:
            return None
        referents = {referent for access in scope.accesses[node] if access.node is node
                     for referent in access.referents}
        if len(referents) != 1:
            return None
        assignment = next(iter(referents))
        defining = getattr(assignment, "scope", None)
        if defining is None or len(defining.assignments[node.value]) != 1:
            return None  # bound more than once (or a global/nonlocal rebinding elsewhere)
        value = self._assigned_dict(assignment.node)
        if value is None:
            return None
        keys = self.keys_of(value, depth + 1)
        if keys is None:
            return None
        added: set[str] = set()
        for access in assignment.references:
            found = self._use(access.node, depth)
            if found is None:
                return None
            added |= found
        return keys | added

    def _assigned_dict(self, target: cst.CSTNode) -> cst.BaseExpression | None:
        """The dict a plain ``name = {...}`` / ``name = dict(...)`` binds; None for anything else."""
        if not isinstance(target, cst.Name):
            return None
        holder = self.parents.get(target)
        if isinstance(holder, cst.AssignTarget):
            statement = self.parents.get(holder)
            if isinstance(statement, cst.Assign) and len(statement.targets) == 1 and statement.targets[0] is holder:
                value = statement.value
            else:
                return None
        elif isinstance(holder, cst.AnnAssign) and holder.target is target and holder.value is not None:
            value = holder.value
        else:
            return None
        if isinstance(value, cst.Dict) or (isinstance(value, cst.Call) and self._is_builtin_dict(value.func)):
            return value
        return None

    def _use(self, name: cst.CSTNode, depth: int) -> frozenset[str] | None:
        """The keys one use of the dict's name may add (empty for a read); None when it may add any."""
        parent = self.parents.get(name)
        if isinstance(parent, (cst.Arg, cst.StarredDictElement)) and getattr(parent, "star", "**") == "**" \
                and parent.value is name:
            return frozenset()  # splatted somewhere: read
        if isinstance(parent, cst.ComparisonTarget) and parent.comparator is name and isinstance(
                parent.operator, (cst.In, cst.NotIn)):
            return frozenset()
        if isinstance(parent, cst.Subscript) and parent.value is name:
            return self._subscript_use(parent)
        if isinstance(parent, cst.Attribute) and parent.value is name:
            call = self.parents.get(parent)
            if not isinstance(call, cst.Call) or call.func is not parent:
                return None
            method = parent.attr.value
            if method in READS or method in REMOVALS:
                return frozenset()
            if method == "setdefault" and call.args and call.args[0].keyword is None and not call.args[0].star:
                key = constant_key(call.args[0].value)
                return frozenset({key}) if key is not None else None
            if method == "update":
                return self._update_keys(call, depth)
        return None

    def _subscript_use(self, subscript: cst.Subscript) -> frozenset[str] | None:
        holder = self.parents.get(subscript)
        if isinstance(holder, cst.Del):
            return frozenset()
        stores = isinstance(holder, cst.AssignTarget) or (
            isinstance(holder, (cst.AugAssign, cst.AnnAssign)) and holder.target is subscript)
        if not stores:
            if isinstance(holder, (cst.Element, cst.StarredElement, cst.For, cst.CompFor, cst.AsName, cst.WithItem)):
                return None  # a target of an unpacking, loop or ``with``: a store whose key is not checked
            return frozenset()  # read
        if len(subscript.slice) != 1 or not isinstance(subscript.slice[0].slice, cst.Index):
            return None
        key = constant_key(subscript.slice[0].slice.value)
        return frozenset({key}) if key is not None else None

    def _update_keys(self, call: cst.Call, depth: int) -> frozenset[str] | None:
        keys: set[str] = set()
        for arg in call.args:
            if arg.keyword is not None:
                keys.add(arg.keyword.value)
                continue
            if arg.star == "*":
                return None
            inner = self.keys_of(arg.value, depth + 1)  # update({...}), update(**extra), update(known)
            if inner is None:
                return None
            keys |= inner
        return frozenset(keys)
