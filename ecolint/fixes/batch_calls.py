"""Collect the calls a loop makes once per item into one call on the list of items.

A ``for`` loop or a comprehension that calls ``run(item)`` once per item and only collects what it
returns becomes a loop over the results of one call on every item::

    for p in prompts:                        for out in pipe(list(prompts), batch_size=8):
        out = pipe(p)                  ->        results.append(out[0]["generated_text"])
        results.append(out[0]["generated_text"])

The loop still runs its other statements, in the same order, on the same values; only the calls
move before it. That is proved from the code, or no fix is offered (``NoFix`` with the reason):

* the call runs exactly once per iteration: it sits in a statement of the loop's own body, not under
  a condition, a short-circuit, a lambda or a nested loop, and the loop has no ``break``,
  ``continue``, ``return``, ``raise``, ``yield``, ``await``, ``try`` or ``else``;
* nothing in an iteration depends on an earlier one's result, and the call's callee and settings do
  not change in the loop (they are read once, before it);
* the statements before the call only compute values (its input); none after it shows progress to a
  person or waits (``print``, logging, progress bars, timers, ``input``, ``sleep``), which would no
  longer be interleaved with the work;
* the items are read once: when the loop body uses the loop variable besides the call, the
  iterable is one that can be read twice (a list, a tuple, ``range``, ...), or it is first copied
  into a list.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import libcst as cst

from ecolint.analysis.collector import Loop
from ecolint.analysis.dataflow import names_in
from ecolint.analysis.scopes import Scope
from ecolint.analysis.values import last_name
from ecolint.fixes.context import FixContext, NoFix
from ecolint.fixes.edits import Edit, apply_edits
from ecolint.fixes.imports import variable_names

# Calls a statement before the per-item call may make: they compute its input and change nothing.
PURE_CALLS = frozenset({
    "format", "strip", "lstrip", "rstrip", "join", "replace", "lower", "upper", "split", "get", "len", "str",
    "int", "float", "apply_chat_template", "dict", "list", "tuple", "round", "min", "max", "enumerate", "zip",
    "range", "sorted", "keys", "values", "items", "startswith", "endswith", "dumps", "removeprefix",
    "removesuffix", "capitalize", "title", "casefold", "splitlines", "encode", "decode",
})
# Calls that show something to a person or wait: batching would no longer interleave them with the work.
SHOWN_OR_TIMED = frozenset({
    "print", "pprint", "display", "log", "debug", "info", "warning", "warn", "error", "exception", "critical",
    "update", "set_description", "set_postfix", "set_postfix_str", "refresh", "sleep", "time", "perf_counter",
    "monotonic", "process_time", "time_ns", "perf_counter_ns", "synchronize", "input", "flush", "markdown",
    "success", "echo", "secho", "emit", "send", "put", "post",
})
# ``x.write(...)`` is output a person sees when ``x`` is a stream (``sys.stdout``, ``tqdm``, ``st``).
STREAMS = frozenset({"stdout", "stderr", "tqdm", "st", "console", "sys"})
CONTROL = (cst.Break, cst.Continue, cst.Return, cst.Raise, cst.Yield, cst.Await, cst.Try, cst.TryStar,
           cst.Global, cst.Nonlocal)
CONTROL_WORDS = {cst.Break: "break", cst.Continue: "continue", cst.Return: "return", cst.Raise: "raise",
                 cst.Yield: "yield", cst.Await: "await", cst.Try: "try", cst.TryStar: "try", cst.Global: "global",
                 cst.Nonlocal: "nonlocal"}
# Iterables that can be read twice (each read gives the same items).
REREADABLE_CALLS = frozenset({"list", "tuple", "sorted", "range", "splitlines", "split", "readlines", "keys",
                              "values", "items", "tolist", "to_list"})
WHOLE_CONSUMERS = frozenset({"list", "tuple", "set", "sorted", "dict", "sum", "join", "frozenset", "Counter"})
LONG_LINE = 100  # a loop header longer than this gets its batched call on a line of its own
LIST_CALLS = frozenset({"list", "sorted", "splitlines", "split", "readlines", "tolist"})  # calls that return a list
COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.GeneratorExp, cst.DictComp)
MUTATING_METHODS = frozenset({"append", "extend", "update", "insert", "add", "setdefault", "pop", "remove",
                              "clear", "sort", "reverse", "popitem", "discard"})


@dataclass
class PerItemCall:
    """One per-item call of a loop, as the fixer of its library sees it.

    ``argument`` holds the item: ``pipe(p)`` (``item`` is ``p``) or ``llm.generate([p], params)``
    (``item`` is ``p`` inside the one-element list). ``wrapped``: the call returns a list holding
    the one result (vLLM), so ``call(...)[0]`` is the item's result; else the call returns it.
    ``batched`` gives the text of the one call on the list, from the text of that list.
    """

    call: cst.Call
    loop: Loop  # the loop the call runs in once per item (a for loop or a comprehension)
    argument: cst.Arg
    item: cst.BaseExpression
    batched: Callable[[str], str]
    wrapped: bool = False
    result_hint: str = "output"


def call_with(ctx: FixContext, call: cst.Call, argument: cst.Arg, items: str, keyword: str | None = None) -> str:
    """The text of ``call`` with ``argument``'s value replaced by ``items`` and ``keyword`` added last."""
    start, end = ctx.span(call)
    edits = [Edit(*ctx.span(argument.value), items)]
    if keyword is not None:
        from ecolint.fixes.layout import Sequence

        edits += Sequence(ctx, list(call.args)).append(keyword)
    shift = sum(len(edit.content) - (edit.end - edit.start) for edit in edits)
    return apply_edits(ctx.source, edits)[start:end + shift]


def collect(ctx: FixContext, per_item: PerItemCall) -> list[Edit]:
    """The edits that make one call on the items before the loop, and the loop read its results."""
    node = per_item.loop.node
    if isinstance(node, cst.For):
        return _collect_for(ctx, per_item, node)
    if isinstance(node, COMPREHENSIONS):
        return _collect_comprehension(ctx, per_item, node)
    raise NoFix("only for loops and comprehensions are batched")


# -- for loops -------------------------------------------------------------------------------
def _collect_for(ctx: FixContext, per_item: PerItemCall, loop: cst.For) -> list[Edit]:
    if loop.orelse is not None or loop.asynchronous is not None:
        raise NoFix("the loop has an else clause or is async")
    body = list(loop.body.body)
    statement = _own_statement(ctx, per_item.call, loop.body)
    position = next((index for index, line in enumerate(body) if _holds(line, statement)), None)
    if position is None:
        raise NoFix("the call is not in a statement of the loop's own body")
    _refuse_control_flow(loop.body)
    targets = frozenset(names_in(loop.target))
    bound = _bound_names(loop.body) | targets
    _refuse_shown_or_timed(loop.body, per_item.call)
    item, definitions = _item_text(ctx, per_item, body[:position], bound, targets)
    _require_invariant(per_item, bound)
    for line in body[:position]:
        _require_computation(line)

    if names_in(loop.iter) & (bound - targets):
        raise NoFix("the loop changes what it iterates over")
    removed = _inputs_only(ctx, loop, body, definitions, per_item.call)
    kept = [line for line in body if line not in removed]
    uses_target = any(_reads_outside(line, targets, per_item.call) for line in kept)
    result, drop = _result_name(ctx, per_item, kept, kept.index(body[position]), uses_target)
    edits: list[Edit] = [_remove_line(ctx, line) for line in removed]
    iterable = loop.iter
    iterable_text = _text(ctx, iterable)
    before: list[str] = []  # statements that go before the loop
    if uses_target and not _rereadable(iterable, per_item.loop.scope, per_item.loop.order):
        iterable_text = fresh_name(ctx, "items")  # read the items once, into a list
        before.append(f"{iterable_text} = list({_text(ctx, iterable)})")
    elif not uses_target and _used_outside(ctx, loop, targets):
        raise NoFix("the loop variable is read after the loop")
    items = _items(ctx, per_item.loop, iterable, loop.target, item,
                   iterable_text=iterable_text if before else None)
    batched = per_item.batched(items)
    start = statement_start(ctx, loop)
    indent = ctx.indentation(start)
    if uses_target or "\n" in batched or len(f"{indent}for {result} in {batched}:") > LONG_LINE:
        outputs = fresh_name(ctx, "outputs")  # the results get a name of their own, before the loop
        before.append(f"{outputs} = {batched}")
        batched = outputs
    if uses_target:
        target_text = _text(ctx, loop.target)
        if isinstance(loop.target, cst.Tuple) and not loop.target.lpar:
            target_text = f"({target_text})"
        header = f"{target_text}, {result} in zip({iterable_text}, {batched})"
    else:
        header = f"{result} in {batched}"
    if before:
        if not ctx.starts_line(start):
            raise NoFix("the loop does not start its own line")
        text = "".join(f"{indent}{line}{ctx.newline}" for line in before)
        edits.append(Edit(ctx.line_start(start), ctx.line_start(start), text))
    edits.append(Edit(ctx.span(loop.target)[0], ctx.span(iterable)[1], header))
    edits += _replace_call(ctx, per_item, result, drop)
    return edits


def _own_statement(ctx: FixContext, call: cst.Call, block: cst.CSTNode) -> cst.CSTNode:
    """The small statement of ``block`` that holds ``call``, reached without a condition on the way."""
    node: cst.CSTNode = call
    while True:
        parent = ctx.parent(node)
        if parent is None or isinstance(parent, (cst.Module, cst.FunctionDef, cst.ClassDef, cst.Lambda,
                                                 *COMPREHENSIONS)):
            raise NoFix("the call is not run once per iteration of the loop")
        if isinstance(parent, cst.IfExp) and node is not parent.test:
            raise NoFix("the call runs under a condition")
        if isinstance(parent, cst.BooleanOperation) and node is parent.right:
            raise NoFix("the call runs under a condition (and/or)")
        if isinstance(parent, cst.BaseCompoundStatement):
            raise NoFix("the call runs inside a nested block of the loop")
        if isinstance(node, cst.BaseSmallStatement) and isinstance(parent, (cst.SimpleStatementLine,
                                                                            cst.SimpleStatementSuite)):
            owner = ctx.parent(parent) if isinstance(parent, cst.SimpleStatementLine) else parent
            if owner is not block:
                raise NoFix("the call runs inside a nested block of the loop (if, try, with, ...)")
            return node
        node = parent


def _holds(line: cst.CSTNode, statement: cst.CSTNode) -> bool:
    return line is statement or (isinstance(line, cst.SimpleStatementLine) and statement in line.body)


class _Scan(cst.CSTVisitor):
    """What a loop body does: control flow, calls, and the names it binds or changes."""

    def __init__(self) -> None:
        self.control: list[str] = []
        self.calls: list[cst.Call] = []
        self.bound: set[str] = set()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        self.bound.add(node.name.value)
        return False

    def visit_ClassDef(self, node: cst.ClassDef) -> bool:
        self.bound.add(node.name.value)
        return False

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return False

    def on_visit(self, node: cst.CSTNode) -> bool:
        for kind, word in CONTROL_WORDS.items():
            if isinstance(node, kind):
                self.control.append(word)
        if isinstance(node, cst.Call):
            self.calls.append(node)
            func = node.func
            if isinstance(func, cst.Attribute) and func.attr.value in MUTATING_METHODS:
                self.bound |= _base_names(func.value)
        elif isinstance(node, cst.AssignTarget):
            self.bound |= _base_names(node.target)
        elif isinstance(node, (cst.AugAssign, cst.AnnAssign)):
            self.bound |= _base_names(node.target)
        elif isinstance(node, cst.NamedExpr):
            self.bound |= _base_names(node.target)
        elif isinstance(node, (cst.For, cst.CompFor)):
            self.bound |= names_in(node.target)
        elif isinstance(node, cst.AsName):
            self.bound |= names_in(node.name)
        elif isinstance(node, cst.Del):
            self.bound |= _base_names(node.target)
        return super().on_visit(node)


def _base_names(target: cst.CSTNode) -> set[str]:
    """The variables an assignment to ``target`` changes: ``x``, ``a, b``, ``d[k]`` -> ``d``, ``o.x`` -> ``o``."""
    while isinstance(target, (cst.Subscript, cst.Attribute)):
        target = target.value
    if isinstance(target, cst.Name):
        return {target.value}
    if isinstance(target, (cst.Tuple, cst.List)):
        return set().union(*(_base_names(element.value) for element in target.elements))
    if isinstance(target, cst.StarredElement):
        return _base_names(target.value)
    return set()


def _scan(node: cst.CSTNode) -> _Scan:
    scan = _Scan()
    node.visit(scan)
    return scan


def _refuse_control_flow(body: cst.CSTNode) -> None:
    control = _scan(body).control
    if control:
        raise NoFix(f"the loop uses {control[0]}: its iterations do not all run the same way")


def _refuse_shown_or_timed(node: cst.CSTNode, call: cst.Call) -> None:
    for other in _scan(node).calls:
        if other is call:
            continue
        name = last_name(other.func) or ""
        receiver = other.func.value if isinstance(other.func, cst.Attribute) else None
        receiver_name = last_name(receiver) if receiver is not None else None
        if name in SHOWN_OR_TIMED or (name == "write" and receiver_name in STREAMS) or receiver_name == "st":
            raise NoFix(f"the loop calls {name}() between generations: batched, it would run only after all of "
                        f"them")


def _bound_names(body: cst.CSTNode) -> set[str]:
    return _scan(body).bound


def _require_invariant(per_item: PerItemCall, bound: set[str]) -> None:
    """The callee and every argument but the item read nothing the loop changes."""
    call = per_item.call
    read = names_in(call.func)
    for arg in call.args:
        if arg is per_item.argument:
            if per_item.item is not arg.value:  # the item sits inside: the rest of the value must be fixed
                read |= names_in(arg.value) - names_in(per_item.item)
            continue
        read |= names_in(arg.value)
    changed = read & bound
    if changed:
        raise NoFix(f"the call's settings change in the loop ({', '.join(sorted(changed))})")


def _require_computation(line: cst.CSTNode) -> None:
    """A statement before the call only computes a value: assignments to names, through pure calls."""
    statements = line.body if isinstance(line, cst.SimpleStatementLine) else [line]
    for statement in statements:
        if not isinstance(statement, (cst.Assign, cst.AnnAssign)) or not all(
                isinstance(target, cst.Name) for target in _assign_targets(statement)):
            raise NoFix("a statement before the call does more than compute its input")
        for call in _scan(statement).calls:
            if (last_name(call.func) or "") not in PURE_CALLS:
                raise NoFix(f"a statement before the call calls {last_name(call.func)}(), which may change what "
                            f"the call does")


def _assign_targets(statement: cst.CSTNode) -> list[cst.BaseExpression]:
    if isinstance(statement, cst.Assign):
        return [target.target for target in statement.targets]
    return [statement.target]


def _item_text(ctx: FixContext, per_item: PerItemCall, before: list[cst.CSTNode], bound: set[str],
               targets: frozenset[str]) -> tuple[cst.BaseExpression, list[tuple[cst.CSTNode, str]]]:
    """The expression of one item, in terms of the loop variable and values fixed before the loop, and
    the lines of the body it was read from.

    A name computed earlier in the body (``prompt = f"Q: {q}"``) is replaced by what it is given."""
    item = per_item.item
    definitions: list[tuple[cst.CSTNode, str]] = []
    for _ in range(4):
        read = names_in(item) & (bound - targets)
        if not read:
            return item, definitions
        if not isinstance(item, cst.Name):
            raise NoFix(f"the call's input reads {', '.join(sorted(read))}, computed in the loop")
        found = [(line, statement) for line in before for statement in getattr(line, "body", [line])
                 if isinstance(statement, cst.Assign) and len(statement.targets) == 1
                 and isinstance(statement.targets[0].target, cst.Name)
                 and statement.targets[0].target.value == item.value]
        if len(found) != 1 or _assignment_count(before, item.value) != 1:
            raise NoFix(f"{item.value} is not computed once, before the call")
        line, statement = found[0]
        if isinstance(line, cst.SimpleStatementLine) and len(line.body) == 1:
            definitions.append((line, item.value))
        item = statement.value
    raise NoFix("the call's input is computed through too many steps")


def _inputs_only(ctx: FixContext, loop: cst.For, body: list[cst.CSTNode],
                 definitions: list[tuple[cst.CSTNode, str]], call: cst.Call) -> list[cst.CSTNode]:
    """The lines that only computed the call's input (now computed for the list of items): their
    names are read nowhere else in the body nor after the loop."""
    lines = [line for line, _ in definitions]
    names = frozenset(name for _, name in definitions)
    others = [line for line in body if line not in lines]
    if any(_reads_outside(line, names, call) for line in others) or _used_outside(ctx, loop, names):
        return []
    return lines


def _remove_line(ctx: FixContext, line: cst.CSTNode) -> Edit:
    start, end = ctx.span(line.body[0])
    if not ctx.starts_line(start) or ctx.comments_within(ctx.line_start(start), ctx.after_line(end)):
        raise NoFix("a line that computed the input shares its line or has a comment")
    return Edit(ctx.line_start(start), ctx.after_line(end))


def _assignment_count(lines: list[cst.CSTNode], name: str) -> int:
    count = 0
    for line in lines:
        scan = _scan(line)
        count += name in scan.bound
    return count


def _reads_outside(body: cst.CSTNode, names: frozenset[str], call: cst.Call) -> bool:
    """Whether ``body`` reads one of ``names`` anywhere but inside ``call``."""
    found = False

    class Reads(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> bool:
            return node is not call

        def visit_Attribute(self, node: cst.Attribute) -> bool:
            node.value.visit(self)
            return False

        def visit_Name(self, node: cst.Name) -> None:
            nonlocal found
            found = found or node.value in names

    body.visit(Reads())
    return found


def _used_outside(ctx: FixContext, loop: cst.CSTNode, names: frozenset[str]) -> bool:
    """Whether the function (or module) around ``loop`` mentions one of ``names`` outside it.

    A comprehension's own targets are local to it (``[e["id"] for e in examples]`` after
    ``for e in examples:`` does not read the loop's ``e``); only its first iterable is read outside."""
    owner: cst.CSTNode | None = ctx.parent(loop)
    while owner is not None and not isinstance(owner, (cst.FunctionDef, cst.Module)):
        owner = ctx.parent(owner)
    found = False

    class Mentions(cst.CSTVisitor):
        def __init__(self, wanted: frozenset[str]) -> None:
            self.wanted = wanted

        def visit_For(self, node: cst.For) -> bool:
            return node is not loop

        def visit_Attribute(self, node: cst.Attribute) -> bool:
            node.value.visit(self)
            return False

        def visit_Name(self, node: cst.Name) -> None:
            nonlocal found
            found = found or node.value in self.wanted

        def _comprehension(self, node: cst.CSTNode) -> bool:
            local: set[str] = set()
            for_in = node.for_in
            while for_in is not None:
                local |= names_in(for_in.target)
                for_in = for_in.inner_for_in
            shadowed = self.wanted & local
            if not shadowed:
                return True
            node.for_in.iter.visit(self)  # evaluated in the enclosing scope
            inner = Mentions(self.wanted - shadowed)
            for child in node.children:
                if child is not node.for_in:
                    child.visit(inner)
            for_in = node.for_in
            for_in.target.visit(inner)
            for condition in for_in.ifs:
                condition.visit(inner)
            if for_in.inner_for_in is not None:
                for_in.inner_for_in.visit(inner)
            return False

        visit_ListComp = visit_SetComp = visit_GeneratorExp = visit_DictComp = _comprehension

    (owner or ctx.module).visit(Mentions(names))
    return found


def _result_name(ctx: FixContext, per_item: PerItemCall, body: list[cst.CSTNode], position: int,
                 uses_target: bool) -> tuple[str, cst.CSTNode | None]:
    """The name the loop gives each result, and the statement ``name = call(...)`` it replaces, if any.

    A first statement ``out = pipe(p)`` becomes the loop's own ``for out in ...`` (when the body has
    more to run); otherwise a new name, unused in the file, holds the result."""
    line = body[position]
    if position == 0 and len(body) > 1 and isinstance(line, cst.SimpleStatementLine) and len(line.body) == 1:
        statement = line.body[0]
        if (isinstance(statement, cst.Assign) and len(statement.targets) == 1
                and isinstance(statement.targets[0].target, cst.Name) and statement.value is per_item.call
                and not per_item.wrapped):
            return statement.targets[0].target.value, line
    return fresh_name(ctx, per_item.result_hint), None


def fresh_name(ctx: FixContext, hint: str) -> str:
    """``hint``, or ``hint_2``, ... : a name the file does not use."""
    used = variable_names(ctx)
    name, number = hint, 2
    while name in used:
        name, number = f"{hint}_{number}", number + 1
    return name


def _replace_call(ctx: FixContext, per_item: PerItemCall, result: str, drop: cst.CSTNode | None) -> list[Edit]:
    if drop is not None:  # ``out = pipe(p)`` is now the loop's target: the line goes
        return [_remove_line(ctx, drop)]
    call = per_item.call
    if per_item.wrapped:
        subscript = ctx.parent(call)
        if isinstance(subscript, cst.Subscript) and subscript.value is call and _is_first(subscript):
            return [Edit(*ctx.span(subscript), result)]
        return [Edit(*ctx.span(call), f"[{result}]")]
    return [Edit(*ctx.span(call), result)]


def statement_start(ctx: FixContext, statement: cst.CSTNode) -> int:
    """Where a statement's own text starts (after the blank lines and comments libcst gives it)."""
    try:
        position = ctx.positions[statement]
        start = ctx.index.offset(position.start.line, position.start.column + 1)
    except Exception:
        raise NoFix("the statement has no position") from None
    keyword = {cst.For: "for", cst.SimpleStatementLine: None}.get(type(statement))
    if keyword is not None and not ctx.source.startswith(keyword, start):
        raise NoFix("the statement's position does not match the source text")
    return start


def _is_first(subscript: cst.Subscript) -> bool:
    if len(subscript.slice) != 1 or not isinstance(subscript.slice[0].slice, cst.Index):
        return False
    index = subscript.slice[0].slice.value
    return isinstance(index, cst.Integer) and index.value == "0"


# -- the items -------------------------------------------------------------------------------
def _items(ctx: FixContext, loop: Loop, iterable: cst.BaseExpression, target: cst.CSTNode,
           item: cst.BaseExpression, ifs: str = "", iterable_text: str | None = None) -> str:
    """The list of items: the iterable itself when each item is the loop variable, else a comprehension."""
    copied = iterable_text is not None and iterable_text != _text(ctx, iterable)  # already a list
    iterable_text = iterable_text or _text(ctx, iterable)
    if not ifs and isinstance(target, cst.Name) and isinstance(item, cst.Name) and item.value == target.value:
        if copied or _known(iterable, loop.scope, loop.order, _is_list):
            return iterable_text
        return f"list({iterable_text})"
    return f"[{_expression_text(ctx, item)} for {_text(ctx, target)} in {iterable_text}{ifs}]"


def _known(node: cst.BaseExpression, scope: Scope, order: int, test) -> bool:
    """``test`` holds for ``node``, or for every value a name is assigned in the scope that binds it."""
    if not isinstance(node, cst.Name):
        return test(node, scope, order)
    binding = scope.lookup(node.value, order)
    if binding is None or binding.kind != "assign":
        return False
    every = binding.scope.bindings.get(node.value, [])
    return all(other.kind == "assign" and other.value is not None and test(other.value, other.scope, other.order)
               for other in every)


def _is_list(node: cst.BaseExpression, scope: Scope, order: int) -> bool:
    if isinstance(node, (cst.List, cst.ListComp)):
        return True
    return isinstance(node, cst.Call) and last_name(node.func) in LIST_CALLS


def _rereadable(node: cst.BaseExpression, scope: Scope, order: int) -> bool:
    """An iterable that gives the same items when read again: a list, a tuple, ``range``, or
    ``enumerate``/``zip`` of such; a name counts when every value its scope assigns it is one."""
    if isinstance(node, cst.Name):
        return _known(node, scope, order, _rereadable)
    if isinstance(node, (cst.List, cst.Tuple, cst.ListComp, cst.Dict, cst.DictComp, cst.Set, cst.SetComp,
                         cst.SimpleString)):
        return True
    if isinstance(node, cst.Call):
        name = last_name(node.func)
        if name in REREADABLE_CALLS:
            return True
        if name in ("enumerate", "zip", "reversed"):
            positional = [arg.value for arg in node.args if arg.keyword is None and not arg.star]
            return bool(positional) and all(_rereadable(arg, scope, order) for arg in positional)
    return False


def _text(ctx: FixContext, node: cst.CSTNode) -> str:
    start, end = ctx.span(node)
    return ctx.source[start:end]


def _expression_text(ctx: FixContext, node: cst.BaseExpression) -> str:
    """An expression's exact text, in parentheses when it spans lines or holds a conditional or lambda."""
    text = _text(ctx, node)
    if "\n" in text or "\r" in text or isinstance(node, (cst.IfExp, cst.Lambda, cst.NamedExpr)):
        if not (getattr(node, "lpar", None)):
            text = f"({text})"
    return text


# -- comprehensions --------------------------------------------------------------------------
def _collect_comprehension(ctx: FixContext, per_item: PerItemCall, node: cst.CSTNode) -> list[Edit]:
    for_in: cst.CompFor = node.for_in
    if for_in.inner_for_in is not None or for_in.asynchronous is not None:
        raise NoFix("the comprehension has several for clauses or is async")
    if isinstance(node, cst.GeneratorExp) and not _consumed_whole(ctx, node):
        raise NoFix("the generator may be read in part (any, all, next, a loop that stops): batched, every "
                    "item would be generated")
    parts = [node.key, node.value] if isinstance(node, cst.DictComp) else [node.elt]
    call = per_item.call
    for part in parts:
        if _contains(part, call):
            _refuse_conditional(ctx, call, part)
            break
    else:
        raise NoFix("the call is not in the comprehension's result")
    scan = _Scan()
    for part in [*parts, *for_in.ifs]:
        part.visit(scan)
    if scan.control or scan.bound:
        raise NoFix("the comprehension awaits or assigns (:=) in its body")
    targets = frozenset(names_in(for_in.target))
    _require_invariant(per_item, set(targets))
    for part in parts:
        _refuse_shown_or_timed(part, call)
    if names_in(per_item.item) - targets & _bound_names(node):
        raise NoFix("the call's input is computed in the comprehension")
    uses_target = any(_reads_outside(part, targets, call) for part in parts)
    result = fresh_name(ctx, per_item.result_hint)
    iterable_end = ctx.span(for_in.iter)[1]
    ifs = ctx.source[iterable_end:ctx.span(for_in.ifs[-1].test)[1]] if for_in.ifs else ""
    items = _items(ctx, per_item.loop, for_in.iter, for_in.target, per_item.item, ifs)
    if not uses_target:
        clause = f"for {result} in {per_item.batched(items)}"
    else:
        if for_in.ifs:
            raise NoFix("the comprehension filters its items and reads them besides the call")
        if not _rereadable(for_in.iter, per_item.loop.scope, per_item.loop.order):
            raise NoFix("the comprehension reads its items besides the call and they may be readable only once")
        target_text = _text(ctx, for_in.target)
        if isinstance(for_in.target, cst.Tuple) and not for_in.target.lpar:
            target_text = f"({target_text})"
        clause = f"for {target_text}, {result} in zip({_text(ctx, for_in.iter)}, {per_item.batched(items)})"
    start = ctx.source.rfind("for", 0, ctx.span(for_in.target)[0])
    end = ctx.span(for_in.ifs[-1].test)[1] if for_in.ifs else ctx.span(for_in.iter)[1]
    return [Edit(start, end, clause), *_replace_call(ctx, per_item, result, None)]


def _consumed_whole(ctx: FixContext, node: cst.GeneratorExp) -> bool:
    """``list(g)``, ``sorted(g)``, ``"".join(g)``, ...: every item of the generator is read, at once."""
    parent = ctx.parent(node)
    if isinstance(parent, cst.Arg):
        parent = ctx.parent(parent)
    return isinstance(parent, cst.Call) and last_name(parent.func) in WHOLE_CONSUMERS


def _contains(root: cst.CSTNode, wanted: cst.CSTNode) -> bool:
    found = False

    class Finder(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            nonlocal found
            found = found or node is wanted
            return not found

    root.visit(Finder())
    return found


def _refuse_conditional(ctx: FixContext, call: cst.Call, part: cst.CSTNode) -> None:
    node: cst.CSTNode = call
    while node is not part:
        parent = ctx.parent(node)
        if parent is None or isinstance(parent, (cst.Lambda, *COMPREHENSIONS)):
            raise NoFix("the call is not run once per item")
        if isinstance(parent, cst.IfExp) and node is not parent.test:
            raise NoFix("the call runs under a condition")
        if isinstance(parent, cst.BooleanOperation) and node is parent.right:
            raise NoFix("the call runs under a condition (and/or)")
        node = parent
