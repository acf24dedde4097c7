"""Generation in loops, and batch sizes of one: what LLM201 (generation once per item) and LLM202
(batch_size=1) report, found together because a loop that LLM202 reports is not reported again by LLM201."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass

import libcst as cst

from ecolint.analysis.collector import CallSite, Loop
from ecolint.analysis.dataflow import carried_from_result, derived_names, names_in, unwrap_iterable
from ecolint.analysis.facts import DataLoaderSite, GenerationCall, ModuleFacts
from ecolint.analysis.collections import collection_argument
from ecolint.analysis.helpers import GENERATION_IMPLEMENTATIONS, callee_text
from ecolint.analysis.item_callers import describe
from ecolint.analysis.scopes import code_of, dotted_name
from ecolint.analysis.walk import walk
from ecolint.analysis.values import last_name
from ecolint.analysis.parameters import number, parameter_default

BATCH_WORDS = ("batch", "chunk", "slice")
LOOP_WORDS = {"for": "for loop", "while": "while loop", "comprehension": "comprehension"}


@dataclass
class _Verdict:
    kind: str  # "per_item", "batched", "interactive", "loader_bs1"
    loader: DataLoaderSite | None = None


def _mentions_batch(node: cst.CSTNode | None) -> bool:
    if node is None:
        return False
    if isinstance(node, cst.Call):
        return _mentions_batch(node.func)
    text = dotted_name(node) or ""
    return any(word in text.lower() for word in BATCH_WORDS)


def _rows_of_one_batch(node: cst.CSTNode) -> bool:
    """``for row in batch``, ``for text in self.chunk``: a name (not a call) for one batch, whose items are rows;
    ``batches``, ``chunks``, ``batch_iterator(...)`` give batches."""
    if isinstance(node, cst.Call):
        return False
    name = (dotted_name(node) or "").rsplit(".", 1)[-1].lower()
    return name.endswith(("batch", "chunk"))


def _padded_loop_item(site: CallSite, loop: Loop) -> bool:
    """``tokenizer(text, padding=True)`` given the loop variable itself: the tokenizer pads the item, so the item
    is a list of texts (a batch), whatever its name."""
    positional = [arg.value for arg in site.node.args if arg.keyword is None and not arg.star]
    pads = any(arg.keyword is not None and arg.keyword.value == "padding" and not (
        isinstance(arg.value, cst.Name) and arg.value.value == "False") for arg in site.node.args)
    return pads and bool(positional) and isinstance(positional[0], cst.Name) and positional[0].value in loop.targets \
        and _rows_of_one_batch_loop(loop)


def _rows_of_one_batch_loop(loop: Loop) -> bool:
    return any(_rows_of_one_batch(node) and _mentions_batch(node) for node in [loop.iter, *unwrap_iterable(loop.iter)])


def _chunker(node: cst.CSTNode, loop: Loop) -> bool:
    """A call of a function of the module that returns or yields slices of its list argument
    (``return [lst[i:i + n] for i in ...]``, ``yield lst[i:i + n]``): a chunker, whatever its name (``split_list``)."""
    if not isinstance(node, cst.Call) or not isinstance(node.func, cst.Name):
        return False
    binding = loop.scope.lookup(node.func.value, loop.order)
    definition = binding.node if binding is not None and binding.kind == "function" else None
    if not isinstance(definition, cst.FunctionDef):
        return False
    parameters = {param.name.value for param in definition.params.params}
    found = False

    def slice_of_parameter(value: cst.CSTNode | None) -> bool:
        return (isinstance(value, cst.Subscript) and isinstance(value.value, cst.Name)
                and value.value.value in parameters
                and any(isinstance(element.slice, cst.Slice) for element in value.slice))

    class Finder(cst.CSTVisitor):
        def visit_FunctionDef(self, inner: cst.FunctionDef) -> bool:
            return inner is definition

        def visit_Return(self, statement: cst.Return) -> bool:
            nonlocal found
            value = statement.value
            found = found or (isinstance(value, (cst.ListComp, cst.GeneratorExp)) and slice_of_parameter(value.elt))
            return False

        def visit_Yield(self, expression: cst.Yield) -> bool:
            nonlocal found
            found = found or slice_of_parameter(expression.value)
            return False

    definition.visit(Finder())
    return found


def _stepped_range(node: cst.BaseExpression | None) -> bool:
    if not isinstance(node, cst.Call) or last_name(node.func) != "range":
        return False
    positional = [arg for arg in node.args if arg.keyword is None]
    if len(positional) < 3:
        return False
    step = positional[2].value
    return not (isinstance(step, cst.Integer) and step.value == "1")


def _slices_by_loop_index(node: cst.CSTNode, targets: frozenset[str]) -> bool:
    """A slice whose bounds use the loop variable, as in ``texts[i:i + batch_size]``."""
    found = False

    class Finder(cst.CSTVisitor):
        def visit_Slice(self, slice_node: cst.Slice) -> bool:
            nonlocal found
            names: set[str] = set()

            class Names(cst.CSTVisitor):
                def visit_Name(self, name: cst.Name) -> bool:
                    names.add(name.value)
                    return False

            for bound in (slice_node.lower, slice_node.upper):
                if bound is not None:
                    bound.visit(Names())
            found = found or bool(names & targets)
            return False

    node.visit(Finder())
    return found


ONE_TEXT_CALLS = frozenset({"apply_chat_template", "format", "strip", "replace", "join"})


def _one_item_argument(site: CallSite, loop: Loop) -> bool:
    """The tokenizer is given one item although it pads: ``tok([prompt])``, ``tok(prompts[i])``, ``tok(item)``,
    or a text built from one item (a chat template, an f-string)."""
    positional = [arg.value for arg in site.node.args if arg.keyword is None and not arg.star]
    if not positional:
        return False
    first = positional[0]
    if isinstance(first, (cst.List, cst.Tuple)):
        return len(first.elements) == 1
    if isinstance(first, cst.Subscript):
        index = first.slice[0].slice if len(first.slice) == 1 else None
        return isinstance(index, cst.Index) and bool(names_in(index.value) & set(loop.targets))
    if isinstance(first, (cst.FormattedString, cst.SimpleString)):
        return True
    if isinstance(first, cst.Name):
        if first.value in loop.targets:  # ``for prompt in prompts``, not ``for group in groups``
            lowered = first.value.lower()
            return not (lowered.endswith("s") or any(word in lowered for word in (*BATCH_WORDS, "group", "list")))
        binding = site.scope.lookup(first.value, site.order)
        value = binding.value if binding is not None and binding.kind == "assign" else None
        if isinstance(value, (cst.FormattedString, cst.SimpleString)):
            return True
        if isinstance(value, cst.Call) and last_name(value.func) in ONE_TEXT_CALLS:
            tokenize = next((arg.value for arg in value.args if arg.keyword and arg.keyword.value == "tokenize"), None)
            return last_name(value.func) != "apply_chat_template" or (
                isinstance(tokenize, cst.Name) and tokenize.value == "False")
        if isinstance(value, cst.Subscript):
            index = value.slice[0].slice if len(value.slice) == 1 else None
            return isinstance(index, cst.Index) and bool(names_in(index.value) & set(loop.targets))
    return False


def _batched_call(site: CallSite, loop: Loop) -> bool:
    """A call inside the loop that works on a batch: padding=, batch_size>1, a slice by the loop index."""
    for arg in site.node.args:
        if arg.keyword is not None and arg.keyword.value == "padding":
            if not _one_item_argument(site, loop):
                return True
            continue
        if arg.keyword is not None and arg.keyword.value == "batch_size":
            literal = arg.value
            if not (isinstance(literal, cst.Integer) and literal.value == "1"):
                return True
        if loop.targets and _slices_by_loop_index(arg.value, loop.targets):
            return True
    return False


def _loader_for(facts: ModuleFacts, loop: Loop) -> DataLoaderSite | None:
    for node in unwrap_iterable(loop.iter):
        origin = facts.resolver.origin_call(node, loop.scope, loop.order)
        for loader in facts.dataloaders:
            if loader.site.node is origin:
                return loader
    return None


STREAMERS = frozenset({"TextStreamer", "TextIteratorStreamer", "readline"})
# Helpers that read what a person types: get_user_input(), read_input(), get_multi_line_input(), ...; not
# get_inputs(), get_input_embeddings(), get_input_ids(), which build or read model inputs
USER_INPUT = re.compile(r"(?:get|read|ask|prompt|wait|raw)_?\w*input", re.IGNORECASE)


def _interactive(facts: ModuleFacts, loop: Loop) -> bool:
    """A loop that waits for a person: ``input()``, an input helper, stdin, or streaming text back."""
    if any(loop in site.loops for site in facts.input_calls):
        return True
    for site in loop.calls:
        name = last_name(site.node.func) or ""
        if name in STREAMERS or USER_INPUT.fullmatch(name):
            return True
        if any(arg.keyword is not None and arg.keyword.value == "streamer" for arg in site.node.args):
            return True
    return False


def _iterable_origins(facts: ModuleFacts, loop: Loop, depth: int = 4) -> list[cst.Call]:
    """The calls that built what a loop walks, through names and wrappers: ``pbar = range(0, n, bs)``,
    ``pbar = tqdm(pbar)``, ``for j in pbar`` -> the ``tqdm(...)`` and the ``range(...)``."""
    found: list[cst.Call] = []
    pending = [(node, loop.scope, loop.order) for node in unwrap_iterable(loop.iter)]
    for _ in range(depth):
        following = []
        for node, scope, order in pending:
            if not isinstance(node, cst.Name):
                continue
            binding = scope.lookup(node.value, order)
            if binding is None or binding.kind != "assign" or not isinstance(binding.value, cst.Call):
                continue
            found.append(binding.value)
            following += [(inner, binding.scope, binding.order) for inner in unwrap_iterable(binding.value)
                          if inner is not binding.value]
        pending = following
    return found


def _verdict(facts: ModuleFacts, loop: Loop) -> _Verdict:
    if _interactive(facts, loop):
        return _Verdict("interactive")
    loader = _loader_for(facts, loop)
    if loader is not None:
        size = number(loader.batch_size) if loader.batch_size is not None else 1.0
        if size == 1 and not loader.has_sampler:
            return _Verdict("loader_bs1", loader)
        return _Verdict("batched")
    origins = _iterable_origins(facts, loop)
    walked = [loop.iter, *unwrap_iterable(loop.iter)]
    if (
        _stepped_range(loop.iter)
        or any(_stepped_range(origin) or _mentions_batch(origin) for origin in origins)
        or any(_mentions_batch(node) and not _rows_of_one_batch(node) for node in walked)
        or any(_chunker(node, loop) for node in [*walked, *origins])
        or any(any(word in name.lower() for word in BATCH_WORDS) for name in loop.targets)
        or any(_padded_loop_item(site, loop) for site in loop.calls)
    ):
        return _Verdict("batched")
    if any(_batched_call(site, loop) for site in loop.calls):
        return _Verdict("batched")
    return _Verdict("per_item")


def _callee(generation: GenerationCall) -> str:
    if generation.kind == "callable":
        return f"{code_of(generation.site.node.func)}()"
    return callee_text(generation.site.node, "generate" if generation.kind == "generate" else "pipeline")


ASSISTED = ("assistant_model", "prompt_lookup_num_tokens", "assistant_early_exit")


@dataclass
class _Candidate:
    """A call in a loop that may generate once per item: a generation itself or a per-item helper."""

    site: CallSite
    inputs: list[cst.BaseExpression]
    callee: str
    kind: str
    generation: GenerationCall | None = None  # None for a helper


def _candidates(facts: ModuleFacts) -> Iterator[_Candidate]:
    for generation in facts.generations:
        if any(generation.entries.get(name) for name in ASSISTED):
            continue  # assisted / speculative decoding runs at batch size 1 only
        if generation.kind in ("vllm", "mistral") and not _one_prompt(generation):
            continue  # vLLM and mistral_inference batch the prompts of one call
        yield _Candidate(generation.site, generation.inputs(), _callee(generation), generation.kind, generation)
    for helper in facts.helper_calls:
        callee = f"{helper.chain[0]} (via {' -> '.join(helper.chain)})"
        yield _Candidate(helper.site, helper.arguments, callee, "helper")


def _one_prompt(generation: GenerationCall) -> bool:
    """``llm.generate([prompt], params)`` or ``llm.generate(prompt, params)``: one item per call."""
    inputs = generation.inputs()
    if not inputs:
        return False
    first = inputs[0]
    if last_name(generation.site.node.func) == "chat":  # LLM.chat(messages): one conversation, or a list of them
        return _one_conversation(generation, first)
    if isinstance(first, (cst.List, cst.Tuple)):
        return len(first.elements) == 1 and not isinstance(first.elements[0], cst.StarredElement)
    if isinstance(first, (cst.SimpleString, cst.FormattedString)):
        return True
    if isinstance(first, cst.Subscript):  # prompts[i] is one prompt; dataset["input_ids"] is a column
        index = first.slice[0].slice if first.slice else None
        return not (isinstance(index, cst.Index) and isinstance(index.value, cst.SimpleString))
    name = (dotted_name(first) or "").rsplit(".", 1)[-1].lower()
    return bool(name) and not name.endswith("s") and not any(word in name for word in ("batch", "list", "chunk"))


CONVERSATION_LISTS = ("conversations", "chats", "dialogs", "batch", "list")


def _one_conversation(generation: GenerationCall, first: cst.BaseExpression) -> bool:
    """``llm.chat([{"role": ...}, ...])`` or ``llm.chat(messages)``: one conversation (a list of messages)."""
    if isinstance(first, cst.List):
        return bool(first.elements) and all(isinstance(element.value, cst.Dict) for element in first.elements)
    name = (dotted_name(first) or "").rsplit(".", 1)[-1].lower()
    if isinstance(first, cst.Name):
        binding = generation.site.scope.lookup(first.value, generation.site.order)
        value = binding.value if binding is not None and binding.kind == "assign" else None
        if isinstance(value, cst.List):
            return _one_conversation(generation, value)
    return bool(name) and not any(word in name for word in CONVERSATION_LISTS)


def _feeds(loop: Loop, inputs: list[cst.BaseExpression]) -> bool:
    """Whether the loop hands the call a new item each time (not a repeat of one batch, not a sweep)."""
    if loop.kind == "while":
        return True
    carried = derived_names(loop.node, set(loop.targets))
    return any(names_in(expression) & carried for expression in inputs)


def _sequential(loop: Loop, site: CallSite, inputs: list[cst.BaseExpression]) -> bool:
    """Each call needs the previous call's output (multi-turn chat, iterative refinement): no batching."""
    previous = carried_from_result(loop.node, site.node, loop.targets)
    return any(names_in(expression) & previous for expression in inputs)


def _independent_outer_loop(facts: ModuleFacts, candidate: _Candidate, candidates: list[_Candidate]) -> Loop | None:
    """MT-bench's questions x turns: the innermost loop is a conversation (each turn reads the previous
    answer), but the nearest enclosing loop that feeds the call starts a fresh conversation for each of
    its items, which are then independent; None when that loop carries an answer of the conversation
    (of this call or of another call of the innermost loop) on to its next item (a history kept across
    questions), or trains the model between items."""
    site, inputs = candidate.site, candidate.inputs
    turns = [other.site.node for other in candidates if other.site.loops and other.site.loops[-1] is site.loops[-1]]
    if facts.is_training(site.unit):
        return None
    loops = site.loops
    for depth in range(len(loops) - 2, -1, -1):
        outer = loops[depth]
        if not _feeds(outer, inputs):
            continue  # a repeat of the same item (sampled choices), or a sweep over settings
        fresh = _fresh_each_iteration(loops[depth:], turns)
        carried = set().union(*(carried_from_result(outer.node, turn, outer.targets | fresh) for turn in turns))
        if any(names_in(expression) & carried for expression in inputs):
            return None
        return outer
    return None


def _fresh_each_iteration(loops: tuple[Loop, ...], turns: list[cst.Call]) -> frozenset[str]:
    """Names that every iteration of ``loops[0]`` (or of a loop between it and the innermost one) binds anew,
    before the loop inside runs, from values that the generations' results do not reach:
    ``conv = new_conversation()``, ``history = []``."""
    produced = set().union(*(carried_from_result(loops[0].node, turn, loops[0].targets) for turn in turns))
    fresh: set[str] = set()
    for loop, inner in zip(loops, loops[1:]):
        block = getattr(loop.node, "body", None)
        for statement in block.body if isinstance(block, cst.IndentedBlock) else ():
            if _encloses(statement, inner.node):
                break
            if not isinstance(statement, cst.SimpleStatementLine):
                continue  # a binding under a condition may not happen in every iteration
            for small in statement.body:
                if isinstance(small, (cst.Assign, cst.AnnAssign)) and small.value is not None:
                    targets = {target.target.value for target in small.targets if isinstance(target.target, cst.Name)
                               } if isinstance(small, cst.Assign) else (
                        {small.target.value} if isinstance(small.target, cst.Name) else set())
                    if not names_in(small.value) & (produced | targets):
                        fresh |= targets
    return frozenset(fresh)


def _encloses(root: cst.CSTNode, wanted: cst.CSTNode) -> bool:
    pending = [root]
    while pending:
        node = pending.pop()
        if node is wanted:
            return True
        pending.extend(node.children)
    return False


def _reads_a_sequential_result(loop: Loop, candidate: _Candidate, candidates: list[_Candidate]) -> bool:
    """The call is given what a sequential call of the same loop (a conversation turn) returned."""
    for other in candidates:
        if other is candidate or not other.site.loops or other.site.loops[-1] is not loop:
            continue
        if not _sequential(loop, other.site, other.inputs):
            continue
        produced = carried_from_result(loop.node, other.site.node, loop.targets)
        if any(names_in(expression) & produced for expression in candidate.inputs):
            return True
    return False


MODEL_NAME = re.compile(r"(?:^|_)(?:model|llm)$")  # model, edited_model, llm; not model_inputs or model_name


def _model_per_item(loop: Loop, candidate: _Candidate) -> bool:
    """Each item runs its own model (``edited = apply_edit(model, [request])``, ``model = load(item.path)``):
    the receiver of the generation, or a helper's argument named like a model, is built from the item, so
    the items cannot share a batch."""
    carried = derived_names(loop.node, set(loop.targets))
    call = candidate.site.node
    if candidate.generation is not None:
        owners = [call.func.value] if isinstance(call.func, cst.Attribute) else []
    else:
        owners = [arg.value for arg in call.args if MODEL_NAME.search((dotted_name(arg.value) or "").lower())]
    return any(isinstance(owner, cst.Name) and owner.value in carried for owner in owners)


WEIGHT_UPDATES = frozenset({"backward", "zero_grad"})
STEPPERS = ("optim", "trainer", "ppo", "opt", "grpo", "dpo")


def _updates_weights(loop: Loop) -> bool:
    """A training loop: its body updates the weights (``loss.backward()``, ``optimizer.step()``,
    ``ppo_trainer.step(...)``), so each generation runs the model the previous step changed; the items of a
    PPO rollout depend on each other and cannot share a batch."""
    for site in loop.calls:
        func = site.node.func
        name = last_name(func)
        if name in WEIGHT_UPDATES:
            return True
        if name == "step" and isinstance(func, cst.Attribute):
            owner = (last_name(func.value) or "").lower()
            if owner.startswith(STEPPERS) or owner.endswith(STEPPERS) or "trainer" in owner:
                return True
    return False


def _in_async_function(site: CallSite) -> bool:
    """Awaited or collected generation: an async engine batches concurrent requests itself."""
    return site.function is not None and site.function.is_async


def _blocking_helper(candidate: _Candidate) -> bool:
    """A synchronous helper called without ``await`` from an ``async def``: it runs its generation there,
    one item at a time, with no engine to gather the requests."""
    return candidate.kind == "helper" and not _awaited(candidate.site)


def _awaited(site: CallSite) -> bool:
    found = False

    class Awaits(cst.CSTVisitor):
        def visit_Await(self, node: cst.Await) -> bool:
            nonlocal found
            found = found or node.expression is site.node
            return not found

    walk(site.loops[-1].node, Awaits())
    return found


def _pipeline_batch_one(facts: ModuleFacts) -> Iterator[tuple[cst.CSTNode, str, CallSite, str, object | None]]:
    for creation in facts.pipelines:
        entry = creation.entries.get("batch_size")
        if entry is not None and number(entry.value) == 1:
            yield entry.key_node, "pipeline(..., batch_size=1)", creation.site, "", entry
        elif entry is not None and parameter_default(facts, entry.value, creation.site) == 1:
            name = code_of(entry.value.node)
            yield (entry.key_node, f"pipeline(..., batch_size={name})", creation.site, f" (the default of {name})",
                   entry)
    for generation in facts.generations:
        if generation.kind != "pipeline":
            continue
        entry = generation.entries.get("batch_size")
        if entry is not None and number(entry.value) == 1:
            yield entry.key_node, f"{_callee(generation)} with batch_size=1", generation.site, "", entry
        elif entry is not None and parameter_default(facts, entry.value, generation.site) == 1:
            name = code_of(entry.value.node)
            yield (entry.key_node, f"{_callee(generation)} with batch_size={name}", generation.site,
                   f" (the default of {name})", entry)
        elif entry is None and not _settings_splat(generation) and not _created_with_batch_size(
            facts, generation) and (
            many := collection_argument(facts, generation)
        ):
            yield (generation.site.node, f"{_callee(generation)} on {many} without batch_size", generation.site,
                   " (the pipeline's default)", None)


def _settings_splat(generation: GenerationCall) -> bool:
    """``**kwargs`` that may carry ``batch_size``; a dict named for generation settings does not."""
    if not generation.entries.unknown_splat:
        return False
    splats = [arg.value for arg in generation.site.node.args if arg.star == "**"]
    return not splats or not all("gen" in (dotted_name(splat) or "").lower() for splat in splats)


def _created_with_batch_size(facts: ModuleFacts, generation: GenerationCall) -> bool:
    for creation in facts.pipelines:
        if creation.site.node is generation.created_by:
            return creation.entries.get("batch_size") is not None or creation.entries.unknown_splat
    return generation.created_by is not None and any(
        arg.keyword is not None and arg.keyword.value == "batch_size" for arg in generation.created_by.args
    )


@dataclass(eq=False)
class PerItemGeneration:
    """A generation call (or a per-item helper) that a loop runs once for every item: LLM201."""

    site: CallSite
    callee: str  # "model.generate", "generator (via answer -> generate)"
    loop_kind: str  # "for loop", "while loop", "comprehension"
    # for the fix: the call's kind ("pipeline", "vllm", "generate", ..., "helper"), the generation (None
    # for a helper), the innermost loop, and the module's facts
    kind: str = ""
    generation: GenerationCall | None = None
    loop: Loop | None = None
    facts: ModuleFacts | None = None
    # the inner loop whose iterations depend on each other (the turns of a conversation) when ``loop`` is an
    # enclosing loop whose items do not
    carried_by: Loop | None = None


@dataclass(eq=False)
class BatchOfOne:
    """A batch size of one where generation could batch: LLM202."""

    node: cst.CSTNode  # the ``batch_size`` keyword, or the call that leaves it at its default
    where: str  # "pipeline(..., batch_size=1)", "DataLoader feeding generation"
    defaulted: str  # " (the default of batch_size)", "" when written at the call
    site: CallSite
    loader: DataLoaderSite | None = None
    entry: object | None = None  # the batch_size Entry (None when it is left at its default), for the fix
    facts: ModuleFacts | None = None


@dataclass
class Batching:
    per_item: list[PerItemGeneration]
    batch_one: list[BatchOfOne]


def batching(facts: ModuleFacts) -> Batching:
    """The per-item generation loops and the batch sizes of one of a module."""
    per_item: list[PerItemGeneration] = []
    batch_one: list[BatchOfOne] = []
    reported_loops: set[int] = set()
    for node, where, site, defaulted, entry in _pipeline_batch_one(facts):
        batch_one.append(BatchOfOne(node, where, defaulted, site, entry=entry, facts=facts))
        reported_loops.update(id(loop) for loop in site.loops)
    candidates = list(_candidates(facts))
    for candidate in candidates:
        site = candidate.site
        loops = site.loops
        if not loops or _implements_generation(site) or (_in_async_function(site) and not _blocking_helper(candidate)):
            continue
        verdicts = [_verdict(facts, loop) for loop in loops]
        innermost = loops[-1]
        if id(innermost) in reported_loops:
            continue
        loader_verdicts = [verdict for verdict in verdicts if verdict.kind == "loader_bs1"]
        if loader_verdicts:
            loader = loader_verdicts[-1].loader
            node = loader.batch_size_entry.key_node if loader.batch_size_entry else loader.site.node
            defaulted = "" if loader.batch_size_entry else " (DataLoader's default batch size)"
            batch_one.append(BatchOfOne(node, "DataLoader feeding generation", defaulted, site, loader,
                                        loader.batch_size_entry, facts))
            reported_loops.update(id(loop) for loop in loops)
            continue
        if any(verdict.kind in ("batched", "interactive") for verdict in verdicts):
            continue
        if candidate.kind in ("pipeline", "callable") and _pipeline_given_list(site):
            continue
        if not any(_feeds(loop, candidate.inputs) for loop in loops):
            continue
        reported, carried_by = innermost, None
        if _sequential(innermost, site, candidate.inputs):
            reported, carried_by = _independent_outer_loop(facts, candidate, candidates), innermost
            if reported is None or id(reported) in reported_loops:
                continue
        elif _reads_a_sequential_result(innermost, candidate, candidates):
            continue  # judges or post-processes each turn of a multi-turn loop: it waits for that turn
        if _model_per_item(reported, candidate) or _updates_weights(reported):
            continue
        reported_loops.update({id(innermost), id(reported)})
        per_item.append(PerItemGeneration(site, candidate.callee, LOOP_WORDS[reported.kind], candidate.kind,
                                          candidate.generation, reported, facts, carried_by))
    for passed in facts.passed_generations:  # the loop is in the project function the generator is handed to
        callee, loop = describe(passed)
        per_item.append(PerItemGeneration(passed.site, callee, loop, "passed", facts=facts))
    return Batching(per_item, _unique(batch_one))


def _unique(found: list[BatchOfOne]) -> list[BatchOfOne]:
    seen: set[int] = set()
    unique = []
    for batch in found:
        if id(batch.node) not in seen:
            seen.add(id(batch.node))
            unique.append(batch)
    return unique


def _implements_generation(site: CallSite) -> bool:
    """A ``generate`` method that calls another model's ``generate`` step by step (decoding itself); a
    module-level ``def generate(model, dataset, ...)`` that walks a data set is a caller, not an implementation."""
    function = site.function
    if function is not None and function.owner is not None and function.name in GENERATION_IMPLEMENTATIONS:
        return True
    owner = site.node.func
    return (
        isinstance(owner, cst.Attribute)
        and isinstance(owner.value, cst.Call)
        and isinstance(owner.value.func, cst.Name)
        and owner.value.func.value == "super"
    )


def _pipeline_given_list(site: CallSite) -> bool:
    positional = [arg for arg in site.node.args if arg.keyword is None and not arg.star]
    return bool(positional) and isinstance(positional[0].value, (cst.List, cst.ListComp))
