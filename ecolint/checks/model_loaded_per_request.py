"""LLM203 model-loaded-per-request: a model loaded again for every request or item.

Where each model load runs is read from the collector's walk: request handlers (web routes, gradio
callbacks, flask views, a streamlit script's top level), functions whose result is cached, loads
guarded by a cache check, and which module functions are called from handlers or inside loops
(:func:`load_contexts`).

The fix (unsafe) loads the model once. A statement ``name = load(...)`` of a loop's own body moves
above the loop when nothing it reads is set in the loop. Otherwise the load call moves, as
written, into a new module-level function that keeps its result (``functools.lru_cache``;
``st.cache_resource`` in a streamlit script), and that function is called where the load was:
only when every name the load reads means the same on every request (imports, module functions
and classes, builtins, module variables assigned once and never through ``global``; in a
streamlit script only literals), and never when the code around it changes the model in place.
"""

from __future__ import annotations

import builtins
import re
from dataclasses import dataclass

import libcst as cst

from ecolint.analysis.collector import CallSite, Collector, Loop
from ecolint.analysis.dataflow import derived_names, names_in
from ecolint.analysis.facts import ModelLoad, ModuleFacts
from ecolint.analysis.helpers import callee_text, called_function
from ecolint.analysis.scopes import Scope, dotted_name, is_library_name, module_path, qualify
from ecolint.analysis.values import FunctionInfo, ValueKind, last_name
from ecolint.checks import CheckContext, check
from ecolint.diagnostics import Finding
from ecolint.fixes.context import FixContext, NoFix, Proposal
from ecolint.fixes.edits import Edit
from ecolint.fixes.registry import fixer
from ecolint.fixes.toplevel import compound_span, module_reference, statement_keywords

# ``@app.get("/x")``, ``@router.post(...)``, ``@bp.route(...)``: a web route (FastAPI, Flask, Starlette, Quart, Sanic)
ROUTE_DECORATORS = frozenset({"get", "post", "put", "patch", "delete", "route", "api_route", "websocket"})
# Methods of class-based views (flask_restful ``Resource``, flask ``MethodView``, starlette ``HTTPEndpoint``)
VIEW_BASES = frozenset({"Resource", "MethodView", "View", "HTTPEndpoint", "RequestHandler"})
VIEW_METHODS = frozenset({"get", "post", "put", "patch", "delete", "dispatch_request"})
# gradio event listeners whose first argument (or ``fn=``) runs on every event
GRADIO_LISTENERS = frozenset({"click", "submit", "change", "input", "select", "upload", "then", "success",
                              "release", "load", "stream"})
GRADIO_APPS = frozenset({"Interface", "ChatInterface", "TabbedInterface"})
WEB_PACKAGES = ("fastapi", "flask", "starlette", "quart", "sanic", "flask_restful", "aiohttp", "tornado")
# Decorators that keep a function's result: functools.lru_cache/cache, streamlit's caches, cachetools
CACHE_WORDS = ("cache", "singleton", "memoize", "memoise", "once")
LOADER_OBJECTS = frozenset({"LLM"})  # vLLM's offline engine: ``vllm.LLM(...)`` loads the model


@dataclass(frozen=True)
class LoadContext:
    """Where a load runs more than once: per request (``handler``) or per item of a loop (``loop``)."""

    kind: str  # "handler", "loop", "streamlit"
    where: str  # "request handler generate() (@app.post)", "for loop", ...
    chain: tuple[str, ...] = ()  # the module functions between the handler or loop and the load


@dataclass(frozen=True)
class RepeatedLoad:
    """A load that runs more than once, and where: what LLM203 reports and its fix moves."""

    site: CallSite
    context: LoadContext
    imported: bool = False  # the site calls a function or builds a class of another module that loads


def _decorator_name(decorator: cst.Decorator) -> str:
    node = decorator.decorator
    if isinstance(node, cst.Call):
        node = node.func
    return dotted_name(node) or ""


def is_cached(function: FunctionInfo) -> bool:
    """``@lru_cache``, ``@functools.cache``, ``@st.cache_resource``, ``@cached(...)``: the result is kept."""
    return any(
        any(word in _decorator_name(decorator).rsplit(".", 1)[-1].lower() for word in CACHE_WORDS)
        for decorator in function.node.decorators
    )


def _imports(collector: Collector, packages: tuple[str, ...]) -> bool:
    """Whether the module (or one of its functions) imports one of ``packages``."""
    scopes = [collector.module_scope, *(info.scope for info in collector.resolver.functions.values())]
    for scope in scopes:
        for bindings in scope.bindings.values():
            for binding in bindings:
                if binding.kind == "import" and (binding.qualified or "").split(".", 1)[0] in packages:
                    return True
    return False


def _route(function: FunctionInfo) -> str | None:
    for decorator in function.node.decorators:
        node = decorator.decorator
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute):
            if node.func.attr.value in ROUTE_DECORATORS:
                return f"@{dotted_name(node.func) or node.func.attr.value}"
    owner = function.owner
    if owner is not None and function.name in VIEW_METHODS:
        if any((last_name(base.value) or "") in VIEW_BASES for base in owner.bases):
            return f"{owner.name.value}.{function.name}"
    return None


def _gradio_callbacks(collector: Collector) -> dict[int, str]:
    """Functions given to gradio as callbacks: ``gr.Interface(fn=f)``, ``button.click(f, ...)``."""
    found: dict[int, str] = {}
    if not _imports(collector, ("gradio",)):
        return found
    for site in collector.calls:
        call = site.node
        name = last_name(call.func) or ""
        qualified = qualify(call.func, site.scope, site.order) or ""
        is_app = name in GRADIO_APPS and qualified.startswith("gradio")
        is_listener = isinstance(call.func, cst.Attribute) and name in GRADIO_LISTENERS
        if not (is_app or is_listener):
            continue
        candidates = [arg.value for arg in call.args if arg.keyword is not None and arg.keyword.value == "fn"]
        positional = [arg.value for arg in call.args if arg.keyword is None and not arg.star]
        if positional and not candidates:
            candidates = positional[:1]
        for candidate in candidates:
            if isinstance(candidate, cst.Name):
                target = collector.resolver.local_function(candidate, site.scope, site.order)
                if target is not None:
                    found[id(target.node)] = f"gradio callback {target.name}()"
    return found


def request_handlers(collector: Collector) -> dict[int, str]:
    """Functions that run once per request, by id of the function node, with a description."""
    handlers = _gradio_callbacks(collector)
    web = _imports(collector, WEB_PACKAGES)
    for function in collector.resolver.functions.values():
        route = _route(function)
        if route is not None and (web or route.startswith("@")):
            handlers.setdefault(id(function.node), f"request handler {function.name}() ({route})")
    return handlers


def is_streamlit_script(collector: Collector) -> bool:
    return _imports(collector, ("streamlit",))


class _GuardFinder(cst.CSTVisitor):
    """Calls under a cache check: ``if model is None:``, ``if key not in cache:``, after an early
    ``if key in cache: return cache[key]``, or whose result is stored in a cache dict."""

    def __init__(self, targets: set[int]) -> None:
        self.targets = targets
        self.guarded: set[int] = set()
        self._depth = 0
        self._returned_early = False

    def visit_If(self, node: cst.If) -> bool:
        if _cache_test(node.test) or _change_test(node):
            if _returns(node.body):
                self._returned_early = True
            self._depth += 1
            node.body.visit(self)
            self._depth -= 1
            if node.orelse is not None:
                node.orelse.visit(self)
            return False
        return True

    def visit_Assign(self, node: cst.Assign) -> bool:
        if any(isinstance(target.target, cst.Subscript) for target in node.targets):
            self._mark(node.value, force=True)
        return True

    def visit_Call(self, node: cst.Call) -> bool:
        self._mark(node)
        return True

    def _mark(self, node: cst.CSTNode, force: bool = False) -> None:
        if id(node) in self.targets and (force or self._depth or self._returned_early):
            self.guarded.add(id(node))

    def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
        return True


def _cache_test(test: cst.BaseExpression) -> bool:
    """``x is None``, ``x is not None``, ``not x``, ``k in d``, ``k not in d``, ``hasattr(...)``, ``x == None``."""
    if isinstance(test, cst.BooleanOperation):
        return _cache_test(test.left) or _cache_test(test.right)
    if isinstance(test, cst.UnaryOperation) and isinstance(test.operator, cst.Not):
        return isinstance(test.expression, (cst.Name, cst.Attribute, cst.Subscript)) or _cache_test(test.expression)
    if isinstance(test, cst.Comparison):
        for target in test.comparisons:
            operator = target.operator
            if isinstance(operator, (cst.In, cst.NotIn)):
                return True
            if isinstance(operator, (cst.Is, cst.IsNot, cst.Equal, cst.NotEqual)) and (
                isinstance(target.comparator, cst.Name) and target.comparator.value == "None"
            ):
                return True
    if isinstance(test, cst.Call) and last_name(test.func) in ("hasattr", "getattr"):
        return True
    return False


def _change_test(node: cst.If) -> bool:
    """``if name != wanted: ... name = wanted; model = load(name)``: a reload only when the wanted model
    changes (the block assigns a name the test compares)."""
    test = node.test
    if not isinstance(test, cst.Comparison) or not all(
            isinstance(target.operator, (cst.NotEqual, cst.IsNot)) for target in test.comparisons):
        return False
    compared = {part.value for part in [test.left, *(target.comparator for target in test.comparisons)]
                if isinstance(part, cst.Name)}
    return bool(compared & set(_assigned_in(node.body)))


def _returns(block: cst.BaseSuite) -> bool:
    found = False

    class Finder(cst.CSTVisitor):
        def visit_Return(self, node: cst.Return) -> bool:
            nonlocal found
            found = True
            return False

    block.visit(Finder())
    return found


def guarded_calls(function_node: cst.CSTNode, calls: list[cst.Call]) -> set[int]:
    """Which of ``calls`` (inside ``function_node``) only run when a cache misses."""
    finder = _GuardFinder({id(call) for call in calls})
    function_node.visit(finder)
    return finder.guarded


def _breaks(loop: Loop) -> bool:
    """A retry loop: the body leaves with ``break`` (``for _ in range(3): try: load(); break``)."""
    found = False

    class Finder(cst.CSTVisitor):
        def visit_Break(self, node: cst.Break) -> bool:
            nonlocal found
            found = True
            return False

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return False

        def visit_For(self, node: cst.For) -> bool:
            return node is loop.node

        def visit_While(self, node: cst.While) -> bool:
            return node is loop.node

    loop.node.visit(Finder())
    return found


def _loop_word(loop: Loop) -> str:
    return {"for": "for loop", "while": "while loop", "comprehension": "comprehension"}[loop.kind]


def _per_item_loop(loop: Loop, arguments: list[cst.BaseExpression]) -> bool:
    """A loop that repeats the same load: not a sweep over model ids, not a retry loop."""
    if _breaks(loop):
        return False
    if loop.kind == "while":
        return True
    carried = derived_names(loop.node, set(loop.targets))
    return not any(names_in(argument) & carried for argument in arguments)


def _arguments(call: cst.Call) -> list[cst.BaseExpression]:
    return [arg.value for arg in call.args]


def load_contexts(collector: Collector, loads: list[CallSite], max_depth: int = 3) -> dict[int, LoadContext]:
    """For each load (by id of its call) that runs once per request or per item, where it runs.

    A load counts when it sits in a loop that repeats it, in a request handler, at the top level of
    a streamlit script, or in a module function reached from one of those through at most
    ``max_depth`` calls; never when a function on the way is cached or the load is guarded by a
    cache check.
    """
    handlers = request_handlers(collector)
    streamlit = is_streamlit_script(collector)
    by_function: dict[int, list[CallSite]] = {}
    for site in collector.calls:
        if site.function is not None:
            by_function.setdefault(id(site.function.node), []).append(site)
    found: dict[int, LoadContext] = {}
    for load in loads:
        context = _context_of(collector, load, handlers, streamlit, by_function, max_depth)
        if context is not None:
            found[id(load.node)] = context
    return found


def _context_of(collector: Collector, site: CallSite, handlers: dict[int, str], streamlit: bool,
                by_function: dict[int, list[CallSite]], depth: int,
                chain: tuple[str, ...] = ()) -> LoadContext | None:
    arguments = _arguments(site.node)
    if site.loops:
        loop = site.loops[-1]
        # through a helper, a sweep was ruled out before (the load reads none of the helper's parameters)
        if (not _breaks(loop)) if chain else _per_item_loop(loop, arguments):
            return LoadContext("loop", _loop_word(loop), chain)
        return None
    function = site.function
    if function is None:
        return LoadContext("streamlit", "a streamlit script's top level (run again on every interaction)",
                           chain) if streamlit else None
    if is_cached(function) or id(site.node) in guarded_calls(function.node, [site.node]):
        return None
    description = handlers.get(id(function.node))
    if description is not None:
        return LoadContext("handler", description, chain)
    if depth <= 0:
        return None
    for caller in _callers(collector, function):
        if caller.function is function:
            continue
        if caller.loops and not _per_item_loop(caller.loops[-1], _fed_arguments(function, arguments, caller.node)):
            continue  # a sweep: the loop hands each call another model id
        context = _context_of(collector, caller, handlers, streamlit, by_function, depth - 1,
                              (_step(function), *chain))
        if context is not None:
            return context
    return None


def _read_parameters(function: FunctionInfo, arguments: list[cst.BaseExpression]) -> set[str] | None:
    """The function's parameters that the load's arguments read; None when they read ``self`` in a
    method (an attribute may hold a constructor argument) or a ``*args``/``**kwargs`` parameter."""
    params = function.node.params
    named = {param.name.value for param in [*params.posonly_params, *params.params, *params.kwonly_params]}
    stars = {star.name.value for star in (params.star_arg, params.star_kwarg) if isinstance(star, cst.Param)}
    read = set()
    for name in (named | stars) - {"self", "cls"}:
        if any(names_in(argument) & derived_names(function.node.body, {name}) for argument in arguments):
            read.add(name)
    if read & stars or (function.owner is not None and any("self" in names_in(argument) for argument in arguments)):
        return None
    return read


def _fed_arguments(function: FunctionInfo, arguments: list[cst.BaseExpression],
                   call: cst.Call) -> list[cst.BaseExpression]:
    """The call's arguments that reach the load (``arguments``, read in ``function``): those given for the
    parameters the load reads; all of them when that cannot be told."""
    read = _read_parameters(function, arguments)
    if read is None or any(arg.star for arg in call.args):
        return _arguments(call)
    params = function.node.params
    positional = [param.name.value for param in [*params.posonly_params, *params.params]]
    offset = 1 if function.owner is not None and positional[:1] in (["self"], ["cls"]) else 0
    given = [arg.value for arg in call.args if arg.keyword is None]
    fed = []
    for name in read:
        keyword = [arg.value for arg in call.args if arg.keyword is not None and arg.keyword.value == name]
        index = positional.index(name) - offset if name in positional else -1
        fed += keyword or ([given[index]] if 0 <= index < len(given) else [])
    return fed


def _callers(collector: Collector, function: FunctionInfo) -> list[CallSite]:
    """The calls that run the function; for a class's ``__init__``, the calls that build the class."""
    if function.name == "__init__" and function.owner is not None:
        return [site for site in collector.calls if _builds(site, function.owner)]
    return [site for site in collector.calls if called_function(collector, site) is function]


def _builds(site: CallSite, owner: cst.ClassDef) -> bool:
    """``Class(...)`` where the name is bound to this class definition."""
    func = site.node.func
    if not isinstance(func, cst.Name) or func.value != owner.name.value:
        return False
    binding = site.scope.lookup(func.value, site.order)
    return binding is not None and binding.kind == "class" and binding.node is owner


def _step(function: FunctionInfo) -> str:
    """How a function appears in a chain: ``Class()`` for a constructor, ``name()`` otherwise."""
    owner = function.owner
    return f"{owner.name.value}()" if function.name == "__init__" and owner is not None else f"{function.name}()"


def vllm_engine_loads(collector: Collector) -> list[CallSite]:
    """``vllm.LLM(...)`` calls: each builds an engine and loads the model."""
    found = []
    for site in collector.calls:
        if isinstance(site.node.func, (cst.Name, cst.Attribute)):
            qualified = qualify(site.node.func, site.scope, site.order)
            if any(is_library_name(qualified, "vllm", name) for name in LOADER_OBJECTS):
                found.append(site)
    return found


ID_WORDS = ("name", "id", "path", "dir", "checkpoint", "repo", "ckpt")


def _wraps_loaded_model(load: ModelLoad) -> bool:
    """``pipeline(task, model=model)`` on a model object loaded elsewhere: building it loads nothing."""
    if not load.via_pipeline or load.model_id is None or load.model_id.text() is not None:
        return False
    if load.model_id.kind == ValueKind.OPTION:
        return False
    call = load.site.node
    given = [arg.value for arg in call.args if arg.keyword is not None and arg.keyword.value == "model"]
    positional = [arg.value for arg in call.args if arg.keyword is None and not arg.star]
    node = given[0] if given else (positional[1] if len(positional) > 1 else None)
    name = (dotted_name(node) or "").rsplit(".", 1)[-1].lower() if node is not None else ""
    return "model" in name and not any(word in name for word in ID_WORDS)


def _loads(ctx: CheckContext) -> list[CallSite]:
    facts = ctx.facts
    sites = [load.site for load in facts.model_loads
             if not facts.is_training(load.site.unit) and not _wraps_loaded_model(load)]
    if facts.collector is not None:
        sites += [site for site in vllm_engine_loads(facts.collector) if not facts.is_training(site.unit)]
    return sites


def imported_loads(collector: Collector, handlers: dict[int, str], streamlit: bool,
                   max_depth: int = 3) -> dict[int, tuple[CallSite, LoadContext]]:
    """Calls of a function, or constructions of a class, of another project module that load a model on
    every call (see :func:`_loader_chain`), made once per request or item: by id of the call."""
    project = collector.resolver.project
    found: dict[int, tuple[CallSite, LoadContext]] = {}
    if project is None:
        return found
    for site in collector.calls:
        func = site.node.func
        if not isinstance(func, (cst.Name, cst.Attribute)):
            continue
        qualified = qualify(func, site.scope, site.order)
        if not qualified or qualified.startswith(("<local>", "builtins.")):
            continue
        defined = project.definition_facts(qualified)
        loader = _loader_chain(*defined) if defined is not None else None
        if loader is None:
            continue
        target, arguments, chain = loader
        if site.loops:
            if not _per_item_loop(site.loops[-1], _fed_arguments(target, arguments, site.node)):
                continue  # a sweep, or a retry loop
            context = LoadContext("loop", _loop_word(site.loops[-1]), chain)
        else:
            context = _context_of(collector, site, handlers, streamlit, {}, max_depth, chain)
        if context is not None:
            found[id(site.node)] = (site, context)
    return found


def _loader_chain(facts: ModuleFacts, name: str
                  ) -> tuple[FunctionInfo, list[cst.BaseExpression], tuple[str, ...]] | None:
    """For a top-level function or class of a module, the function it runs (the class's ``__init__``),
    the arguments of a load it always runs (in it or in a function it calls, neither cached nor behind
    a cache check), and the calls from it to that load; None when it loads nothing that way."""
    collector = facts.collector
    if name in collector.classes:
        target = collector.classes[name].get("__init__")
    else:
        target = next((info for info in collector.resolver.functions.values() if info.name == name
                       and info.owner is None and info.scope.parent is not None
                       and info.scope.parent.kind == "module"), None)
    if target is None or is_cached(target):
        return None
    sites = [load.site for load in facts.model_loads
             if not facts.is_training(load.site.unit) and not _wraps_loaded_model(load)]
    for site in sites:
        path = _path_to(collector, target, site, 2)
        if path is None:
            continue
        arguments = _arguments(site.node) if site.function is target else []
        if site.function is not target and _read_parameters(site.function, _arguments(site.node)) != set():
            continue  # the load reads what the caller inside the module passes: not followed
        return target, arguments, tuple(f"{name}.{step}" if target.owner is not None else step for step in path)
    return None


def _path_to(collector: Collector, target: FunctionInfo, site: CallSite, depth: int) -> tuple[str, ...] | None:
    """The functions between ``target`` and a call made in it or in a function it calls, when the call
    runs every time (no loop, no cache); None otherwise."""
    function = site.function
    if function is None or site.loops or is_cached(function) or id(site.node) in guarded_calls(
            function.node, [site.node]):
        return None
    if function is target:
        return ()
    if depth <= 0:
        return None
    for caller in _callers(collector, function):
        if caller.function is not function:
            rest = _path_to(collector, target, caller, depth - 1)
            if rest is not None:
                return (*rest, _step(function))
    return None


def _where(context: LoadContext) -> str:
    if context.kind == "loop":
        where = f"inside a {context.where}"
    else:
        where = f"in {context.where}"
    if context.chain:
        where += f" (via {' -> '.join(context.chain)})"
    return where


def _every(context: LoadContext) -> str:
    return "item" if context.kind == "loop" else "request"


@check("LLM203")
def model_loaded_per_request(ctx: CheckContext) -> list[Finding]:
    if ctx.facts.collector is None:
        return []
    sites = _loads(ctx)
    contexts = load_contexts(ctx.facts.collector, sites)
    findings = []
    seen: set[int] = set()
    for site in sites:
        context = contexts.get(id(site.node))
        if context is None or id(site.node) in seen:
            continue
        seen.add(id(site.node))
        findings.append(Finding("LLM203", site.node, {
            "callee": callee_text(site.node, "from_pretrained"),
            "where": _where(context),
            "every": _every(context),
        }, RepeatedLoad(site, context)))
    collector = ctx.facts.collector
    if collector.resolver.project is not None:
        handlers = request_handlers(collector)
        for site, context in imported_loads(collector, handlers, is_streamlit_script(collector)).values():
            findings.append(Finding("LLM203", site.node, {
                "callee": callee_text(site.node, "from_pretrained"),
                "where": _where(context),
                "every": _every(context),
            }, RepeatedLoad(site, context, imported=True)))
    return findings


# -- the fix ------------------------------------------------------------------------------------------
BUILTINS = frozenset(dir(builtins))
# Calls that change a model in place: a cached model would keep the change for every later request.
CHANGING_METHODS = frozenset({"load_adapter", "add_adapter", "set_adapter", "delete_adapter", "merge_and_unload",
                              "unload", "resize_token_embeddings", "load_state_dict", "train", "requires_grad_",
                              "merge_adapter", "unmerge_adapter", "enable_adapters", "disable_adapters"})
CHANGING_CALLS = re.compile(r"(?:^|\.)(?:from_pretrained|get_peft_model|prepare_model_for_kbit_training|"
                            r"inject_adapter_in_model)$")
LITERALS = (cst.SimpleString, cst.ConcatenatedString, cst.Integer, cst.Float)


@fixer("LLM203")
def load_once(ctx: FixContext, finding: Finding) -> Proposal:
    repeated = finding.subject
    if not isinstance(repeated, RepeatedLoad):
        raise NoFix("unknown finding subject")
    site, context = repeated.site, repeated.context
    if repeated.imported:
        raise NoFix("the load is in another module")
    call = site.node
    if context.kind == "loop" and not context.chain:
        try:
            return _hoist(ctx, site)
        except NoFix:
            pass  # not a statement of its own in the loop's body: a cached loader may still do
    # a streamlit script reruns from the top on every interaction, making new functions and new lru_caches
    streamlit = context.kind == "streamlit" or _imports_streamlit(ctx)
    _check_names(ctx, site, streamlit)
    target = _assigned_name(ctx, call)
    if target is not None:
        _check_not_changed(ctx, site, target)
    statement = _top_level_statement(ctx, call)
    start, _ = compound_span(ctx, statement, statement_keywords(statement))
    insert_at = _above_comments(ctx, ctx.line_start(start))
    if streamlit:
        cache, edits = module_reference(ctx, insert_at, "streamlit", "cache_resource")
        decorator = cache
    else:
        cache, edits = module_reference(ctx, insert_at, "functools", "lru_cache")
        decorator = f"{cache}(maxsize=None)"
    loader = _loader_name(ctx, call, target)
    call_start, call_end = ctx.span(call)
    newline, unit = ctx.newline, ctx.indent_unit
    text = ctx.source[call_start:call_end]
    definition = (f"{newline * _blank_lines_missing(ctx, insert_at)}@{decorator}{newline}def {loader}():{newline}"
                  f"{unit}return {text}{newline}{newline}{newline}")
    edits += [Edit(insert_at, insert_at, definition), Edit(call_start, call_end, f"{loader}()")]
    how = "st.cache_resource" if streamlit else "functools.lru_cache"
    return Proposal(edits, message=f"Load once through {loader}(), cached with {how} (the model stays in memory "
                                   "between requests, and load errors surface on the first request)")


def _hoist(ctx: FixContext, site) -> Proposal:
    """Move ``name = load(...)``, a statement of the loop's own body, above the loop."""
    loop = site.loops[-1].node
    if not isinstance(loop, (cst.For, cst.While)) or not isinstance(loop.body, cst.IndentedBlock):
        raise NoFix("not a for or while loop with a block")
    line = _statement_line(ctx, site.node)
    if line is None or line not in loop.body.body or len(line.body) != 1:
        raise NoFix("the load is not a statement of the loop's own body")
    target = _assigned_name(ctx, site.node)
    if target is None:
        raise NoFix("the load's result is not assigned to a name")
    assigned = _assigned_in(loop)
    read = set(_names_read(line.body[0].value))
    if read & set(assigned):
        raise NoFix(f"the load reads {sorted(read & set(assigned))[0]}, which the loop sets")
    if assigned.count(target) != 1 or _deleted(loop, target) or _read_before(ctx, loop, line, target):
        raise NoFix(f"the loop uses {target} in other ways")
    _check_not_changed(ctx, site, target)
    _no_multiline_strings(line)
    start, end = compound_span(ctx, line, ())
    loop_start, _ = compound_span(ctx, loop, statement_keywords(loop))
    first, after = ctx.line_start(start), ctx.after_line(end)
    if after == end:  # the load ends the file without a newline: its line ends the loop too
        raise NoFix("the load is the file's last line")
    inner, outer = ctx.indentation(start), ctx.indentation(loop_start)
    if not inner.startswith(outer) or inner == outer:
        raise NoFix("unexpected indentation")
    dedent = len(inner) - len(outer)
    lines = []
    for text in re.split(r"(?<=\n)", ctx.source[first:after]):
        lines.append(text[dedent:] if text.startswith(inner) else text)
    at = ctx.line_start(loop_start)
    return Proposal([Edit(at, at, "".join(lines)), Edit(first, after, "")],
                    message="Load once, above the loop (the model is loaded even when the loop runs no "
                            "iteration, and stays in memory after it)")


def _assigned_in(node: cst.CSTNode) -> list[str]:
    """The names bound in a node, once per binding (assignments, loop targets, ``as``, ``global``, defs)."""
    found: list[str] = []

    def target(expression: cst.BaseExpression) -> None:
        if isinstance(expression, cst.Name):
            found.append(expression.value)
        elif isinstance(expression, (cst.Tuple, cst.List)):
            for element in expression.elements:
                target(element.value)
        elif isinstance(expression, cst.StarredElement):
            target(expression.value)

    class Bindings(cst.CSTVisitor):
        def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
            target(node.target)

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            target(node.target)

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            target(node.target)

        def visit_For(self, node: cst.For) -> None:
            target(node.target)

        def visit_CompFor(self, node: cst.CompFor) -> None:
            target(node.target)

        def visit_AsName(self, node: cst.AsName) -> None:
            target(node.name)

        def visit_NamedExpr(self, node: cst.NamedExpr) -> None:
            target(node.target)

        def visit_Global(self, node: cst.Global) -> None:
            found.extend(item.name.value for item in node.names)

        def visit_Nonlocal(self, node: cst.Nonlocal) -> None:
            found.extend(item.name.value for item in node.names)

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            found.append(node.name.value)
            return False

        def visit_ClassDef(self, node: cst.ClassDef) -> bool:
            found.append(node.name.value)
            return False

    node.visit(Bindings())
    return found


def _deleted(node: cst.CSTNode, name: str) -> bool:
    found = False

    class Deletes(cst.CSTVisitor):
        def visit_Del(self, node: cst.Del) -> None:
            nonlocal found
            found = found or name in _names_read(node.target)

    node.visit(Deletes())
    return found


def _read_before(ctx: FixContext, loop: cst.CSTNode, line: cst.CSTNode, name: str) -> bool:
    """Whether the loop reads ``name`` before the load's statement (its header, or earlier statements)."""
    header = [loop.test] if isinstance(loop, cst.While) else [loop.iter]
    earlier = loop.body.body[:loop.body.body.index(line)]
    return any(name in _names_read(part) for part in [*header, *earlier])


def _statement_line(ctx: FixContext, node: cst.CSTNode) -> cst.SimpleStatementLine | None:
    while node is not None and not isinstance(node, cst.SimpleStatementLine):
        if isinstance(node, (cst.Lambda, cst.FunctionDef, cst.BaseCompoundStatement)):
            return None
        node = ctx.parent(node)
    return node


def _no_multiline_strings(node: cst.CSTNode) -> None:
    found = False

    class Strings(cst.CSTVisitor):
        def visit_SimpleString(self, node: cst.SimpleString) -> None:
            nonlocal found
            found = found or "\n" in node.value or "\r" in node.value

    node.visit(Strings())
    if found:
        raise NoFix("a string spans lines in the load (moving it re-indents it)")


def _imports_streamlit(ctx: FixContext) -> bool:
    """Whether the module imports streamlit at its top level."""
    for line in ctx.module.body:
        for small in line.body if isinstance(line, cst.SimpleStatementLine) else ():
            if isinstance(small, cst.Import):
                paths = [module_path(alias.name) for alias in small.names]
            elif isinstance(small, cst.ImportFrom) and not small.relative and small.module is not None:
                paths = [module_path(small.module)]
            else:
                continue
            if any(path.split(".")[0] == "streamlit" for path in paths):
                return True
    return False


def _check_names(ctx: FixContext, site, streamlit: bool) -> None:
    """Every name the load reads must mean the same at module level and on every request or item."""
    module = site.scope
    while module.parent is not None:
        module = module.parent
    loops = [loop.node for loop in site.loops]
    changed = _changed_in_place(ctx)
    for name in _names_read(site.node):
        scope: Scope | None = site.scope
        while scope is not None and scope is not module:
            if scope.kind != "class" and name in scope.bindings:
                raise NoFix(f"the load reads {name}, which is set on each request or item")
            scope = scope.parent
        bindings = module.bindings.get(name, [])
        if not bindings:
            if name in BUILTINS:
                continue
            raise NoFix(f"{name} is not defined in the module")
        if re.search(rf"^[ \t]*(?:global|nonlocal)\b[^\n#]*\b{re.escape(name)}\b", ctx.source, re.MULTILINE):
            raise NoFix(f"{name} is changed through a global statement")
        kinds = {binding.kind for binding in bindings}
        if name in changed and kinds != {"import"}:
            raise NoFix(f"{name} is changed after it is set ({name}[...] = , {name}.x = or {name}.update())")
        if kinds <= {"import"} or (len(bindings) == 1 and kinds <= {"function", "class"}):
            continue
        if len(bindings) != 1 or kinds != {"assign"} or bindings[0].value is None:
            raise NoFix(f"{name} is assigned more than once")
        value = bindings[0].value
        if streamlit and not _literal(value):
            raise NoFix(f"{name} may change on each run of the streamlit script")
        if any(_within(ctx, value, loop) for loop in loops):
            raise NoFix(f"{name} is set inside the loop")


MUTATING_METHODS = frozenset({"update", "setdefault", "pop", "popitem", "clear", "append", "extend", "insert",
                              "remove", "__setitem__", "__setattr__"})


def _changed_in_place(ctx: FixContext) -> set[str]:
    """Names whose value the module changes without rebinding them: ``cfg["k"] = v``, ``args.model = v``,
    ``cfg.update(...)``, ``del cfg["k"]``."""
    found: set[str] = set()

    def root(node: cst.BaseExpression) -> None:
        while isinstance(node, (cst.Attribute, cst.Subscript)):
            node = node.value
            if isinstance(node, cst.Name):
                found.add(node.value)

    class Changes(cst.CSTVisitor):
        def visit_AssignTarget(self, node: cst.AssignTarget) -> None:
            root(node.target)

        def visit_AugAssign(self, node: cst.AugAssign) -> None:
            root(node.target)

        def visit_AnnAssign(self, node: cst.AnnAssign) -> None:
            root(node.target)

        def visit_Del(self, node: cst.Del) -> None:
            root(node.target)

        def visit_Call(self, node: cst.Call) -> None:
            if isinstance(node.func, cst.Attribute) and node.func.attr.value in MUTATING_METHODS:
                root(node.func)

    ctx.module.visit(Changes())
    return found


def _names_read(call: cst.CSTNode) -> list[str]:
    """The names an expression reads (not attribute names, not keyword names)."""
    found: list[str] = []

    class Names(cst.CSTVisitor):
        def visit_Name(self, node: cst.Name) -> None:
            if node.value not in found:
                found.append(node.value)

        def visit_Attribute(self, node: cst.Attribute) -> bool:
            node.value.visit(self)
            return False

        def visit_Arg(self, node: cst.Arg) -> bool:
            node.value.visit(self)
            return False

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            raise NoFix("the load holds a lambda")

        def visit_Yield(self, node: cst.Yield) -> bool:
            raise NoFix("the load yields")

        def visit_Await(self, node: cst.Await) -> bool:
            raise NoFix("the load awaits")

        def visit_NamedExpr(self, node: cst.NamedExpr) -> bool:
            raise NoFix("the load assigns a name")

    call.visit(Names())
    return found


def _literal(node: cst.BaseExpression) -> bool:
    if isinstance(node, LITERALS):
        return True
    if isinstance(node, cst.Name):
        return node.value in ("True", "False", "None")
    if isinstance(node, (cst.Tuple, cst.List)):
        return all(_literal(element.value) for element in node.elements)
    return False


def _within(ctx: FixContext, node: cst.CSTNode, outer: cst.CSTNode) -> bool:
    try:
        first, last = ctx.span(node)
        start, end = compound_span(ctx, outer, statement_keywords(outer)) if isinstance(
            outer, cst.BaseCompoundStatement) else ctx.span(outer)
    except NoFix:
        return True  # cannot tell: assume the worst
    return start <= first and last <= end


def _assigned_name(ctx: FixContext, call: cst.Call) -> str | None:
    """``model`` in ``model = load(...)`` or ``model = load(...).to("cuda")``."""
    node: cst.CSTNode = call
    parent = ctx.parent(node)
    while isinstance(parent, (cst.Attribute, cst.Call)) and (
            (isinstance(parent, cst.Attribute) and parent.value is node) or
            (isinstance(parent, cst.Call) and parent.func is node)):
        node, parent = parent, ctx.parent(parent)
    if isinstance(parent, cst.Assign) and parent.value is node and len(parent.targets) == 1:
        target = parent.targets[0].target
        if isinstance(target, cst.Name):
            return target.value
    if isinstance(parent, cst.AnnAssign) and parent.value is node and isinstance(parent.target, cst.Name):
        return parent.target.value
    return None


def _check_not_changed(ctx: FixContext, site, name: str) -> None:
    """No fix when the code around the load changes the model in place (a cached model keeps the change)."""
    unit = site.function.node if site.function is not None else ctx.module
    problem: list[str] = []

    class Uses(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            func = node.func
            if (isinstance(func, cst.Attribute) and isinstance(func.value, cst.Name) and func.value.value == name
                    and func.attr.value in CHANGING_METHODS):
                problem.append(f"{name}.{func.attr.value}()")
            callee = dotted_name(func)
            if callee and CHANGING_CALLS.search(callee) and any(
                    isinstance(arg.value, cst.Name) and arg.value.value == name for arg in node.args):
                problem.append(f"{callee}({name}, ...)")

    unit.visit(Uses())
    if problem:
        raise NoFix(f"{problem[0]} changes the model, which a cached model would keep")


def _top_level_statement(ctx: FixContext, node: cst.CSTNode) -> cst.CSTNode:
    parent = ctx.parent(node)
    while parent is not None and not isinstance(parent, cst.Module):
        node, parent = parent, ctx.parent(parent)
    if parent is None:
        raise NoFix("the load is not inside the module's statements")
    return node


def _above_comments(ctx: FixContext, line: int) -> int:
    """The start of the comment lines right above ``line`` (they belong to the statement below them)."""
    while line > 0:
        previous = ctx.line_start(line - 1)
        if not ctx.source[previous:line].lstrip().startswith("#"):
            break
        line = previous
    return line


def _blank_lines_missing(ctx: FixContext, line: int) -> int:
    """How many blank lines to add above a new top-level function at ``line`` so that two separate it."""
    blank = 0
    while line > 0 and blank < 2:
        previous = ctx.line_start(line - 1)
        if ctx.source[previous:line].strip():
            break
        blank, line = blank + 1, previous
    return 0 if line == 0 else 2 - blank


def _loader_name(ctx: FixContext, call: cst.Call, target: str | None) -> str:
    """A name free in the module and not given to another load's loader of the same pass (the fixes of one
    pass are proposed from the same text and applied together)."""
    from ecolint.fixes.imports import name_in_code

    taken: dict[int, str] = ctx.__dict__.setdefault("_loader_names", {})
    if id(call) in taken:
        return taken[id(call)]
    base = f"_load_{target.strip('_')}" if target else "_load_model"
    name, number = base, 2
    while name in taken.values() or name_in_code(ctx, name) or re.search(rf"\b{re.escape(name)}\b", ctx.source):
        name, number = f"{base}_{number}", number + 1
    taken[id(call)] = name
    return name
