"""LLM206 regenerated-per-sample: one prompt generated again on every pass of a ``range`` loop, the results
kept as samples, instead of one call that returns N sequences."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from ecolint.analysis.collector import Loop
from ecolint.analysis.dataflow import carried_from_result, derived_names, names_in, unwrap_iterable
from ecolint.analysis.facts import GenerationCall
from ecolint.analysis.scopes import code_of
from ecolint.analysis.values import last_name
from ecolint.analysis.walk import walk
from ecolint.checks import CheckContext, check
from ecolint.diagnostics import Finding

COLLECTING = frozenset({"append", "extend", "add"})


def _range_loop(loop: Loop) -> str | None:
    """``for _ in range(n)`` (through ``tqdm``/``trange``): the count as written."""
    for node in [loop.iter, *unwrap_iterable(loop.iter)]:
        if isinstance(node, cst.Call) and last_name(node.func) in ("range", "trange"):
            given = [arg.value for arg in node.args if arg.keyword is None]
            if len(given) == 1:
                return code_of(given[0])
    return None


def _collected(loop: Loop, generation: GenerationCall) -> bool:
    """The results are kept: the call is a comprehension's element, or its result goes into ``list.append``."""
    if loop.kind == "comprehension":
        return True
    produced = carried_from_result(loop.node, generation.site.node)
    found = False

    class Appends(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            nonlocal found
            if isinstance(node.func, cst.Attribute) and node.func.attr.value in COLLECTING:
                arguments = [arg.value for arg in node.args]
                found = found or any(names_in(value) & produced for value in arguments) or any(
                    generation.site.node in _calls_in(value) for value in arguments)

    loop.node.visit(Appends())
    return found


def _calls_in(node: cst.CSTNode) -> list[cst.Call]:
    calls: list[cst.Call] = []

    class Calls(cst.CSTVisitor):
        def visit_Call(self, call: cst.Call) -> None:
            calls.append(call)

    node.visit(Calls())
    return calls


TIMERS = frozenset({"perf_counter", "perf_counter_ns", "time", "monotonic", "process_time", "timeit"})


def _timed(loop: Loop) -> bool:
    return any(last_name(site.node.func) in TIMERS for site in loop.calls)


def _uses_target(loop: Loop, inputs: list[cst.BaseExpression]) -> bool:
    """The loop variable is read in the loop (not ``_``, not an unused counter), other than to act every N
    passes (``if (i + 1) % save_every == 0: save(results)``) without changing what is generated."""
    body = loop.node.body if isinstance(loop.node, cst.For) else getattr(loop.node, "elt", None)
    if body is None:
        return False
    targets, read = set(loop.targets), set().union(*(names_in(expression) for expression in inputs))
    found = False

    class Reads(cst.CSTVisitor):
        def visit_If(self, node: cst.If) -> bool:
            return not (_periodic(node.test, targets) and not _assigned_names(node) & read)

        def visit_Name(self, node: cst.Name) -> None:
            nonlocal found
            found = found or node.value in targets

    body.visit(Reads())
    return found


def _periodic(test: cst.BaseExpression, targets: set[str]) -> bool:
    """A test of the loop variable modulo something: ``i % n == 0``, ``(idx + 1) % every == 0``."""
    found = False

    class Modulo(cst.CSTVisitor):
        def visit_BinaryOperation(self, node: cst.BinaryOperation) -> None:
            nonlocal found
            found = found or (isinstance(node.operator, cst.Modulo) and bool(names_in(node.left) & targets))

    walk(test, Modulo())
    return found


def _assigned_names(node: cst.CSTNode) -> set[str]:
    found: set[str] = set()

    class Targets(cst.CSTVisitor):
        def visit_AssignTarget(self, target: cst.AssignTarget) -> None:
            found.update(names_in(target.target))

        def visit_AugAssign(self, target: cst.AugAssign) -> None:
            found.update(names_in(target.target))

        def visit_AnnAssign(self, target: cst.AnnAssign) -> None:
            found.update(names_in(target.target))

    walk(node, Targets())
    return found


@check("LLM206")
def regenerated_per_sample(ctx: CheckContext) -> Iterator[Finding]:
    for generation in ctx.facts.generations:
        if not generation.site.loops or ctx.facts.is_training(generation.site.unit):
            continue
        loop = generation.site.loops[-1]
        count = _range_loop(loop)
        inputs = generation.inputs()
        if count is None or not inputs or loop.kind == "while":
            continue
        if any(names_in(expression) & derived_names(loop.node, set(loop.targets)) for expression in inputs):
            continue  # each pass has its own input
        if any(names_in(expression) & carried_from_result(loop.node, generation.site.node) for expression in inputs):
            continue  # each pass continues from the last one
        if not _collected(loop, generation) or _timed(loop):
            continue  # a timing or warm-up loop: the results are not kept, or the loop measures time
        if _uses_target(loop, inputs):
            continue  # ``for j in range(len(turns))``: an index, the passes differ in a way not followed here
        keyword = "n" if generation.kind == "vllm" else "num_return_sequences"
        yield Finding("LLM206", generation.site.node,
                      {"callee": f"{code_of(generation.site.node.func)}()", "count": count, "keyword": keyword},
                      generation)
