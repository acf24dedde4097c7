"""LLM207 model-loaded-twice: the same checkpoint loaded a second time in one process with the same settings."""

from __future__ import annotations

from collections.abc import Iterator

from ecolint.analysis.branches import branch_paths, may_both_run
from ecolint.analysis.facts import ModelLoad
from ecolint.analysis.models import inference_loads, model_text
from ecolint.analysis.scopes import code_of
from ecolint.checks import CheckContext, check
from ecolint.diagnostics import Finding


def _settings(load: ModelLoad) -> tuple[str, ...]:
    """The load's arguments other than the model id, as written (a different dtype or quantization is another
    model in memory, not a copy)."""
    call = load.site.node
    positional = 1 if load.via_pipeline else 0
    written = []
    for number, arg in enumerate(call.args):
        if arg.keyword is None and not arg.star and number <= positional:
            continue  # the task and the model id
        if arg.keyword is not None and arg.keyword.value in ("model", "pretrained_model_name_or_path", "task"):
            continue
        written.append(code_of(arg.value) if arg.keyword is None else f"{arg.keyword.value}={code_of(arg.value)}")
    return tuple(sorted(written))


def _same_settings(first: ModelLoad, second: ModelLoad) -> bool:
    """The same arguments; for a pipeline and a ``from_pretrained``, the same dtype and no quantization."""
    if first.via_pipeline == second.via_pipeline:
        return _settings(first) == _settings(second)
    dtypes = [code_of(load.dtype.value.node) if load.dtype is not None and load.dtype.value.node is not None
              else None for load in (first, second)]
    return dtypes[0] == dtypes[1] and first.quant is None and second.quant is None


def _in_a_loop_or_per_call(load: ModelLoad) -> bool:
    return bool(load.site.loops)  # loaded per item: LLM203's finding


@check("LLM207")
def model_loaded_twice(ctx: CheckContext) -> Iterator[Finding]:
    if ctx.facts.module is None:
        return
    paths = None
    seen: list[ModelLoad] = []
    for load in inference_loads(ctx.facts):
        model = model_text(load)
        if not model or load.engine != "transformers" or _in_a_loop_or_per_call(load):
            continue
        for first in seen:
            if model_text(first) != model or first.site.scope is not load.site.scope:
                continue  # another model, or loads in different functions (each may run alone)
            if not _same_settings(first, load):
                continue
            if paths is None:
                paths = branch_paths(ctx.facts.module)
            if not may_both_run(paths.get(id(first.site.node), ()), paths.get(id(load.site.node), ())):
                continue  # alternatives: if/else, try/except
            yield Finding("LLM207", load.site.node, {"model": model, "first": _first_call(first)}, load)
            break
        seen.append(load)


def _first_call(load: ModelLoad) -> str:
    func = load.site.node.func
    return f"{code_of(func)}()"
