"""LLM304 forward-without-no-grad: a model's forward pass run per item with autograd on.

Where autograd is off, and which calls run a loaded model's forward pass with it on, read from
``ModuleFacts`` (and the module it came from) without changing them. Autograd is off inside
``with torch.no_grad():`` / ``torch.inference_mode()`` / ``torch.set_grad_enabled(False)``, in a
function decorated with one of them, after a statement ``torch.set_grad_enabled(False)``, and in a
function of the module whose caller (any caller, followed through the module's own functions) runs
with autograd off. ``model.eval()`` changes dropout and batch norm, not autograd.

The fix (unsafe) runs the forward passes with autograd off. A function gets
``@torch.inference_mode()`` when nothing it makes can leave it (no value returned or yielded,
nothing stored outside it), else ``@torch.no_grad()``: tensors made under ``inference_mode``
cannot be used with autograd, nor changed in place, outside it. At module level the loop (or the
statement with the comprehension) is wrapped in ``with torch.no_grad():``, its lines indented one
level; its variables stay in the module, so its tensors leave it.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst

from ecolint.analysis.collector import CallSite
from ecolint.analysis.facts import ModelLoad, ModuleFacts
from ecolint.analysis.models import generative
from ecolint.analysis.scopes import dotted_name, qualify
from ecolint.analysis.values import FunctionInfo, last_name
from ecolint.analysis.walk import walk
from ecolint.checks import CheckContext, check
from ecolint.diagnostics import Finding
from ecolint.fixes.context import FixContext, NoFix, Proposal
from ecolint.fixes.edits import Edit
from ecolint.fixes.registry import fixer
from ecolint.fixes.toplevel import compound_span, module_reference, statement_keywords

GRAD_OFF = frozenset({
    "torch.no_grad", "torch.inference_mode", "torch.autograd.no_grad", "torch.autograd.grad_mode.no_grad",
    "torch.autograd.grad_mode.inference_mode", "torch.autograd.inference_mode",
})
SET_GRAD = frozenset({"torch.set_grad_enabled", "torch.autograd.set_grad_enabled",
                      "torch.autograd.grad_mode.set_grad_enabled"})
# Code that handles gradients on purpose: the forward passes of such a module are not reported.
GRADIENT_WORK = re.compile(r"\brequires_grad(?:_\s*\(|\s*=)|\bautograd\.grad\s*\(|\benable_grad\b|\.backward\s*\(")
# Methods that implement a forward pass or a framework hook that sets the grad mode itself.
IMPLEMENTATIONS = frozenset({"forward", "__call__", "_forward", "generate", "_sample", "predict_step", "test_step",
                             "validation_step", "training_step"})
MODULE_BASES = re.compile(r"(?:^|\.)(?:Module|PreTrainedModel|LightningModule|Trainer\w*)$")
MODEL_NAME = re.compile(r"(?:^|_)(?:model|lm|llm)s?$", re.IGNORECASE)
NOT_MODEL_NAME = re.compile(r"tokenizer|processor|embed|encoder|retriever|reward|classifier|critic|sentence",
                            re.IGNORECASE)
WRAPPERS = frozenset({"DataParallel", "DistributedDataParallel", "compile", "prepare", "to", "cuda", "eval", "half",
                      "bfloat16", "float", "requires_grad_", "train"})


@dataclass(eq=False)
class Forward:
    """A forward pass of a loaded model called with autograd on, in code that runs it per item."""

    site: CallSite
    callee: str  # "model(...)", "self.model.forward(...)"
    where: str  # "a for loop", "score(), which is called in a loop"
    load: ModelLoad | None  # the load the callee was traced to, when it was


class _Walk:
    """Records, for every call, whether it sits lexically where autograd is off."""

    def __init__(self, off) -> None:
        self.off = off  # expression -> bool: a grad-off context manager or decorator
        self.depth = [0]  # grad-off with-blocks open, per function
        self.functions: list[cst.FunctionDef] = []
        self.calls_off: set[int] = set()
        self.functions_off: set[int] = set()
        self.module_off = False
        self._with_counts: list[int] = []

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        if any(self.off(decorator.decorator) for decorator in node.decorators):
            self.functions_off.add(id(node))
        self.functions.append(node)
        self.depth.append(0)
        return True

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.functions.pop()
        self.depth.pop()

    def visit_With(self, node: cst.With) -> bool:
        count = sum(1 for item in node.items if self.off(item.item))
        self._with_counts.append(count)
        self.depth[-1] += count
        return True

    def leave_With(self, original_node: cst.With) -> None:
        self.depth[-1] -= self._with_counts.pop()

    def visit_Expr(self, node: cst.Expr) -> bool:
        # a statement ``torch.set_grad_enabled(False)``: off from here on, for the function or the module
        if isinstance(node.value, cst.Call) and self.off(node.value):
            if self.functions:
                self.functions_off.add(id(self.functions[-1]))
            else:
                self.module_off = True
        return True

    def visit_Call(self, node: cst.Call) -> bool:
        if self.depth[-1] > 0:
            self.calls_off.add(id(node))
        return True


class GradContext:
    """Answers, for a module, which model forward passes run per item with autograd on."""

    def __init__(self, facts: ModuleFacts, source: str) -> None:
        self.facts = facts
        self.source = source
        collector = facts.collector
        self.module_scope = collector.module_scope if collector is not None else None
        self.sites = {id(site.node): site for site in (collector.calls if collector is not None else [])}
        self.walk = _Walk(self._grad_off)
        if facts.module is not None:
            walk(facts.module, self.walk)
        self.functions: dict[int, FunctionInfo] = dict(facts.resolver.functions)
        self.callers = self._callers()
        self.covered = self._covered()
        self.per_item = self._per_item()

    # -- grad-off contexts ---------------------------------------------------------------------
    def _qualified(self, node: cst.BaseExpression) -> str | None:
        site = self.sites.get(id(node))
        if site is not None:
            return qualify(node.func, site.scope, site.order) if isinstance(node, cst.Call) else None
        if self.module_scope is None:
            return None
        return qualify(node, self.module_scope, 1 << 30)

    def _grad_off(self, node: cst.BaseExpression) -> bool:
        if isinstance(node, cst.Call):
            name = self._qualified(node)
            if name in GRAD_OFF:
                mode = node.args[0].value if node.args and node.args[0].keyword is None else None
                return not (isinstance(mode, cst.Name) and mode.value == "False")  # inference_mode(False)
            if name in SET_GRAD and node.args:
                value = node.args[0].value
                return isinstance(value, cst.Name) and value.value == "False"
            return False
        return self._qualified(node) in GRAD_OFF  # ``@torch.no_grad`` without parentheses

    # -- the module's own call graph -----------------------------------------------------------
    def _callers(self) -> dict[str, list[CallSite]]:
        """Call sites by the called name (``f(...)``, ``self.f(...)``, ``obj.f(...)``)."""
        found: dict[str, list[CallSite]] = {}
        names = {info.name for info in self.functions.values()}
        for site in self.sites.values():
            name = last_name(site.node.func)
            if name in names:
                found.setdefault(name, []).append(site)
        return found

    def _enclosing(self, site: CallSite) -> list[FunctionInfo]:
        """The functions around a call site, innermost first."""
        chain, scope = [], site.scope
        while scope is not None:
            info = self.functions.get(id(scope.node)) if scope.node is not None else None
            if info is not None:
                chain.append(info)
            scope = scope.parent
        return chain

    def _site_off(self, site: CallSite, covered: set[int]) -> bool:
        if id(site.node) in self.walk.calls_off or self.walk.module_off:
            return True
        return any(id(info.node) in self.walk.functions_off or id(info.node) in covered
                   for info in self._enclosing(site))

    def _covered(self) -> set[int]:
        """Functions that run with autograd off: decorated, or called where it is off (a fixed point)."""
        covered = {key for key in self.walk.functions_off}
        changed = True
        while changed:
            changed = False
            for key, info in self.functions.items():
                if key in covered:
                    continue
                if any(self._site_off(site, covered) for site in self.callers.get(info.name, [])):
                    covered.add(key)
                    changed = True
        return covered

    def _per_item(self) -> dict[int, str]:
        """Functions called inside a loop (directly or through other functions): id -> how."""
        found: dict[int, str] = {}
        changed = True
        while changed:
            changed = False
            for key, info in self.functions.items():
                if key in found:
                    continue
                for site in self.callers.get(info.name, []):
                    outer = self._enclosing(site)
                    if site.loops or (outer and id(outer[0].node) in found):
                        found[key] = f"{info.name}(), which is called in a loop"
                        changed = True
                        break
        return found

    # -- model forward passes ------------------------------------------------------------------
    def forwards(self) -> Iterator[Forward]:
        """One forward pass with autograd on per function (or module body) that runs it per item."""
        if self.facts.training_anywhere() or GRADIENT_WORK.search(self.source) or self.walk.module_off:
            return
        seen: set[int] = set()
        pipelines = {id(generation.site.node) for generation in self.facts.generations
                     if generation.kind in ("pipeline", "callable")}
        pipelines |= {id(helper.site.node) for helper in self.facts.helper_calls}  # they end in generation
        for site in self.facts.collector.calls if self.facts.collector is not None else []:
            target = _callee(site.node)
            if target is None or id(site.node) in pipelines:
                continue  # a pipeline call runs the model with autograd off itself
            enclosing = self._enclosing(site)
            unit_key = id(enclosing[0].node) if enclosing else 0
            if unit_key in seen or self._site_off(site, self.covered) or _implementation(enclosing):
                continue
            if site.loops:
                where = f"a {site.loops[-1].kind} loop" if site.loops[-1].kind != "comprehension" else "a comprehension"
            elif enclosing and id(enclosing[0].node) in self.per_item:
                where = self.per_item[id(enclosing[0].node)]
            else:
                continue
            model, load = self._model(site, target)
            if not model:
                continue
            seen.add(unit_key)
            text = dotted_name(target) or "model"
            forward = isinstance(site.node.func, cst.Attribute) and site.node.func.attr.value == "forward"
            yield Forward(site, f"{text}.forward(...)" if forward else f"{text}(...)", where, load)

    def _model(self, site: CallSite, target: cst.BaseExpression) -> tuple[bool, ModelLoad | None]:
        """Whether ``target`` is a loaded generative model: traced to a load of the module, or named like a
        model in a module that loads a generative model and bound to nothing else."""
        if isinstance(target, cst.Name):
            binding = site.scope.lookup(target.value, site.order)
            if binding is not None and binding.kind in ("function", "class", "import"):
                return False, None  # a function or class of the module, or an imported name: not a model object
        value = self._binding_value(site, target)
        if value is not None:
            load = self._load_of(value)
            if load is not None:
                return generative(load), load
            if isinstance(value, cst.Call):
                return False, None  # built by something else: a local class, sentence-transformers, ...
        name = (dotted_name(target) or "").rsplit(".", 1)[-1]
        if not MODEL_NAME.search(name) or NOT_MODEL_NAME.search(name):
            return False, None
        loads = [load for load in self.facts.model_loads if not load.via_pipeline]
        return bool(loads) and any(generative(load) for load in loads), None

    def _binding_value(self, site: CallSite, target: cst.BaseExpression) -> cst.BaseExpression | None:
        if isinstance(target, cst.Name):
            binding = site.scope.lookup(target.value, site.order)
            return binding.value if binding is not None and binding.kind == "assign" else None
        if (isinstance(target, cst.Attribute) and isinstance(target.value, cst.Name) and target.value.value == "self"
                and site.function is not None and site.function.owner is not None):
            settings = self.facts.collector.instance_attributes.get((id(site.function.owner), target.attr.value), [])
            calls = [setting.value for setting in settings if isinstance(setting.value, cst.Call)]
            return calls[0] if calls else None
        return None

    def _load_of(self, value: cst.BaseExpression, depth: int = 0) -> ModelLoad | None:
        """The load a value comes from, through ``.to()``/``.eval()``/``DataParallel(...)`` and names."""
        if depth > 6 or not isinstance(value, cst.Call):
            return None
        for load in self.facts.model_loads:
            if load.site.node is value:
                return load
        name = last_name(value.func)
        if name in WRAPPERS:
            inner = value.func.value if isinstance(value.func, cst.Attribute) and name not in (
                "DataParallel", "DistributedDataParallel", "compile", "prepare") else None
            if inner is None and value.args:
                inner = value.args[0].value
            if isinstance(inner, cst.Call):
                return self._load_of(inner, depth + 1)
            if isinstance(inner, cst.Name):
                site = self.sites.get(id(value))
                binding = site.scope.lookup(inner.value, site.order) if site is not None else None
                if binding is not None and binding.kind == "assign" and binding.value is not value:
                    return self._load_of(binding.value, depth + 1)
        return None


def _callee(call: cst.Call) -> cst.BaseExpression | None:
    """``model`` in ``model(...)`` and ``model.forward(...)``; ``self.model`` likewise; None otherwise."""
    func = call.func
    if not call.args:
        return None
    if isinstance(func, cst.Attribute) and func.attr.value == "forward":
        func = func.value
    if isinstance(func, cst.Name):
        return func
    if isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == "self":
        return func
    return None


def _implementation(enclosing: list[FunctionInfo]) -> bool:
    """Inside a forward pass, a framework hook, or a method of a ``torch.nn.Module`` subclass."""
    for info in enclosing:
        if info.name in IMPLEMENTATIONS:
            return True
        owner = info.owner
        if owner is not None and any(MODULE_BASES.search(dotted_name(base.value) or "") for base in owner.bases):
            return True
    return False


def ungraded_forwards(facts: ModuleFacts, source: str) -> list[Forward]:
    """The forward passes LLM304 reports (see :class:`GradContext`)."""
    return list(GradContext(facts, source).forwards())


@check("LLM304")
def forward_without_no_grad(ctx: CheckContext) -> Iterator[Finding]:
    for forward in ungraded_forwards(ctx.facts, ctx.source):
        yield Finding("LLM304", forward.site.node, {"callee": forward.callee, "where": forward.where}, forward)


# -- the fix ------------------------------------------------------------------------------------------
_DEF_LINE = re.compile(r"(?m)^[ \t]*def\b")
_LINE_START = re.compile(r"\r\n|\r|\n")
# Methods that put a value into their object: a tensor given to them leaves the function.
STORING_METHODS = frozenset({"append", "extend", "insert", "add", "update", "setdefault", "put", "put_nowait",
                             "appendleft", "extendleft", "__setitem__", "copy_", "push", "send"})


@fixer("LLM304")
def autograd_off(ctx: FixContext, finding: Finding) -> Proposal:
    forward = finding.subject
    site = forward.site
    if site.function is not None:
        return _decorate(ctx, site.function.node)
    return _wrap_statement(ctx, site)


# -- a function: decorate it --------------------------------------------------------------------------
def _decorate(ctx: FixContext, function: cst.FunctionDef) -> Proposal:
    if not isinstance(function, cst.FunctionDef):
        raise NoFix("not a function definition")
    if function.asynchronous is not None:
        raise NoFix("torch's grad-mode decorators do not cover the body of an async function")
    start, _ = compound_span(ctx, function, statement_keywords(function))
    line = ctx.line_start(ctx.span(function.name)[0])
    if not _DEF_LINE.match(ctx.source, line):
        raise NoFix("the def line cannot be found")
    indent = ctx.indentation(line)
    torch, edits = module_reference(ctx, ctx.line_start(start), "torch")
    mode, why = _mode_for(function)
    edits.append(Edit(line, line, f"{indent}@{torch}.{mode}(){ctx.newline}"))
    return Proposal(edits, message=f"Decorate {function.name.value}() with @torch.{mode}() ({why})")


def _mode_for(function: cst.FunctionDef) -> tuple[str, str]:
    leaving = _what_leaves(function)
    if leaving is None:
        return "inference_mode", "nothing the function makes leaves it"
    return "no_grad", (f"{leaving}: tensors made under inference_mode could not be used with autograd or "
                       "changed in place outside it")


def _what_leaves(function: cst.FunctionDef) -> str | None:
    """How a tensor made in the function can leave it, or None when it cannot. Values that are plainly not
    tensors (``.item()``, ``.tolist()``, ``decode(...)``, ``int(...)``, ``math.exp(...)``, literals) may leave."""
    params = function.params
    parameters = {param.name.value for param in
                  [*params.posonly_params, *params.params, *params.kwonly_params,
                   *(p for p in (params.star_arg, params.star_kwarg) if isinstance(p, cst.Param))]}
    local: set[str] = set()
    found: list[str] = []

    class Finder(cst.CSTVisitor):
        def visit_Return(self, node: cst.Return) -> None:
            if node.value is not None and not _plain(node.value):
                found.append("the function returns a value")

        def visit_Yield(self, node: cst.Yield) -> None:
            if node.value is None or not isinstance(node.value, cst.BaseExpression) or not _plain(node.value):
                found.append("the function yields values")

        def visit_Global(self, node: cst.Global) -> None:
            found.append("the function sets a global")

        def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
            found.append("the function sets a variable of its enclosing function")

        def visit_Assign(self, node: cst.Assign) -> None:
            for target in node.targets:
                _target(target.target, _plain(node.value))

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            _target(node.target, _plain(node.value))

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            _target(node.target, node.value is None or _plain(node.value))

        def visit_For(self, node: cst.For) -> None:
            _target(node.target, False)

        def visit_WithItem(self, node: cst.WithItem) -> None:
            if node.asname is not None:
                _target(node.asname.name, False)

        def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
            _target(node.target, False)

        def visit_Call(self, node: cst.Call) -> None:
            func = node.func
            if isinstance(func, cst.Attribute) and func.attr.value in STORING_METHODS:
                owner = func.value
                mine = isinstance(owner, cst.Name) and owner.value in local and owner.value not in parameters
                if not mine and not all(_plain(arg.value) for arg in node.args):
                    found.append(f"the function stores values through .{func.attr.value}()")

    def _target(node: cst.BaseExpression, plain: bool) -> None:
        if isinstance(node, cst.Name):
            local.add(node.value)
        elif isinstance(node, (cst.Tuple, cst.List)):
            for element in node.elements:
                _target(element.value, plain)
        elif isinstance(node, cst.StarredElement):
            _target(node.value, plain)
        elif not plain:
            found.append("the function stores values in an attribute or an item")

    function.body.visit(Finder())
    return found[0] if found else None


PLAIN_METHODS = frozenset({"item", "tolist", "decode", "batch_decode"})
PLAIN_FUNCTIONS = frozenset({"int", "float", "str", "bool", "len", "round", "repr", "format"})


def _plain(node: cst.BaseExpression) -> bool:
    """An expression whose value is plainly not a tensor."""
    if isinstance(node, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString, cst.Integer, cst.Float)):
        return True
    if isinstance(node, cst.Name):
        return node.value in ("True", "False", "None")
    if isinstance(node, cst.Call):
        func = node.func
        if isinstance(func, cst.Attribute):
            return func.attr.value in PLAIN_METHODS or (isinstance(func.value, cst.Name) and func.value.value == "math")
        return isinstance(func, cst.Name) and func.value in PLAIN_FUNCTIONS
    if isinstance(node, (cst.List, cst.Tuple, cst.Set)):
        return all(isinstance(element, cst.Element) and _plain(element.value) for element in node.elements)
    if isinstance(node, cst.Dict):
        return all(isinstance(element, cst.DictElement) and _plain(element.value) for element in node.elements)
    if isinstance(node, cst.BinaryOperation):
        return _plain(node.left) and _plain(node.right)
    if isinstance(node, cst.UnaryOperation):
        return _plain(node.expression)
    return False


# -- module level: wrap the loop --------------------------------------------------------------------
def _wrap_statement(ctx: FixContext, site) -> Proposal:
    statement = _outer_statement(ctx, site)
    start, end = compound_span(ctx, statement, statement_keywords(statement))
    if not ctx.starts_line(start):
        raise NoFix("the statement does not start its line")
    _no_multiline_strings(ctx, statement)
    indent = ctx.indentation(start)
    unit = ctx.indent_unit
    torch, edits = module_reference(ctx, ctx.line_start(start), "torch")
    line = ctx.line_start(start)
    edits.append(Edit(line, line, f"{indent}with {torch}.no_grad():{ctx.newline}{unit}"))
    for offset in _line_starts(ctx, line, end)[1:]:
        if ctx.source[offset:ctx.line_end(offset)].strip():
            edits.append(Edit(offset, offset, unit))
    what = "loop" if isinstance(statement, (cst.For, cst.While)) else "statement"
    return Proposal(edits, message=f"Wrap the {what} in `with torch.no_grad():` (its variables stay in the module, "
                                   "so tensors leave it: inference_mode's could not be used with autograd later)")


def _outer_statement(ctx: FixContext, site) -> cst.CSTNode:
    """The outermost loop of the call (a ``for``/``while`` statement), or the statement holding its comprehension."""
    loop = site.loops[0].node if site.loops else None
    if isinstance(loop, (cst.For, cst.While)):
        if loop.asynchronous is not None if isinstance(loop, cst.For) else False:
            raise NoFix("an async for loop")
        node = loop
    else:
        node = site.node
        while node is not None and not isinstance(node, cst.SimpleStatementLine):
            node = ctx.parent(node)
            if isinstance(node, (cst.ClassDef, cst.FunctionDef, cst.Lambda, cst.SimpleStatementSuite)):
                raise NoFix("the call is not in a statement of its own line")
        if node is None:
            raise NoFix("no statement holds the call")
    if not isinstance(ctx.parent(node), (cst.Module, cst.IndentedBlock)):
        raise NoFix("the statement is not in a block")
    return node


def _no_multiline_strings(ctx: FixContext, statement: cst.CSTNode) -> None:
    """Indenting the lines of a string that spans lines would change the string."""
    spanning: list[cst.CSTNode] = []

    class Strings(cst.CSTVisitor):
        def visit_SimpleString(self, node: cst.SimpleString) -> None:
            if "\n" in node.value or "\r" in node.value:
                spanning.append(node)

        def visit_FormattedString(self, node: cst.FormattedString) -> None:
            if "\n" in ctx.code(node) or "\r" in ctx.code(node):
                spanning.append(node)

    statement.visit(Strings())
    if spanning:
        raise NoFix("a string spans lines inside the loop")


def _line_starts(ctx: FixContext, start: int, end: int) -> list[int]:
    starts = [start]
    for match in _LINE_START.finditer(ctx.source, start, end):
        if match.end() < end:
            starts.append(match.end())
    return starts
