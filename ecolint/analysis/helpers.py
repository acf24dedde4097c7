"""Summaries of the module's own functions: which ones generate for the one item they are given.

A function (or method) whose body runs synchronous generation on something built from its
parameters is a per-item generator; so is one that calls such a function with something built
from its parameters (helpers calling helpers, through ``self.`` or an instance of a local class).
Each call of a per-item generator is recorded with the chain that leads to the generation, for
LLM201 to judge the loops around it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import libcst as cst

from ecolint.analysis.collector import CallSite, Collector
from ecolint.analysis.dataflow import derived_names, names_in
from ecolint.analysis.scopes import Scope, dotted_name, qualify
from ecolint.analysis.values import FunctionInfo

if TYPE_CHECKING:
    from ecolint.analysis.facts import HelperCall, ModuleFacts

MAX_CHAIN = 4
GENERATION_IMPLEMENTATIONS = frozenset({
    "generate", "_generate", "_sample", "sample", "_greedy_search", "greedy_search", "_beam_search",
    "beam_search", "_beam_sample", "_group_beam_search", "_constrained_beam_search", "_assisted_decoding",
    "_contrastive_search", "_dola_decoding",
})


def callee_text(call: cst.Call, fallback: str = "generate") -> str:
    return f"{dotted_name(call.func) or fallback}()"


def called_function(collector: Collector, site: CallSite) -> FunctionInfo | None:
    """The module's own function or method a call runs, when it can be told statically."""
    func = site.node.func
    resolver = collector.resolver
    if isinstance(func, cst.Name):
        return resolver.local_function(func, site.scope, site.order)
    if not isinstance(func, cst.Attribute):
        return None
    method = func.attr.value
    owner = func.value
    if isinstance(owner, cst.Name) and owner.value in ("self", "cls") and site.function is not None:
        enclosing = site.function.owner
        return collector.classes.get(enclosing.name.value, {}).get(method) if enclosing is not None else None
    for created, _, _ in _constructions(collector, site):  # obj = LocalClass(...); obj.method(...)
        if isinstance(created.func, cst.Name) and created.func.value in collector.classes:
            return collector.classes[created.func.value].get(method)
    return None


def _constructions(collector: Collector, site: CallSite) -> list[tuple[cst.Call, Scope, int]]:
    """The calls that built the receiver of ``receiver.method(...)``, with where they were made: ``obj =
    Class(...)`` for a name, and for ``self.attr`` what the class's methods assign to the attribute
    (``self.attr = given if given else Class()``, ``given or Class()``: the class built by default)."""
    func = site.node.func
    if not isinstance(func, cst.Attribute):
        return []
    receiver = func.value
    if isinstance(receiver, cst.Name):
        binding = site.scope.lookup(receiver.value, site.order)
        if binding is not None and binding.kind == "assign" and isinstance(binding.value, cst.Call):
            return [(binding.value, binding.scope, binding.order)]
        return []
    if not (isinstance(receiver, cst.Attribute) and isinstance(receiver.value, cst.Name)
            and receiver.value.value == "self" and site.function is not None and site.function.owner is not None):
        return []
    found = []
    for assignment in collector.instance_attributes.get((id(site.function.owner), receiver.attr.value), []):
        found += [(call, assignment.scope, assignment.order) for call in _built(assignment.value)]
    return found


def _built(value: cst.BaseExpression) -> list[cst.Call]:
    """The calls among an assigned value's alternatives (the branches of ``a if c else b``, ``a or b``)."""
    if isinstance(value, cst.Call):
        return [value]
    if isinstance(value, cst.IfExp):
        return _built(value.body) + _built(value.orelse)
    if isinstance(value, cst.BooleanOperation) and isinstance(value.operator, cst.Or):
        return _built(value.left) + _built(value.right)
    return []


def _parameter_names(function: FunctionInfo) -> set[str]:
    params = function.node.params
    names = {param.name.value for param in [*params.posonly_params, *params.params, *params.kwonly_params]}
    for star in (params.star_arg, params.star_kwarg):
        if isinstance(star, cst.Param):
            names.add(star.name.value)
    return names - {"self", "cls"}


BATCH_NAMES = ("batch", "chunk", "_list", "list_")
PLURAL_ITEMS = frozenset({"prompts", "texts", "questions", "sentences", "queries", "samples", "examples",
                          "documents", "conversations", "instructions", "requests"})


def _named_as_many(inputs: list[cst.BaseExpression]) -> bool:
    """An input named as a batch (``inference_batch``, ``prompt_list``) or a collection of prompts."""
    for expression in inputs:
        name = (dotted_name(expression) or "").rsplit(".", 1)[-1].lower()
        if any(word in name for word in BATCH_NAMES) or name in PLURAL_ITEMS:
            return True
    return False


def _loop_feeds(site: CallSite, inputs: list[cst.BaseExpression]) -> bool:
    """A loop around the call hands it its items (then that loop is the per-item one, not the callers');
    a loop that repeats the same input (``for _ in range(n)``: samples, retries) does not."""
    for loop in site.loops:
        if loop.kind == "while" or _reads_any(inputs, derived_names(loop.node, set(loop.targets))):
            return True
    return False


def _reads_any(expressions: list[cst.BaseExpression], tainted: set[str]) -> bool:
    return any(names_in(expression) & tainted for expression in expressions)


def per_item_helper_calls(collector: Collector, facts: "ModuleFacts",
                          summaries: dict[int, tuple[str, ...]] | None = None) -> list["HelperCall"]:
    """The calls made in loops of functions that generate for the one item they are given."""
    from ecolint.analysis.facts import HelperCall

    summaries = generator_summaries(collector, facts) if summaries is None else summaries
    found = []
    for site in collector.calls:
        if not site.loops:
            continue
        chain = _chain_of(collector, site, summaries)
        if chain is not None:
            found.append(HelperCall(site, chain, [arg.value for arg in site.node.args]))
    return found


def _chain_of(collector: Collector, site: CallSite, summaries: dict[int, tuple[str, ...]]) -> tuple[str, ...] | None:
    """The chain of a call of a per-item generator: one of this module's, one the project exports, or one
    handed in as a parameter (directly or in a settings dict) by the callers of the enclosing function."""
    target = called_function(collector, site) or _function_in_variable(collector, site)
    if target is not None:
        return summaries.get(id(target.node))
    bound = _bound_generator(collector, site, summaries)
    if bound is not None:
        return bound
    method = _project_method_chain(collector, site)
    if method is not None:
        return method
    return _project_chain(collector, site.node.func, site.scope, site.order)


def _function_in_variable(collector: Collector, site: CallSite) -> FunctionInfo | None:
    """``generate_func = generate_reply_HF`` (the binding the call sees), then ``generate_func(question, ...)``:
    the module's function the variable holds."""
    func = site.node.func
    if not isinstance(func, cst.Name):
        return None
    binding = site.scope.lookup(func.value, site.order)
    if binding is None or binding.kind != "assign" or not isinstance(binding.value, cst.Name):
        return None
    return collector.resolver.local_function(binding.value, binding.scope, binding.order)


def _project_method_chain(collector: Collector, site: CallSite) -> tuple[str, ...] | None:
    """``decoder.answer(prompt)`` where ``decoder = ProjectClass(...)`` and the class, defined in another
    module of the project, has a method that generates for the one item it is given."""
    func = site.node.func
    project = collector.resolver.project
    if project is None or not isinstance(func, cst.Attribute):
        return None
    for created, scope, order in _constructions(collector, site):
        qualified = qualify(created.func, scope, order)
        if not qualified or qualified.startswith(("<local>", "builtins.")):
            continue
        chain = project.generator_chain(qualified, func.attr.value)
        if chain:
            return (f"{dotted_name(func)}()", *chain[1:])
    return None


def _project_chain(collector: Collector, node: cst.BaseExpression, scope, order: int) -> tuple[str, ...] | None:
    project = collector.resolver.project
    if project is None:
        return None
    qualified = qualify(node, scope, order)
    if not qualified or qualified.startswith(("<local>", "builtins.")):
        return None
    return project.generator_chain(qualified)


def _parameter_callee(site: CallSite) -> tuple[str, str | None] | None:
    """``invoke_model(...)`` or ``settings["inference_fn"](...)`` where the name is a parameter of the
    enclosing function: (the parameter, the settings key or None)."""
    func, key = site.node.func, None
    if isinstance(func, cst.Subscript) and len(func.slice) == 1 and isinstance(func.slice[0].slice, cst.Index):
        index = func.slice[0].slice.value
        if not isinstance(index, cst.SimpleString):
            return None
        func, key = func.value, index.evaluated_value
    if not isinstance(func, cst.Name) or site.function is None:
        return None
    binding = site.scope.lookup(func.value, site.order)
    if binding is None or binding.kind != "param" or binding.scope is not site.function.scope:
        return None
    return func.value, key


def _bound_generator(collector: Collector, site: CallSite, summaries: dict[int, tuple[str, ...]]
                     ) -> tuple[str, ...] | None:
    """The chain of the per-item generator that a caller of the enclosing function passes for the parameter
    called here (``evaluate(invoke_model=inference)``, ``run(settings)`` with ``settings["fn"] = answer``)."""
    found = _parameter_callee(site)
    if found is None:
        return None
    name, key = found
    function = site.function
    params = function.node.params
    positional = [param.name.value for param in [*params.posonly_params, *params.params]]
    for caller in collector.calls:
        if caller is site or called_function(collector, caller) is not function:
            continue
        offset = 1 if function.owner is not None and positional[:1] in (["self"], ["cls"]) else 0
        argument = _argument_for(caller.node, name, positional, offset)
        if argument is None:
            continue
        if key is not None:
            argument = _entry_of(collector, caller, argument, key)
            if argument is None:
                continue
        chain = _reference_chain(collector, caller, argument, summaries)
        if chain is not None:
            written = f'{name}["{key}"]' if key is not None else name
            return (f"{written}()", *chain)
    return None


def _argument_for(call: cst.Call, name: str, positional: list[str], offset: int) -> cst.BaseExpression | None:
    for arg in call.args:
        if arg.keyword is not None and arg.keyword.value == name:
            return arg.value
    given = [arg.value for arg in call.args if arg.keyword is None and not arg.star]
    index = positional.index(name) - offset if name in positional else -1
    return given[index] if 0 <= index < len(given) else None


def _entry_of(collector: Collector, caller: CallSite, argument: cst.BaseExpression, key: str
              ) -> cst.BaseExpression | None:
    """The value under ``key`` of a dict given as an argument (a literal, or a name bound to one)."""
    if isinstance(argument, cst.Name):
        binding = caller.scope.lookup(argument.value, caller.order)
        if binding is None or binding.kind != "assign":
            return None
        argument = binding.value
    if not isinstance(argument, cst.Dict):
        return None
    for element in argument.elements:
        if isinstance(element, cst.DictElement) and isinstance(element.key, cst.SimpleString) and (
                element.key.evaluated_value == key):
            return element.value
    return None


def _reference_chain(collector: Collector, caller: CallSite, reference: cst.BaseExpression,
                     summaries: dict[int, tuple[str, ...]]) -> tuple[str, ...] | None:
    """A reference to a per-item generator: a function of this module, or one the project exports."""
    if isinstance(reference, cst.Name):
        target = collector.resolver.local_function(reference, caller.scope, caller.order)
        if target is not None:
            return summaries.get(id(target.node))
    if isinstance(reference, (cst.Name, cst.Attribute)):
        return _project_chain(collector, reference, caller.scope, caller.order)
    return None


def generator_summaries(collector: Collector, facts: "ModuleFacts") -> dict[int, tuple[str, ...]]:
    """Per-item generators of this module, by id of the function node: the chain of calls to generation."""
    summaries: dict[int, tuple[str, ...]] = {}
    tainted: dict[int, set[str]] = {}

    def taint_of(function: FunctionInfo) -> set[str]:
        key = id(function.node)
        if key not in tainted:
            tainted[key] = derived_names(function.node.body, _parameter_names(function))
        return tainted[key]

    for generation in facts.generations:
        function = generation.site.function
        if function is None or id(function.node) in summaries or _loop_feeds(generation.site, generation.inputs()):
            continue
        if _named_as_many(generation.inputs()):
            continue  # batch_inference(llm, params, inference_batch): the helper is given a batch
        if function.is_async or not _parameter_names(function) or (
            function.owner is not None and function.name in GENERATION_IMPLEMENTATIONS
        ):  # a model class's own generate(): an implementation, not a helper
            continue
        if _reads_any(generation.inputs(), taint_of(function)):
            summaries[id(function.node)] = (f"{function.name}()", callee_text(generation.site.node))
    calls = [site for site in collector.calls if site.function is not None and not site.loops]
    for _ in range(MAX_CHAIN - 1):  # helpers calling helpers (of this module or imported from the project)
        grown = False
        for site in calls:
            function = site.function
            if id(function.node) in summaries or function.is_async or not _parameter_names(function):
                continue
            target = called_function(collector, site)
            if target is function:
                continue
            chain = _chain_of(collector, site, summaries)
            if chain is None or len(chain) >= MAX_CHAIN + 1:
                continue
            if _reads_any([arg.value for arg in site.node.args], taint_of(function)):
                summaries[id(function.node)] = (f"{function.name}()", *chain)
                grown = True
        if not grown:
            break
    return summaries
