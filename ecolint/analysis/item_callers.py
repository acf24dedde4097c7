"""Functions that call the callable they are given once per item of a loop, and the calls that give them a
per-item generator.

``evaluate(settings, dataset)`` in one module loops over the data and calls ``settings["inference_fn"](item)``
(directly or through a function of its module it hands ``settings`` to); a script in another module passes
``{"inference_fn": generate_one}``, where ``generate_one`` runs generation on the one prompt it is given.
The loop is in one module and the generation in another: the project index records, for each top-level
function, the :class:`ItemCall` facts of this module, and the script's call is reported as per-item
generation (LLM201) at the call that hands the generator over.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

import libcst as cst

from ecolint.analysis.dataflow import derived_names, names_in
from ecolint.analysis.helpers import _argument_for, _entry_of, _parameter_callee, _reference_chain, called_function
from ecolint.analysis.scopes import code_of, qualify

if TYPE_CHECKING:
    from ecolint.analysis.collector import CallSite, Collector, Loop
    from ecolint.analysis.facts import ModuleFacts
    from ecolint.analysis.values import FunctionInfo

MAX_DEPTH = 3  # functions handing the callable on to functions of their module
BATCH_PARAMETER = "batch"  # a parameter named for the batch (batch_size, batch): the caller decides it


@dataclass(frozen=True)
class ItemCall:
    """A function calls what it receives as ``parameter`` (the value under ``key`` when it is a dict) once for
    every item of a loop."""

    parameter: str
    position: int  # among the positional parameters; -1 for a keyword-only one
    key: str | None
    loop_kind: str  # "for", "while", "comprehension"
    batch_parameter: str | None = None  # the loop walks batches of this parameter's size
    batch_position: int = -1  # that parameter's place among the positional ones (-1: keyword-only)
    batch_default: float | None = None  # its default


@dataclass(eq=False)
class PassedGeneration:
    """A call that hands a per-item generator to a project function that calls it once per item."""

    site: "CallSite"
    reference: cst.BaseExpression  # the generator as written at the call (or in the settings dict)
    chain: tuple[str, ...]  # the generator's chain of calls to generation
    loop_kind: str


def item_callers(facts: "ModuleFacts") -> dict[str, tuple[ItemCall, ...]]:
    """The module's top-level functions that call a callable parameter once per item of a loop."""
    collector = facts.collector
    found: dict[str, tuple[ItemCall, ...]] = {}
    memo: dict[int, list[tuple[str, str | None, ItemCall | None]]] = {}
    by_function: dict[int, list["CallSite"]] = {}
    for site in collector.calls:
        if site.function is not None:
            by_function.setdefault(id(site.function.node), []).append(site)
    for function in collector.resolver.functions.values():
        if function.owner is not None or function.is_async or function.scope.parent is None or (
                function.scope.parent.kind != "module"):
            continue
        found_calls = _parameter_calls(facts, function, by_function, memo, 0)
        calls = tuple(dict.fromkeys(call for _, _, call in found_calls if call))
        if calls:
            found[function.name] = calls
    return found


def _parameter_calls(facts: "ModuleFacts", function: "FunctionInfo", by_function: dict[int, list["CallSite"]],
                     memo: dict, depth: int) -> list[tuple[str, str | None, ItemCall | None]]:
    """(parameter, key, the per-item loop or None) for each call of a callable parameter the function makes,
    directly or through another function of its module it hands the parameter to."""
    key = id(function.node)
    if key in memo:
        return memo[key]
    memo[key] = []  # a recursive function answers "none" to itself
    collector = facts.collector
    found: list[tuple[str, str | None, ItemCall | None]] = []
    for site in by_function.get(key, ()):
        direct = _parameter_callee(site)
        if direct is not None:
            found.append((*direct, _item_loop(facts, function, site, direct[0], direct[1])))
            continue
        target = called_function(collector, site)
        if target is None or target is function or depth >= MAX_DEPTH:
            continue
        positional = target.parameters()
        for inner, inner_key, inner_call in _parameter_calls(facts, target, by_function, memo, depth + 1):
            given = _argument_for(site.node, inner, positional, 0)
            if not isinstance(given, cst.Name) or not _is_parameter(site, function, given.value):
                continue
            if inner_call is not None and inner_call.batch_parameter is not None:
                continue  # batches whose size this function does not pass on as its own: not followed
            call = inner_call and _renamed(function, inner_call, given.value)
            found.append((given.value, inner_key, call or _item_loop(facts, function, site, given.value, inner_key)))
    memo[key] = found
    return found


def _is_parameter(site: "CallSite", function: "FunctionInfo", name: str) -> bool:
    binding = site.scope.lookup(name, site.order)
    return binding is not None and binding.kind == "param" and binding.scope is function.scope


def _renamed(function: "FunctionInfo", call: ItemCall, parameter: str) -> ItemCall:
    """An inner function's per-item call, as a fact about the function that handed it the parameter."""
    position = function.parameters().index(parameter) if parameter in function.parameters() else -1
    return ItemCall(parameter, position, call.key, call.loop_kind)


def _item_loop(facts: "ModuleFacts", function: "FunctionInfo", site: "CallSite", parameter: str,
               key: str | None) -> ItemCall | None:
    """The fact for a call made in a loop that hands it a new item each time (not a batch, not a person's
    input); a loop over batches whose size is a parameter is left to the caller's value of it."""
    from ecolint.analysis.batching import _feeds, _sequential, _verdict

    inputs = [arg.value for arg in site.node.args]
    loops = [loop for loop in site.loops if _feeds(loop, inputs)]
    if not loops or _sequential(loops[-1], site, inputs):  # turns of one conversation, retries
        return None
    verdicts = [_verdict(facts, loop).kind for loop in site.loops]
    if "interactive" in verdicts:
        return None
    loop = loops[-1]
    position = function.parameters().index(parameter) if parameter in function.parameters() else -1
    if all(verdict in ("per_item", "loader_bs1") for verdict in verdicts):
        return ItemCall(parameter, position, key, loop.kind)
    batch = _batch_parameter(facts, function, loop)
    if batch is None:
        return None
    name, default = batch
    batch_position = function.parameters().index(name) if name in function.parameters() else -1
    return ItemCall(parameter, position, key, loop.kind, name, batch_position, default)


def _batch_parameter(facts: "ModuleFacts", function: "FunctionInfo", loop: "Loop") -> tuple[str, float | None] | None:
    """A parameter named for the batch from which the loop's iterable is built (``batch_size=1``)."""
    walked = names_in(loop.iter)
    params = function.node.params
    for param in [*params.posonly_params, *params.params, *params.kwonly_params]:
        name = param.name.value
        if BATCH_PARAMETER not in name.lower() or not walked & derived_names(function.node.body, {name}):
            continue
        default = None
        if param.default is not None:
            default = facts.resolver.resolve(param.default, function.scope.parent or function.scope,
                                             loop.order).number()
        return name, default
    return None


def passed_generations(collector: "Collector", facts: "ModuleFacts", summaries: dict[int, tuple[str, ...]]
                       ) -> list[PassedGeneration]:
    """Calls of project functions that are given a per-item generator (as an argument or under a key of a
    settings dict) and call it once per item of their loop."""
    project = collector.resolver.project
    if project is None:
        return []
    found = []
    for site in collector.calls:
        if not site.node.args or not _hands_a_generator(collector, site, summaries):
            continue
        qualified = qualify(site.node.func, site.scope, site.order)
        if not qualified or qualified.startswith(("<local>", "builtins.")):
            continue
        for call in project.item_calls(qualified) or ():
            passed = _passed(collector, site, call, summaries)
            if passed is not None:
                found.append(passed)
                break
    return found


def _hands_a_generator(collector: "Collector", site: "CallSite", summaries: dict[int, tuple[str, ...]]) -> bool:
    """A cheap look before the project is asked about the callee: an argument (or a value of a dict given as
    one) refers to a per-item generator."""
    for arg in site.node.args:
        value = arg.value
        if isinstance(value, cst.Name):
            binding = site.scope.lookup(value.value, site.order)
            if binding is not None and binding.kind == "assign" and isinstance(binding.value, cst.Dict):
                value = binding.value
        values = [element.value for element in value.elements if isinstance(element, cst.DictElement)] if (
            isinstance(value, cst.Dict)) else [value]
        if any(_names_a_function(site, item) and _reference_chain(collector, site, item, summaries)
               for item in values):
            return True
    return False


def _names_a_function(site: "CallSite", node: cst.BaseExpression) -> bool:
    """``generate_one`` or ``pkg.module.generate_one``: a name bound to a function or an import."""
    while isinstance(node, cst.Attribute):
        node = node.value
    if not isinstance(node, cst.Name):
        return False
    binding = site.scope.lookup(node.value, site.order)
    return binding is not None and binding.kind in ("function", "import")


def _passed(collector: "Collector", site: "CallSite", call: ItemCall, summaries: dict[int, tuple[str, ...]]
            ) -> PassedGeneration | None:
    argument = _given(site.node, call.parameter, call.position)
    if argument is None:
        return None
    if call.key is not None:
        argument = _entry_of(collector, site, argument, call.key)
        if argument is None:
            return None
    chain = _reference_chain(collector, site, argument, summaries)
    if not chain or not _one_per_batch(collector, site, call):
        return None
    return PassedGeneration(site, argument, chain, call.loop_kind)


def _given(node: cst.Call, parameter: str, position: int) -> cst.BaseExpression | None:
    """The argument a call gives for the parameter: by keyword, or by position."""
    for arg in node.args:
        if arg.keyword is not None and arg.keyword.value == parameter:
            return arg.value
    given = [arg.value for arg in node.args if arg.keyword is None and not arg.star]
    return given[position] if 0 <= position < len(given) else None


def _one_per_batch(collector: "Collector", site: "CallSite", call: ItemCall) -> bool:
    """The loop walks single items: no batch parameter, or the call leaves it at (or sets it to) one."""
    if call.batch_parameter is None:
        return True
    given = _given(site.node, call.batch_parameter, call.batch_position)
    if given is None:
        return call.batch_default == 1 and not any(arg.star for arg in site.node.args)
    return collector.resolver.resolve(given, site.scope, site.order).number() == 1


def describe(passed: PassedGeneration) -> tuple[str, str]:
    """The callee and the loop as LLM201's message names them."""
    from ecolint.analysis.batching import LOOP_WORDS

    callee = code_of(passed.site.node.func)
    return (f"{code_of(passed.reference)} (passed to {callee}(), via {' -> '.join(passed.chain)})",
            f"{LOOP_WORDS[passed.loop_kind]} of {callee}()")
