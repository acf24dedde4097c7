"""What an expression is worth at lint time: a constant, a library symbol, a config, or unknown."""

from __future__ import annotations

from dataclasses import dataclass, field
from enum import Enum

import libcst as cst

from ecolint.analysis.scopes import Scope, dotted_name, is_library_name, qualify

MAX_DEPTH = 12


class ValueKind(str, Enum):
    """What a :class:`Value` holds."""

    CONST = "const"  # a Python literal in ``value`` (bool, int, float, str, None)
    SYMBOL = "symbol"  # a qualified library name in ``value`` such as ``torch.float32``
    MAPPING = "mapping"  # keyword-style entries (dict literal, ``dict(...)``, a config call); ``call_name`` says which
    OPTION = "option"  # a command-line option (argparse) whose default is ``value`` (a Value or None)
    CHOICE = "choice"  # one of several values (``a if c else b``, a dict changed in an ``if``) in ``options``
    UNKNOWN = "unknown"  # anything else; ``reason`` says why (``parameter``, ``dynamic``)


@dataclass(eq=False)
class Value:
    """A resolved value; ``kind`` says which fields matter."""

    kind: ValueKind
    value: object = None
    node: cst.CSTNode | None = None
    entries: "Entries | None" = None
    call_name: str | None = None
    options: list["Value"] = field(default_factory=list)
    reason: str = ""
    flag: str = ""
    group: str = ""  # options of one argparse mutually exclusive group are never on together
    branches: tuple[tuple[int, int], ...] = ()  # the ``if`` branches a conditional dict change was made in

    def maybe_true(self) -> bool:
        """Not provably false: a path where this is truthy may run."""
        if self.kind == ValueKind.CONST:
            return bool(self.value)
        if self.kind == ValueKind.CHOICE:
            return any(option.maybe_true() for option in self.options)
        return True

    def provably_false(self) -> bool:
        if self.kind == ValueKind.CONST:
            return not self.value
        if self.kind == ValueKind.CHOICE:
            return all(option.provably_false() for option in self.options)
        return False

    def exclusive_with(self, other: "Value") -> bool:
        """Never both set: changes made in different branches of one ``if``/``elif`` chain."""
        mine = dict(self.branches)
        return any(branch in mine and mine[branch] != side for branch, side in other.branches)

    def provably_true(self) -> bool:
        if self.kind == ValueKind.CONST:
            return bool(self.value)
        if self.kind == ValueKind.CHOICE:
            return all(option.provably_true() for option in self.options)
        return False

    def number(self) -> float | None:
        if self.kind == ValueKind.CONST and isinstance(self.value, (int, float)) and not isinstance(self.value, bool):
            return float(self.value)
        return None

    def text(self) -> str | None:
        if self.kind == ValueKind.CONST and isinstance(self.value, str):
            return self.value
        if self.kind == ValueKind.OPTION and isinstance(self.value, Value):
            return self.value.text()
        return None


@dataclass(eq=False)
class Entry:
    """One keyword of a call or key of a dict: its value and where the key is written."""

    name: str
    value: Value
    key_node: cst.CSTNode
    owner: cst.CSTNode | None = None  # the call or dict where the key is written


@dataclass(eq=False)
class Entries:
    """The keywords a call receives, with ``**`` dicts merged in where they can be resolved."""

    items: dict[str, Entry] = field(default_factory=dict)
    unknown_splat: bool = False
    # every unknown ``**`` dict is one the caller passes (a parameter of the function around the call)
    from_caller: bool = False

    def get(self, name: str) -> Entry | None:
        return self.items.get(name)

    def names(self) -> list[str]:
        return list(self.items)


UNKNOWN = Value(ValueKind.UNKNOWN, reason="dynamic")


@dataclass(eq=False)
class FunctionInfo:
    node: cst.FunctionDef
    scope: Scope
    returns: list[tuple[cst.BaseExpression, int]] = field(default_factory=list)
    owner: cst.ClassDef | None = None  # the class of a method
    is_async: bool = False

    @property
    def name(self) -> str:
        return self.node.name.value

    def parameters(self) -> list[str]:
        """Positional parameter names in order, ``self``/``cls`` of a method left out."""
        params = self.node.params
        names = [param.name.value for param in [*params.posonly_params, *params.params]]
        if self.owner is not None and names and names[0] in ("self", "cls"):
            names = names[1:]
        return names


@dataclass(eq=False)
class Mutation:
    """A change to a dict after it was built: ``d[k] = v``, ``d.update(...)``, ``d.setdefault(k, v)``."""

    kind: str  # "set", "update", "setdefault"
    path: tuple[str, ...]  # keys from the dict down to the changed one (set, setdefault)
    node: cst.CSTNode  # the value (set, setdefault) or the update call
    key_node: cst.CSTNode
    scope: Scope
    order: int
    conditional: bool  # inside an ``if``: the change may not happen
    branches: tuple[tuple[int, int], ...] = ()  # (id of an ``if``, 0 body / 1 else) around the change


@dataclass(eq=False)
class ArgparseOption:
    dest: str
    flag: str
    default: cst.BaseExpression | None
    action: str | None
    scope: Scope
    order: int
    group: str = ""  # the mutually exclusive group it belongs to, if any


class Resolver:
    """Resolves expressions of one module to Values, following names, dicts, helpers and argparse."""

    def __init__(self) -> None:
        self.functions: dict[int, FunctionInfo] = {}
        self.argparse_options: dict[str, ArgparseOption] = {}
        self.mutations: dict[int, list[Mutation]] = {}  # by id of the binding of the changed dict
        self.calls_by_name: dict[str, list[cst.Call]] = {}  # every call, by the callee's last name
        self.project = None  # a ProjectLink answering for names imported from the project's modules

    # -- expressions -------------------------------------------------------------------------
    def resolve(self, node: cst.BaseExpression, scope: Scope, order: int, depth: int = 0) -> Value:
        if depth > MAX_DEPTH:
            return Value(ValueKind.UNKNOWN, node=node, reason="dynamic")
        if isinstance(node, (cst.Integer, cst.Float)):
            return Value(ValueKind.CONST, _number(node), node)
        if isinstance(node, cst.UnaryOperation) and isinstance(node.operator, cst.Minus):
            inner = self.resolve(node.expression, scope, order, depth + 1)
            if inner.kind == ValueKind.CONST and isinstance(inner.value, (int, float)):
                return Value(ValueKind.CONST, -inner.value, node)
            return Value(ValueKind.UNKNOWN, node=node, reason="dynamic")
        if isinstance(node, (cst.SimpleString, cst.ConcatenatedString)):
            evaluated = node.evaluated_value
            if isinstance(evaluated, bytes):
                return Value(ValueKind.CONST, evaluated, node)
            return Value(ValueKind.CONST, evaluated, node) if evaluated is not None else UNKNOWN
        if isinstance(node, cst.Name) and node.value in ("True", "False", "None"):
            return Value(ValueKind.CONST, {"True": True, "False": False, "None": None}[node.value], node)
        if isinstance(node, cst.BooleanOperation) and isinstance(node.operator, cst.Or):
            return self._resolve_fallback(node, scope, order, depth)
        if isinstance(node, cst.IfExp):
            options = [
                self.resolve(node.body, scope, order, depth + 1),
                self.resolve(node.orelse, scope, order, depth + 1),
            ]
            return Value(ValueKind.CHOICE, node=node, options=options)
        if isinstance(node, cst.Dict):
            entries = self.dict_entries(node, scope, order, depth)
            return Value(ValueKind.MAPPING, node=node, entries=entries, call_name="dict")
        if isinstance(node, cst.Call):
            return self._resolve_call(node, scope, order, depth)
        if isinstance(node, cst.Name):
            return self._resolve_name(node, scope, order, depth)
        if isinstance(node, cst.Subscript):
            return self._resolve_lookup(node, scope, order, depth)
        if isinstance(node, cst.Attribute):
            option = self._argparse_option(node, scope, order, depth)
            if option is not None:
                return option
            qualified = qualify(node, scope, order)
            if qualified and not qualified.startswith("<local>"):
                return Value(ValueKind.SYMBOL, qualified, node)
            return Value(ValueKind.UNKNOWN, node=node, reason="dynamic")
        return Value(ValueKind.UNKNOWN, node=node, reason="dynamic")

    def _resolve_fallback(self, node: cst.BooleanOperation, scope: Scope, order: int, depth: int) -> Value:
        """``kwargs or {}``: a dict whose keys are unknown (what the left side holds), or the fallback dict's."""
        fallback = self.resolve(node.right, scope, order, depth + 1)
        if fallback.kind != ValueKind.MAPPING or fallback.call_name != "dict" or fallback.entries is None:
            return Value(ValueKind.UNKNOWN, node=node, reason="dynamic")
        left = self.resolve(node.left, scope, order, depth + 1)
        if left.provably_false():
            return fallback
        entries = Entries({name: _maybe_absent(entry) for name, entry in fallback.entries.items.items()})
        _add_unknown_splat(entries, left.kind == ValueKind.UNKNOWN and left.reason == "parameter")
        return Value(ValueKind.MAPPING, node=node, entries=entries, call_name="dict")

    def _resolve_lookup(self, node: cst.Subscript, scope: Scope, order: int, depth: int) -> Value:
        """``table[key]`` in a dict of the module: the entry for a known key, or for a command-line option's
        default (``{"fp32": torch.float32, ...}[args.precision]``, read as that option)."""
        unknown = Value(ValueKind.UNKNOWN, node=node, reason="dynamic")
        if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index):
            return unknown
        table = self.resolve(node.value, scope, order, depth + 1)
        if table.kind != ValueKind.MAPPING or table.call_name != "dict" or table.entries is None:
            return unknown
        key = self.resolve(node.slice[0].slice.value, scope, order, depth + 1)
        if key.kind == ValueKind.CONST and isinstance(key.value, str):
            entry = table.entries.get(key.value)
            return entry.value if entry is not None else unknown
        if key.kind == ValueKind.OPTION and isinstance(key.value, Value) and isinstance(key.value.value, str):
            entry = table.entries.get(key.value.value)
            if entry is not None:
                return Value(ValueKind.OPTION, entry.value, node, flag=key.flag, group=key.group)
        return unknown

    def _resolve_name(self, node: cst.Name, scope: Scope, order: int, depth: int) -> Value:
        binding = scope.lookup(node.value, order)
        if binding is None:
            qualified = qualify(node, scope, order)
            if qualified:
                return Value(ValueKind.SYMBOL, qualified, node)
            return Value(ValueKind.UNKNOWN, node=node, reason="dynamic")
        if binding.kind == "assign" and binding.value is not None:
            value = self.resolve(binding.value, binding.scope, binding.order, depth + 1)
            changes = [m for m in self.mutations.get(id(binding), ()) if m.order < order]
            if changes and value.kind == ValueKind.MAPPING and value.entries is not None:
                value = self._mutated(value, changes, depth)
            return value
        if binding.kind == "import":
            imported = self.project.constant(binding.qualified) if self.project and binding.qualified else None
            if imported is not None:
                return reanchored(imported, node)
            return Value(ValueKind.SYMBOL, binding.qualified, node)
        if binding.kind == "param":
            default = self._unchanged_default(binding)
            if default is not None:
                return self.resolve(default, binding.scope.parent or binding.scope, binding.order, depth + 1)
            return Value(ValueKind.UNKNOWN, node=node, reason="parameter")
        return Value(ValueKind.UNKNOWN, node=node, reason="dynamic")

    def _mutated(self, value: Value, changes: list[Mutation], depth: int) -> Value:
        """A dict's value with the later ``d[k] = v`` / ``update`` / ``setdefault`` changes applied."""
        entries = _copy_entries(value.entries)
        for change in changes:
            if change.kind == "update":
                update = self.call_entries(change.node, change.scope, change.order, depth + 1)
                for call_arg in change.node.args:
                    if call_arg.keyword is None and not call_arg.star:
                        self._merge_splat(update, call_arg.value, change.scope, change.order, depth)
                for name, entry in update.items.items():
                    entries.items[name] = _maybe(entry, change)
                if update.unknown_splat:
                    _add_unknown_splat(entries, update.from_caller)
                continue
            target = entries
            for key in change.path[:-1]:
                inner = target.items.get(key)
                if inner is None or inner.value.kind != ValueKind.MAPPING or inner.value.entries is None:
                    empty = Value(ValueKind.MAPPING, node=change.key_node, entries=Entries(), call_name="dict")
                    inner = Entry(key, empty, change.key_node, change.key_node)
                else:
                    inner = Entry(key, Value(ValueKind.MAPPING, node=inner.value.node, entries=_copy_entries(
                        inner.value.entries), call_name="dict"), inner.key_node, inner.owner)
                target.items[key] = inner
                target = inner.value.entries
            key = change.path[-1]
            if change.kind == "setdefault" and key in target.items:
                continue
            resolved = self.resolve(change.node, change.scope, change.order, depth + 1)
            target.items[key] = _maybe(Entry(key, resolved, change.key_node, change.key_node), change)
        return Value(ValueKind.MAPPING, node=value.node, entries=entries, call_name=value.call_name)

    def _unchanged_default(self, binding) -> cst.BaseExpression | None:
        """A parameter's default when the module calls its function and no call passes that parameter."""
        param = binding.node
        function = binding.scope.node
        if not isinstance(param, cst.Param) or param.default is None or not isinstance(function, cst.FunctionDef):
            return None
        info = self.functions.get(id(function))
        if info is None or not self.calls_by_name.get(function.name.value) or self.passed_by_a_call(
            info, param.name.value
        ):
            return None
        return param.default

    def passed_by_a_call(self, info: FunctionInfo, name: str) -> bool:
        """Whether a call of the function in the module may give parameter ``name`` (by keyword, by
        position, or through ``*args``/``**kwargs``)."""
        positional = info.parameters()
        index = positional.index(name) if name in positional else None
        for call in self.calls_by_name.get(info.name, []):
            if any(arg.star for arg in call.args):
                return True
            if any(arg.keyword is not None and arg.keyword.value == name for arg in call.args):
                return True
            if index is not None and sum(1 for arg in call.args if arg.keyword is None) > index:
                return True
        return False

    def _resolve_call(self, node: cst.Call, scope: Scope, order: int, depth: int) -> Value:
        qualified = qualify(node.func, scope, order)
        if qualified == "builtins.dict":
            entries = Entries()
            for arg in node.args:  # dict(base, **extra): the base first, then the keywords
                if arg.keyword is None and not arg.star:
                    self._merge_splat(entries, arg.value, scope, order, depth)
            keywords = self.call_entries(node, scope, order, depth)
            entries.items.update(keywords.items)
            if keywords.unknown_splat:
                _add_unknown_splat(entries, keywords.from_caller)
            return Value(ValueKind.MAPPING, node=node, entries=entries, call_name="dict")
        if is_library_name(qualified, "transformers", "BitsAndBytesConfig"):
            return Value(
                ValueKind.MAPPING,
                node=node,
                entries=self.call_entries(node, scope, order, depth),
                call_name="BitsAndBytesConfig",
            )
        function = self.local_function(node.func, scope, order)
        if function is not None and function.returns:
            results = [self.resolve(value, function.scope, at, depth + 1) for value, at in function.returns]
            return results[0] if len(results) == 1 else Value(ValueKind.CHOICE, node=node, options=results)
        return Value(ValueKind.UNKNOWN, node=node, reason="dynamic")

    def origin_call(self, node: cst.BaseExpression | None, scope: Scope, order: int, depth: int = 0) -> cst.Call | None:
        """The call that built what an expression holds, through assignments and the module's own helpers
        (``loader = make_loader(ds)`` -> the ``DataLoader(...)`` that ``make_loader`` returns)."""
        if node is None or depth > 4:
            return None
        if isinstance(node, cst.Name):
            binding = scope.lookup(node.value, order)
            if binding is None or binding.kind != "assign" or binding.value is None:
                return None
            return self.origin_call(binding.value, binding.scope, binding.order, depth + 1)
        if isinstance(node, cst.Call):
            function = self.local_function(node.func, scope, order)
            if function is not None and len(function.returns) == 1:
                value, at = function.returns[0]
                found = self.origin_call(value, function.scope, at, depth + 1)
                if found is not None:
                    return found
            return node
        return None

    def local_function(self, func: cst.BaseExpression, scope: Scope, order: int) -> FunctionInfo | None:
        if not isinstance(func, cst.Name):
            return None
        binding = scope.lookup(func.value, order)
        if binding is None or binding.kind != "function" or binding.node is None:
            return None
        return self.functions.get(id(binding.node))

    def _argparse_option(self, node: cst.Attribute, scope: Scope, order: int, depth: int) -> Value | None:
        option = self.argparse_options.get(node.attr.value)
        if option is None or not isinstance(node.value, cst.Name):
            return None
        default = None
        if option.default is not None:
            default = self.resolve(option.default, option.scope, option.order, depth + 1)
        elif option.action == "store_true":
            default = Value(ValueKind.CONST, False, node)
        elif option.action == "store_false":
            default = Value(ValueKind.CONST, True, node)
        return Value(ValueKind.OPTION, default, node, flag=option.flag, group=option.group)

    # -- keyword collections -----------------------------------------------------------------
    def call_entries(self, call: cst.Call, scope: Scope, order: int, depth: int = 0) -> Entries:
        entries = Entries()
        for arg in call.args:
            if arg.keyword is not None:
                entries.items[arg.keyword.value] = Entry(
                    arg.keyword.value, self.resolve(arg.value, scope, order, depth + 1), arg.keyword, call
                )
            elif arg.star == "**":
                self._merge_splat(entries, arg.value, scope, order, depth)
        return entries

    def dict_entries(self, node: cst.Dict, scope: Scope, order: int, depth: int = 0) -> Entries:
        entries = Entries()
        for element in node.elements:
            if isinstance(element, cst.StarredDictElement):
                self._merge_splat(entries, element.value, scope, order, depth)
                continue
            key = self.resolve(element.key, scope, order, depth + 1)
            if key.kind == ValueKind.CONST and isinstance(key.value, str):
                entries.items[key.value] = Entry(
                    key.value, self.resolve(element.value, scope, order, depth + 1), element.key, node
                )
            else:
                _add_unknown_splat(entries, False)
        return entries

    def _merge_splat(self, entries: Entries, node: cst.BaseExpression, scope: Scope, order: int, depth: int) -> None:
        value = self.resolve(node, scope, order, depth + 1)
        if value.kind == ValueKind.MAPPING and value.call_name == "dict" and value.entries is not None:
            entries.items.update(value.entries.items)
            if value.entries.unknown_splat:
                _add_unknown_splat(entries, value.entries.from_caller)
        else:
            _add_unknown_splat(entries, value.kind == ValueKind.UNKNOWN and value.reason == "parameter")


def _add_unknown_splat(entries: Entries, from_caller: bool) -> None:
    """Record a ``**`` dict whose keys are unknown; ``from_caller`` when it is a parameter's value."""
    entries.from_caller = from_caller and (entries.from_caller or not entries.unknown_splat)
    entries.unknown_splat = True


def _copy_entries(entries: Entries) -> Entries:
    return Entries(dict(entries.items), entries.unknown_splat, entries.from_caller)


def reanchored(value: Value, node: cst.CSTNode) -> Value:
    """A copy of a value from another module with every node replaced by ``node`` (the local name
    that imports it): findings point at the import's use, and no fix edits another file."""
    entries = None
    if value.entries is not None:
        items = {name: Entry(name, reanchored(entry.value, node), node, node)
                 for name, entry in value.entries.items.items()}
        entries = Entries(items, value.entries.unknown_splat, value.entries.from_caller)
    inner = reanchored(value.value, node) if isinstance(value.value, Value) else value.value
    options = [reanchored(option, node) for option in value.options]
    return Value(value.kind, inner, node, entries, value.call_name, options, value.reason, value.flag, value.group,
                 value.branches)


def _maybe(entry: Entry, change: Mutation) -> Entry:
    """An entry set inside an ``if``: its value, or nothing."""
    if not change.conditional:
        return entry
    value = Value(ValueKind.CHOICE, node=entry.value.node,
                  options=[entry.value, Value(ValueKind.CONST, None, entry.value.node)], branches=change.branches)
    return Entry(entry.name, value, entry.key_node, entry.owner)


def _maybe_absent(entry: Entry) -> Entry:
    """An entry that may not be there: its value, or nothing."""
    nothing = Value(ValueKind.CONST, None, entry.value.node)
    value = Value(ValueKind.CHOICE, node=entry.value.node, options=[entry.value, nothing])
    return Entry(entry.name, value, entry.key_node, entry.owner)


def _number(node: cst.Integer | cst.Float) -> float | int:
    text = node.value.replace("_", "")
    if isinstance(node, cst.Integer):
        try:
            return int(text, 0)
        except ValueError:
            return 0
    return float(text)


def call_name(node: cst.Call) -> str | None:
    """The syntactic name of a call's callee (``model.generate`` -> ``model.generate``)."""
    return dotted_name(node.func)


def last_name(func: cst.BaseExpression) -> str | None:
    if isinstance(func, cst.Name):
        return func.value
    if isinstance(func, cst.Attribute):
        return func.attr.value
    return None
