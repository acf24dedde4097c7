"""One pass over a libcst module that builds scopes and records every site the checks may need."""

from __future__ import annotations

from dataclasses import dataclass, field

import libcst as cst

from ecolint.analysis.generation_shape import read_as_generated_text
from ecolint.analysis.scopes import Binding, Scope, code_of, dotted_name, module_path
from ecolint.analysis.values import ArgparseOption, FunctionInfo, Mutation, Resolver, last_name
from ecolint.analysis.walk import walk

ATTRIBUTE_SETTINGS = frozenset({"use_cache"})
# Settings with which transformers' generate() compiles the decoding step itself (a static cache).
COMPILE_SETTINGS = frozenset({"cache_implementation", "compile_config"})


@dataclass(eq=False)
class Unit:
    """A top-level function (or the module's own statements): the granularity of training markers."""

    node: cst.CSTNode
    name: str
    training_markers: list[str] = field(default_factory=list)


@dataclass(eq=False)
class Loop:
    node: cst.CSTNode
    kind: str  # "for", "while", "comprehension"
    iter: cst.BaseExpression | None
    targets: frozenset[str]
    scope: Scope
    order: int
    calls: list["CallSite"] = field(default_factory=list)


@dataclass(eq=False)
class CallSite:
    node: cst.Call
    scope: Scope
    order: int
    loops: tuple[Loop, ...]
    unit: Unit
    function: FunctionInfo | None


@dataclass(eq=False)
class AttributeAssignment:
    target: cst.Attribute
    value: cst.BaseExpression
    scope: Scope
    order: int
    unit: Unit


class Collector:
    """Builds scopes and records calls, loops and attribute assignments in source order."""

    def __init__(self) -> None:
        self.resolver = Resolver()
        self.module_scope = Scope("module", None)
        self.scope = self.module_scope
        self.order = 0
        self.module_unit = Unit(cst.Module(body=[]), "<module>")
        self.unit = self.module_unit
        self.units: list[Unit] = [self.module_unit]
        self.loops: list[Loop] = []
        self.all_loops: list[Loop] = []
        self.classes: dict[str, dict[str, FunctionInfo]] = {}  # class name -> its methods
        self.calls: list[CallSite] = []
        self.attribute_assignments: list[AttributeAssignment] = []
        # ``self.pipe = pipeline(...)`` in a method: (id of the class, attribute) -> the assignments
        self.instance_attributes: dict[tuple[int, str], list[AttributeAssignment]] = {}
        self.compile_mentions = 0
        self.generated_text_reads: set[int] = set()  # ids of calls read as ``call(...)[0]["generated_text"]``
        self._function_stack: list[FunctionInfo] = []
        self._loop_floor: list[int] = []  # loops do not reach into nested function bodies
        self._class_stack: list[cst.ClassDef] = []
        self._conditions = [0]  # ``if`` nesting, per function
        self._branches: list[tuple[int, int]] = []  # (id of an ``if``, 0 body / 1 else) around the visit
        self.raising_guards: list[frozenset[str]] = []  # ``if a and b: raise ...``: a and b never both hold after

    # -- helpers -----------------------------------------------------------------------------
    def _tick(self) -> int:
        self.order += 1
        return self.order

    def _bind(self, name: str, kind: str, **extra) -> None:
        self.scope.bind(Binding(name, kind, self._tick(), self.scope, **extra))

    def _bind_target(self, target: cst.BaseExpression, value: cst.BaseExpression | None, kind: str = "assign") -> None:
        if isinstance(target, cst.Name):
            self._bind(target.value, kind if value is not None else "other", value=value)
        elif isinstance(target, (cst.Tuple, cst.List)):
            for element in target.elements:
                inner = element.value
                if isinstance(inner, cst.StarredElement):
                    inner = inner.value
                self._bind_target(inner, None, "other")
        elif isinstance(target, cst.StarredElement):
            self._bind_target(target.value, None, "other")

    def _push_scope(self, kind: str, node: cst.CSTNode) -> None:
        self.scope = Scope(kind, self.scope, node)

    def _pop_scope(self) -> None:
        assert self.scope.parent is not None
        self.scope = self.scope.parent

    def _current_loops(self) -> tuple[Loop, ...]:
        floor = self._loop_floor[-1] if self._loop_floor else 0
        return tuple(self.loops[floor:])

    # -- imports -----------------------------------------------------------------------------
    def visit_Import(self, node: cst.Import) -> bool:
        for alias in node.names:
            full = module_path(alias.name)
            if alias.asname is not None and isinstance(alias.asname.name, cst.Name):
                self._bind(alias.asname.name.value, "import", qualified=full)
            else:
                head = full.split(".", 1)[0]
                self._bind(head, "import", qualified=head)
        return False

    def visit_ImportFrom(self, node: cst.ImportFrom) -> bool:
        base = module_path(node.module)
        if node.relative:  # ``from ..x import y`` -> "<relative>..x": the dots say how many levels up
            base = "<relative>" + "." * len(node.relative) + base
        if isinstance(node.names, cst.ImportStar):
            self.scope.star_imports.append(base)
            return False
        for alias in node.names:
            name = module_path(alias.name)
            local = (
                alias.asname.name.value
                if alias.asname is not None and isinstance(alias.asname.name, cst.Name)
                else name
            )
            self._bind(local, "import", qualified=f"{base}{name}" if base.endswith(".") else f"{base}.{name}")
        return False

    # -- definitions -------------------------------------------------------------------------
    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self._bind(node.name.value, "function", node=node)
        owner = self._class_stack[-1] if self.scope.kind == "class" and self._class_stack else None
        if self.unit is self.module_unit:
            self.unit = Unit(node, node.name.value)
            self.units.append(self.unit)
            trainer = next((cls.name.value for cls in self._class_stack if _is_trainer_class(cls)), None)
            if trainer is not None:  # a method of a Trainer subclass is training code
                self.unit.training_markers.append(f"class {trainer}")
        self._push_scope("function", node)
        info = FunctionInfo(node, self.scope, owner=owner, is_async=node.asynchronous is not None)
        self.resolver.functions[id(node)] = info
        if owner is not None:
            self.classes.setdefault(owner.name.value, {})[node.name.value] = info
        self._function_stack.append(info)
        self._conditions.append(0)
        self._loop_floor.append(len(self.loops))
        params = node.params
        for param in [*params.posonly_params, *params.params, *params.kwonly_params]:
            self._bind(param.name.value, "param", node=param)
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                self._bind(star.name.value, "param", node=star)
        return True

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:  # noqa: D401
        self._pop_scope()
        self._function_stack.pop()
        self._conditions.pop()
        self._loop_floor.pop()
        if self.unit.node is original_node:
            self.unit = self.module_unit

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        self._push_scope("lambda", node)
        for param in node.params.params:
            self._bind(param.name.value, "param", node=param)
        return True

    def leave_Lambda(self, original_node: cst.Lambda) -> None:
        self._pop_scope()

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self._bind(node.name.value, "class", node=node)
        self._push_scope("class", node)
        self._class_stack.append(node)
        return True

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self._pop_scope()
        self._class_stack.pop()

    def visit_If(self, node: cst.If) -> bool:
        self._conditions[-1] += 1
        guard = _raising_guard(node)
        if guard:
            self.raising_guards.append(guard)
        return True

    def leave_If(self, original_node: cst.If) -> None:
        self._conditions[-1] -= 1

    def visit_If_body(self, node: cst.If) -> None:
        self._branches.append((id(node), 0))

    def leave_If_body(self, node: cst.If) -> None:
        self._branches.pop()

    def visit_If_orelse(self, node: cst.If) -> None:
        self._branches.append((id(node), 1))

    def leave_If_orelse(self, node: cst.If) -> None:
        self._branches.pop()

    def visit_Return(self, node: cst.Return) -> bool:
        if self._function_stack and node.value is not None:
            self._function_stack[-1].returns.append((node.value, self._tick()))
        return True

    # -- assignments -------------------------------------------------------------------------
    def leave_Assign(self, original_node: cst.Assign) -> None:
        for target in original_node.targets:
            self._record_attribute_setting(target.target, original_node.value)
            self._record_dict_setting(target.target, original_node.value)
            self._bind_target(target.target, original_node.value)

    def leave_AnnAssign(self, original_node: cst.AnnAssign) -> None:
        if original_node.value is not None:
            self._record_attribute_setting(original_node.target, original_node.value)
            self._bind_target(original_node.target, original_node.value)

    def leave_AugAssign(self, original_node: cst.AugAssign) -> None:
        self._bind_target(original_node.target, None, "other")

    def leave_NamedExpr(self, original_node: cst.NamedExpr) -> None:
        self._bind_target(original_node.target, original_node.value)

    def visit_WithItem(self, node: cst.WithItem) -> bool:
        return True

    def leave_WithItem(self, original_node: cst.WithItem) -> None:
        if original_node.asname is not None:
            self._bind_target(original_node.asname.name, None, "other")

    def visit_ExceptHandler(self, node: cst.ExceptHandler) -> bool:
        if node.name is not None and isinstance(node.name.name, cst.Name):
            self._bind(node.name.name.value, "other")
        return True

    def _record_dict_setting(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        """``kwargs["load_in_8bit"] = True`` and ``kwargs["model_kwargs"]["load_in_4bit"] = True``."""
        path: list[str] = []
        node = target
        while isinstance(node, cst.Subscript):
            key = _constant_key(node)
            if key is None:
                return
            path.insert(0, key)
            node = node.value
        if path and isinstance(node, cst.Name):
            key_node = target.slice[0].slice.value if isinstance(target, cst.Subscript) else target
            self._record_mutation(node.value, Mutation("set", tuple(path), value, key_node, self.scope, self.order,
                                                       self._conditions[-1] > 0, tuple(self._branches)))

    def _record_mutation(self, name: str, mutation: Mutation) -> None:
        mutation.order = self._tick()  # after the binding it changes, before the uses that follow
        binding = self.scope.lookup(name, mutation.order)
        if binding is not None and binding.kind == "assign":
            self.resolver.mutations.setdefault(id(binding), []).append(mutation)

    def _record_dict_method(self, node: cst.Call) -> None:
        func = node.func
        if not (isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name)):
            return
        method = func.attr.value
        conditional = self._conditions[-1] > 0
        if method == "update":
            self._record_mutation(func.value.value, Mutation("update", (), node, node, self.scope, self.order,
                                                             conditional, tuple(self._branches)))
        elif method == "setdefault" and len(node.args) == 2 and node.args[0].keyword is None:
            key = node.args[0].value
            if isinstance(key, cst.SimpleString) and isinstance(key.evaluated_value, str):
                self._record_mutation(func.value.value, Mutation("setdefault", (key.evaluated_value,),
                                                                 node.args[1].value, key, self.scope, self.order,
                                                                 conditional, tuple(self._branches)))

    def _record_attribute_setting(self, target: cst.BaseExpression, value: cst.BaseExpression) -> None:
        if (
            isinstance(target, cst.Attribute)
            and isinstance(target.value, cst.Name)
            and target.value.value == "self"
            and self._function_stack
            and self._function_stack[-1].owner is not None
        ):
            key = (id(self._function_stack[-1].owner), target.attr.value)
            self.instance_attributes.setdefault(key, []).append(
                AttributeAssignment(target, value, self.scope, self.order, self.unit))
        if isinstance(target, cst.Attribute) and target.attr.value in ATTRIBUTE_SETTINGS:
            self.attribute_assignments.append(AttributeAssignment(target, value, self.scope, self._tick(), self.unit))

    # -- loops -------------------------------------------------------------------------------
    # The iterable of a ``for`` (and the first iterable of a comprehension) is evaluated once,
    # outside the loop; only the body runs per item.
    def visit_For(self, node: cst.For) -> bool:
        walk(node.iter, self)
        loop = Loop(node, "for", node.iter, _target_names(node.target), self.scope, self._tick())
        walk(node.target, self)
        self._bind_target(node.target, None, "other")
        self._run_loop(loop, [node.body])
        if node.orelse is not None:
            walk(node.orelse, self)
        return False

    def visit_While(self, node: cst.While) -> bool:
        loop = Loop(node, "while", None, frozenset(), self.scope, self._tick())
        self._run_loop(loop, [node.test, node.body])
        if node.orelse is not None:
            walk(node.orelse, self)
        return False

    def _run_loop(self, loop: Loop, parts: list[cst.CSTNode]) -> None:
        self.loops.append(loop)
        self.all_loops.append(loop)
        for part in parts:
            walk(part, self)
        self.loops.pop()

    def _visit_comprehension(self, node: cst.CSTNode, for_in: cst.CompFor, results: list[cst.CSTNode]) -> bool:
        walk(for_in.iter, self)
        self._push_scope("comprehension", node)
        targets: set[str] = set()
        comp: cst.CompFor | None = for_in
        while comp is not None:
            targets |= _target_names(comp.target)
            self._bind_target(comp.target, None, "other")
            comp = comp.inner_for_in
        loop = Loop(node, "comprehension", for_in.iter, frozenset(targets), self.scope, self._tick())
        parts: list[cst.CSTNode] = [*for_in.ifs]
        if for_in.inner_for_in is not None:
            parts.append(for_in.inner_for_in)
        self._run_loop(loop, [*parts, *results])
        self._pop_scope()
        return False

    def visit_ListComp(self, node: cst.ListComp) -> bool:
        return self._visit_comprehension(node, node.for_in, [node.elt])

    def visit_SetComp(self, node: cst.SetComp) -> bool:
        return self._visit_comprehension(node, node.for_in, [node.elt])

    def visit_GeneratorExp(self, node: cst.GeneratorExp) -> bool:
        return self._visit_comprehension(node, node.for_in, [node.elt])

    def visit_DictComp(self, node: cst.DictComp) -> bool:
        return self._visit_comprehension(node, node.for_in, [node.key, node.value])

    # -- calls -------------------------------------------------------------------------------
    def visit_Subscript(self, node: cst.Subscript) -> None:
        call = read_as_generated_text(node)
        if call is not None:
            self.generated_text_reads.add(id(call))

    def visit_Call(self, node: cst.Call) -> bool:
        loops = self._current_loops()
        function = self._function_stack[-1] if self._function_stack else None
        site = CallSite(node, self.scope, self._tick(), loops, self.unit, function)
        self.calls.append(site)
        for loop in loops:
            loop.calls.append(site)
        name = last_name(node.func)
        if name is not None:
            self.resolver.calls_by_name.setdefault(name, []).append(node)
        if name == "add_argument":
            self._record_argparse(node)
        elif name in ("update", "setdefault"):
            self._record_dict_method(node)
        return True

    def visit_Attribute(self, node: cst.Attribute) -> bool:
        if node.attr.value == "compile" and dotted_name(node.value) not in ("re", "regex"):
            self.compile_mentions += 1
        elif node.attr.value in COMPILE_SETTINGS:
            self.compile_mentions += 1
        return True

    def visit_Arg(self, node: cst.Arg) -> bool:
        # generate(..., cache_implementation="static") or compile_config=...: transformers compiles the step
        if node.keyword is not None and node.keyword.value in COMPILE_SETTINGS:
            self.compile_mentions += 1
        return True

    def _record_argparse(self, node: cst.Call) -> None:
        flags = [
            arg.value.evaluated_value
            for arg in node.args
            if arg.keyword is None and isinstance(arg.value, cst.SimpleString)
        ]
        flags = [flag for flag in flags if isinstance(flag, str)]
        keywords = {arg.keyword.value: arg.value for arg in node.args if arg.keyword is not None}
        dest = None
        if "dest" in keywords and isinstance(keywords["dest"], cst.SimpleString):
            dest = keywords["dest"].evaluated_value
        if dest is None:
            long_flags = [flag for flag in flags if flag.startswith("--")]
            chosen = long_flags[0] if long_flags else (flags[0] if flags else None)
            if chosen is None:
                return
            dest = chosen.lstrip("-").replace("-", "_")
        action = keywords.get("action")
        action_text = action.evaluated_value if isinstance(action, cst.SimpleString) else None
        self.resolver.argparse_options[dest] = ArgparseOption(
            dest, flags[0] if flags else dest, keywords.get("default"), action_text, self.scope, self._tick(),
            group=self._exclusive_group(node),
        )

    def _exclusive_group(self, node: cst.Call) -> str:
        """The name of the ``add_mutually_exclusive_group()`` an ``add_argument`` call is made on, or ""."""
        owner = receiver(node)
        if not isinstance(owner, cst.Name):
            return ""
        binding = self.scope.lookup(owner.value, self.order)
        if binding is None or not isinstance(binding.value, cst.Call):
            return ""
        return owner.value if last_name(binding.value.func) == "add_mutually_exclusive_group" else ""


def _is_trainer_class(node: cst.ClassDef) -> bool:
    """``class X(Trainer)``, ``class X(_BaseTrainer)``, ``class X(SFTTrainer)``: a trainer."""
    return any((last_name(base.value) or "").endswith("Trainer") for base in node.bases)


EXITS = frozenset({"exit", "error", "abort", "quit"})


def _raising_guard(node: cst.If) -> frozenset[str]:
    """The operands of ``if a and b:`` whose body raises or exits at once, else an empty set."""
    test = node.test
    if not isinstance(test, cst.BooleanOperation) or not isinstance(test.operator, cst.And):
        return frozenset()
    body = node.body.body if isinstance(node.body, cst.IndentedBlock) else node.body.body
    statements = [small for line in body if isinstance(line, cst.SimpleStatementLine) for small in line.body]
    exits = any(
        isinstance(small, cst.Raise)
        or (isinstance(small, cst.Expr) and isinstance(small.value, cst.Call) and last_name(small.value.func) in EXITS)
        for small in statements
    )
    if not exits:
        return frozenset()
    operands, pending = [], [test]
    while pending:
        current = pending.pop()
        if isinstance(current, cst.BooleanOperation) and isinstance(current.operator, cst.And):
            pending.extend((current.left, current.right))
        else:
            operands.append(code_of(current))
    return frozenset(operands)


def _target_names(target: cst.BaseExpression) -> frozenset[str]:
    names: set[str] = set()
    if isinstance(target, cst.Name):
        names.add(target.value)
    elif isinstance(target, (cst.Tuple, cst.List)):
        for element in target.elements:
            names |= _target_names(element.value)
    elif isinstance(target, cst.StarredElement):
        names |= _target_names(target.value)
    return frozenset(names)


def _constant_key(node: cst.Subscript) -> str | None:
    if len(node.slice) != 1 or not isinstance(node.slice[0].slice, cst.Index):
        return None
    key = node.slice[0].slice.value
    if isinstance(key, cst.SimpleString) and isinstance(key.evaluated_value, str):
        return key.evaluated_value
    return None


def receiver(call: cst.Call) -> cst.BaseExpression | None:
    """``model`` in ``model.generate(...)``."""
    return call.func.value if isinstance(call.func, cst.Attribute) else None


__all__ = ["Collector", "CallSite", "Loop", "Unit", "AttributeAssignment", "receiver", "dotted_name"]
