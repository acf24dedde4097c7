"""The batching fixes of LLM201 and LLM202 for transformers pipelines and vLLM.

* A text-generation pipeline called once per item: one call on the list with ``batch_size=N``;
  ``pipe(list)`` returns one result per item, each what ``pipe(item)`` returned, so the code that
  reads a result keeps working. The pipeline's tokenizer gets a pad token (its end-of-sequence
  token) when it has none, and left padding, which a decoder-only model needs in a batch.
* vLLM's ``llm.generate(prompt, params)`` / ``llm.chat(messages, params)`` once per item: one call
  on the list; vLLM returns the outputs in the order of the prompts, one ``RequestOutput`` each,
  so ``llm.generate([p], params)[0]`` becomes the item's output.
* ``batch_size=1`` written at a pipeline's creation or call (not in a loop) becomes N, and a pipeline
  called on a list without ``batch_size`` gets ``batch_size=N``.

N is ``fix_batch_size`` (the ``fix-batch-size`` setting, capped by the GPU's memory). With a fixed
random seed and sampling not provably off, batching changes which random numbers each item draws,
so no fix is offered.
"""

from __future__ import annotations

import libcst as cst

from ecolint.analysis.sampling import greedy_pipeline, greedy_vllm, keyword, seeds_randomness
from ecolint.analysis.scopes import dotted_name
from ecolint.analysis.values import last_name
from ecolint.fixes.batch_calls import PerItemCall, call_with, collect, statement_start
from ecolint.fixes.batch_size import fix_batch_size
from ecolint.fixes.context import FixContext, NoFix, Proposal
from ecolint.fixes.edits import Edit
from ecolint.fixes.layout import Sequence

SEEDED = "sampling with a fixed seed: in a batch each item draws other random numbers, so the results would change"
GENERATION_TASKS = frozenset({"text-generation"})


# -- shared --------------------------------------------------------------------------------
def batch_size_for(ctx: FixContext, facts, creation: cst.Call | None) -> int:
    """N for the model a pipeline or vLLM engine was created with; ``NoFix`` when it is 1."""
    size = fix_batch_size(ctx, _load_of(facts, creation))
    if size < 2:
        raise NoFix("the model leaves no memory for a larger batch on this GPU")
    return size


def _load_of(facts, creation: cst.Call | None):
    """The model load behind a pipeline or engine: the creation itself, or the model it is given."""
    if creation is None:
        return None
    for load in facts.model_loads:
        if load.site.node is creation:
            return load
    model = next((arg.value for arg in creation.args if arg.keyword is not None and arg.keyword.value == "model"),
                 None)
    if isinstance(model, cst.Name):
        for load in facts.model_loads:
            binding = load.site.scope.lookup(model.value, load.site.order + 1)
            if binding is not None and binding.kind == "assign" and binding.value is load.site.node:
                return load
    return None


def _require_unseeded_or_greedy(ctx: FixContext, greedy: bool) -> None:
    if not greedy and seeds_randomness(ctx.module):
        raise NoFix(SEEDED)


def _statement_of(ctx: FixContext, node: cst.CSTNode) -> cst.CSTNode:
    """The statement (small or compound) that holds ``node`` and starts its own line."""
    current: cst.CSTNode | None = node
    while current is not None:
        parent = ctx.parent(current)
        if isinstance(current, cst.BaseCompoundStatement) or (
                isinstance(current, cst.SimpleStatementLine)):
            if isinstance(parent, (cst.IndentedBlock, cst.Module)):
                return current
        current = parent
    raise NoFix("the statement around the loop cannot be found")


def _lines_at(ctx: FixContext, statement: cst.CSTNode, lines: list[str], after: bool = False) -> Edit:
    """Lines inserted before (or after) a statement that has its line(s) to itself, at its indentation."""
    start = statement_start(ctx, statement)
    if not ctx.starts_line(start):
        raise NoFix("the statement does not start its own line")
    indent = ctx.indentation(start)
    unit = ctx.indent_unit or "    "
    text = "".join(f"{indent}{line.replace('{indent}', unit)}{ctx.newline}" for line in lines)
    if after:
        if not isinstance(statement, cst.SimpleStatementLine):
            raise NoFix("lines go after a simple statement only")
        end = ctx.span(statement.body[-1])[1]
        rest = ctx.source[end:ctx.line_end(end)].strip()
        if rest and not rest.startswith("#"):
            raise NoFix("the statement does not end its line")
        position = ctx.after_line(end)
        if position == len(ctx.source) and not ctx.source.endswith(("\n", "\r")):
            text = ctx.newline + text
        return Edit(position, position, text)
    line_start = ctx.line_start(start)
    return Edit(line_start, line_start, text)


def padding_lines(pipe: str) -> list[str]:
    """What a text-generation pipeline's tokenizer needs to batch: a pad token, left padding."""
    return [
        f"if {pipe}.tokenizer.pad_token is None:  # batching pads the prompts",
        f"{{indent}}{pipe}.tokenizer.pad_token = {pipe}.tokenizer.eos_token",
        f'{pipe}.tokenizer.padding_side = "left"  # a decoder-only model continues the prompt at its end',
    ]


def require_new_tokens(ctx: FixContext, call: cst.Call, creation: cst.Call | None) -> None:
    """A decoder-only batch is left-padded, and ``max_length`` counts the padding: a short prompt would get
    fewer new tokens than alone. The length must be ``max_new_tokens``, written at the call or creation
    (a checkpoint's or transformers' default may be a ``max_length``)."""
    given: set[str] = set()
    for owner in (call, creation):
        if owner is None:
            continue
        for arg in owner.args:
            if arg.keyword is not None:
                given.add(arg.keyword.value)
            elif arg.star == "**":
                keys = ctx.splat_keys(arg.value)
                if keys is None:
                    raise NoFix("a **splat may set max_length, which counts the padding of a batch")
                given |= keys
    if "max_length" in given:
        raise NoFix("max_length counts the padding of a batch: shorter prompts would get fewer new tokens "
                    "(max_new_tokens does not)")
    if "max_new_tokens" not in given:
        raise NoFix("the number of new tokens is not written (max_new_tokens): a default max_length would "
                    "count the padding of a batch")


# -- pipelines -----------------------------------------------------------------------------
def pipeline_task(creation: cst.Call | None) -> str | None:
    """The task a ``pipeline(...)`` or ``TextGenerationPipeline(...)`` call was made for."""
    if creation is None:
        return None
    name = last_name(creation.func) or ""
    if name.endswith("Pipeline"):  # a pipeline class: TextGenerationPipeline(model=..., tokenizer=...)
        return "text-generation" if name == "TextGenerationPipeline" else None
    task = keyword(creation, "task")
    if task is None:  # pipeline("text-generation", ...), under any alias
        positional = [arg.value for arg in creation.args if arg.keyword is None and not arg.star]
        task = positional[0] if positional else None
    if isinstance(task, cst.SimpleString) and isinstance(task.evaluated_value, str):
        return task.evaluated_value
    return None


def pipeline_per_item(ctx: FixContext, subject) -> Proposal:
    """LLM201: a text-generation pipeline called once per item becomes one call on the list."""
    generation = subject.generation
    call = generation.site.node
    creation = generation.created_by
    task = pipeline_task(creation)
    if task not in GENERATION_TASKS:
        raise NoFix(f"only text-generation pipelines are batched (this one: {task or 'unknown task'})")
    positional = [arg for arg in call.args if arg.keyword is None and arg.star != "**"]
    if len(positional) != 1 or positional[0].star:
        raise NoFix("the pipeline is not given one item as its only positional argument")
    if any(arg.keyword is not None and arg.keyword.value == "batch_size" for arg in call.args):
        raise NoFix("the call already sets batch_size")
    ctx.require_absent(call, ("batch_size",))
    _require_unseeded_or_greedy(ctx, greedy_pipeline(call, creation))
    require_new_tokens(ctx, call, creation)
    size = batch_size_for(ctx, subject.facts, creation)
    added = None if keyword(creation, "batch_size") is not None else f"batch_size={size}"
    argument = positional[0]
    _require_one_item(argument.value)
    per_item = PerItemCall(call, subject.loop, argument, argument.value,
                           lambda items: call_with(ctx, call, argument, items, added), result_hint="output")
    edits = collect(ctx, per_item)
    edits += padding_edits(ctx, ctx.source[slice(*ctx.span(call.func))], creation,
                           _statement_of(ctx, subject.loop.node))
    return Proposal(edits, message=f"Call the pipeline once on the list of items (batch_size={size})"
                    if added else "Call the pipeline once on the list of items")


ONE_CONVERSATION = ("message", "conversation", "chat", "dialog", "history", "turns")
SEVERAL = ("batch", "group", "chunk", "list")


def _require_one_item(item: cst.BaseExpression) -> None:
    """The call is given one prompt (or one conversation), not a list of them under a plural name."""
    name = (dotted_name(item) or "").rsplit(".", 1)[-1].lower()
    chat = isinstance(item, cst.List) and all(isinstance(element.value, cst.Dict) for element in item.elements)
    if isinstance(item, (cst.List, cst.ListComp)) and not chat:
        raise NoFix("the pipeline is given a list: it may be several prompts already")
    if any(word in name for word in SEVERAL) or (
            name.endswith("s") and not any(word in name for word in ONE_CONVERSATION)):
        raise NoFix(f"{name} may hold several prompts: a list of them would change what the pipeline is given")


# -- vLLM ------------------------------------------------------------------------------------
def vllm_per_item(ctx: FixContext, subject) -> Proposal:
    """LLM201: ``llm.generate(p, params)`` / ``llm.chat(messages, params)`` per item -> one call."""
    call = subject.generation.site.node
    method = last_name(call.func)
    if method not in ("generate", "chat"):
        raise NoFix(f"vLLM's {method}() is not batched by this fix")
    positional = [arg for arg in call.args if arg.keyword is None]
    if not positional or positional[0].star or any(arg.star for arg in call.args):
        raise NoFix("the prompt is not the first positional argument")
    argument = positional[0]
    value = argument.value
    if method == "generate" and isinstance(value, cst.List):
        if len(value.elements) != 1 or isinstance(value.elements[0], cst.StarredElement):
            raise NoFix("the call is given several prompts")
        item = value.elements[0].value
    elif method == "chat" and isinstance(value, cst.List) and not all(
            isinstance(element.value, cst.Dict) for element in value.elements):
        raise NoFix("the call is not given one conversation")
    else:
        item = value
    site = subject.generation.site
    _require_unseeded_or_greedy(ctx, greedy_vllm(call, site.scope, site.order))
    per_item = PerItemCall(call, subject.loop, argument, item, lambda items: call_with(ctx, call, argument, items),
                           wrapped=True, result_hint="output")
    return Proposal(collect(ctx, per_item), message=f"Call llm.{method}() once on the list of prompts")


# -- LLM202 ------------------------------------------------------------------------------------
def larger_batch_size(ctx: FixContext, subject) -> Proposal:
    """LLM202: ``batch_size=1`` written at a pipeline's creation or call becomes N; a pipeline called on a
    list without ``batch_size`` gets it."""
    if subject.loader is not None:
        raise NoFix("a DataLoader's batches are read by the loop as one item each: its code must change too")
    call = subject.site.node
    if subject.site.loops:
        raise NoFix("the pipeline is called in a loop: the loop is what needs batching")
    creation = _creation_of(subject, call)
    _require_unseeded_or_greedy(ctx, greedy_pipeline(call, creation))
    size = batch_size_for(ctx, subject.facts, creation)
    padding = []
    if pipeline_task(creation) in GENERATION_TASKS:
        require_new_tokens(ctx, call, creation)
        pipe = None if call is creation else ctx.source[slice(*ctx.span(call.func))]
        padding = padding_edits(ctx, pipe, creation, _statement_of(ctx, call))
    entry = subject.entry
    if entry is None:
        ctx.require_absent(call, ("batch_size",))
        return Proposal([*Sequence(ctx, list(call.args)).append(f"batch_size={size}"), *padding],
                        message=f"Pass batch_size={size} to the pipeline")
    value = next((arg.value for arg in call.args if arg.keyword is not None and arg.keyword.value == "batch_size"),
                 None)
    if not (isinstance(value, cst.Integer) and value.value == "1"):
        raise NoFix("batch_size=1 is not written at the call (a variable or a default holds it)")
    return Proposal([Edit(*ctx.span(value), str(size)), *padding], message=f"Use batch_size={size}")


def padding_edits(ctx: FixContext, pipe: str | None, creation: cst.Call | None,
                  fallback: cst.CSTNode) -> list[Edit]:
    """The padding lines, once: right after ``pipe = pipeline(...)`` when the pipeline is kept under the
    name it is called by (every fix of that pipeline then makes the same edit, and none once they are
    there), else before the statement that batches. ``pipe`` None: the finding is the creation itself."""
    statement = _statement_of(ctx, creation) if creation is not None else None
    line = statement.body[0] if isinstance(statement, cst.SimpleStatementLine) and len(statement.body) == 1 else None
    kept = (isinstance(line, cst.Assign) and len(line.targets) == 1 and line.value is creation
            and isinstance(line.targets[0].target, (cst.Name, cst.Attribute)))
    name = ctx.source[slice(*ctx.span(line.targets[0].target))] if kept else None
    if kept and (pipe is None or pipe == name):
        lines = padding_lines(name)
        after = ctx.after_line(ctx.span(line)[1])
        following = ctx.source[after:].splitlines()[:len(lines)]
        if len(following) == len(lines) and following[-1].strip() == lines[-1]:
            return []  # already there
        return [_lines_at(ctx, statement, lines, after=True)]
    if pipe is None:
        raise NoFix("the pipeline is not kept in a variable: its tokenizer cannot be reached")
    return [_lines_at(ctx, fallback, padding_lines(pipe))]


def _creation_of(subject, call: cst.Call) -> cst.Call | None:
    for generation in subject.facts.generations:
        if generation.site.node is call:
            return generation.created_by
    return call  # the finding is at the pipeline's creation
