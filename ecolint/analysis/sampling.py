"""Seeded sampling: whether batching a generation call would change results the code fixes with a seed.

In a batch each sequence draws its random numbers from the same generator in another order than one
call per item does, so sampled texts change. That matters when the file fixes a seed (``set_seed``,
``torch.manual_seed``, ``LLM(seed=...)``) and sampling is not provably off at the call: the LLM201
and LLM202 fixes are then not offered, and LLM201's message says why.
"""

from __future__ import annotations

import libcst as cst

from ecolint.analysis.values import last_name

SEEDING_CALLS = frozenset({"set_seed", "manual_seed", "manual_seed_all", "seed", "enable_full_determinism"})


def seeds_randomness(module: cst.Module) -> bool:
    """The module fixes a random seed somewhere."""
    found = False

    class Seeds(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            nonlocal found
            name = last_name(node.func)
            if name in SEEDING_CALLS or (name == "LLM" and keyword(node, "seed") is not None):
                found = True

    module.visit(Seeds())
    return found


def keyword(call: cst.Call | None, name: str) -> cst.BaseExpression | None:
    if call is None:
        return None
    return next((arg.value for arg in call.args if arg.keyword is not None and arg.keyword.value == name), None)


def _false(node: cst.BaseExpression | None) -> bool:
    return isinstance(node, cst.Name) and node.value == "False"


def _zero(node: cst.BaseExpression | None) -> bool:
    return isinstance(node, (cst.Integer, cst.Float)) and float(node.value) == 0.0


def greedy_pipeline(call: cst.Call, creation: cst.Call | None) -> bool:
    """``do_sample=False`` at the pipeline's call or creation (a checkpoint's generation config may sample)."""
    return _false(keyword(call, "do_sample")) or _false(keyword(creation, "do_sample"))


def greedy_vllm(call: cst.Call, scope, order: int) -> bool:
    """The call's ``SamplingParams`` are written with ``temperature=0`` or a per-request ``seed=``."""
    params = keyword(call, "sampling_params")
    positional = [arg.value for arg in call.args if arg.keyword is None]
    if params is None and len(positional) > 1:
        params = positional[1]
    if isinstance(params, cst.Name):
        binding = scope.lookup(params.value, order)
        params = binding.value if binding is not None and binding.kind == "assign" else None
    if not isinstance(params, cst.Call) or last_name(params.func) != "SamplingParams":
        return False
    return _zero(keyword(params, "temperature")) or keyword(params, "seed") is not None


def seeded_sampling(module: cst.Module, generation) -> bool:
    """Batching ``generation`` (a pipeline or vLLM call) would change sampled results a seed fixes."""
    call = generation.site.node
    if generation.kind == "pipeline":
        greedy = greedy_pipeline(call, generation.created_by)
    elif generation.kind == "vllm":
        greedy = greedy_vllm(call, generation.site.scope, generation.site.order)
    else:
        return False
    return not greedy and seeds_randomness(module)
