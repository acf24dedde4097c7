"""LLM203 model-loaded-per-request: a model loaded again for every request or item.

Where each model load runs is read from the collector's walk: request handlers (web routes, gradio
callbacks, flask views, a streamlit script's top level), functions whose result is cached, loads
guarded by a cache check, and which module functions are called from handlers or inside loops
(:func:`load_contexts`).
"""

from __future__ import annotations

from dataclasses import dataclass

import libcst as cst

from ecolint.analysis.collector import CallSite, Collector, Loop
from ecolint.analysis.dataflow import derived_names, names_in
from ecolint.analysis.facts import ModelLoad
from ecolint.analysis.helpers import callee_text, called_function
from ecolint.analysis.scopes import dotted_name, is_library_name, qualify
from ecolint.analysis.values import FunctionInfo, ValueKind, last_name
from ecolint.checks import CheckContext, check
from ecolint.diagnostics import Finding

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
        if _cache_test(node.test):
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
        if caller.loops and _reads_parameters(function, arguments) and not _per_item_loop(
                caller.loops[-1], _arguments(caller.node)):
            continue  # a sweep: the loop hands each call another model id
        context = _context_of(collector, caller, handlers, streamlit, by_function, depth - 1,
                              (f"{function.name}()", *chain))
        if context is not None:
            return context
    return None


def _reads_parameters(function: FunctionInfo, arguments: list[cst.BaseExpression]) -> bool:
    params = function.node.params
    names = {param.name.value for param in [*params.posonly_params, *params.params, *params.kwonly_params]}
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            names.add(star.name.value)
    tainted = derived_names(function.node.body, names - {"self", "cls"})
    return any(names_in(argument) & tainted for argument in arguments)


def _callers(collector: Collector, function: FunctionInfo) -> list[CallSite]:
    return [site for site in collector.calls if called_function(collector, site) is function]


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
        }))
    return findings
