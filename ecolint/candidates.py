"""The CPython-``ast`` pre-pass: which triggered rules can fire on a file, before libcst parses it.

The text prefilter (``ecolint.prefilter``) lets a file through when a rule's trigger words occur in it;
many such files (a library's own source, say) mention ``from_pretrained`` or ``generate`` without
calling them. Every check works on facts the analysis draws from calls (model loads, generation
calls, quantization and generation configs, data loaders) or, for LLM301, from an assignment to a
``use_cache`` attribute. A rule listed in :data:`NEEDS` is kept only when the file's syntax tree has
a call of one of its names (directly, through an import alias or a plain name assignment such as
``load = AutoModel.from_pretrained``), or when the definitions the file imports from its project
mention one; a rule not listed is always kept. Rules in :data:`NEEDS_GPU` report nothing without a
GPU in the settings. CPython's parser builds the tree about ten times faster than libcst, which is
kept for the files that remain and for every fix.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

from ecolint.candidate_loads import LoadFacts, load_names
from ecolint.pretrained_classes import may_load_a_model

ASSIGNS_USE_CACHE = "=use_cache"  # the tree assigns to an attribute named use_cache (LLM301's cache settings)
PIPELINE_CLASS = "Pipeline"  # ``TextGenerationPipeline(...)``: a pipeline object, as ``pipeline(...)`` makes

# Keywords that only text generation takes (transformers' generate and pipelines), and the key of a
# generation pipeline's result: a call with one of them generates, whatever its callee's origin.
GENERATION_ONLY_KEYWORDS = frozenset({
    "max_new_tokens", "min_new_tokens", "num_return_sequences", "return_full_text", "num_beams", "do_sample",
})
RESULT_KEYS = frozenset({"generated_text"})
# Words in the receiver of ``x.generate(...)`` that name something other than a model (a Jinja template's
# generate(), a data generator): no generation, whatever the call passes.
NOT_GENERATOR_WORDS = ("template", "jinja", "faker", "uuid")
GENERATION_SHAPE = "=generation-shape"  # the tree has such a call or reads such a result

LOADS = frozenset({"from_pretrained", "pipeline", "LLM"})
# mistral_inference's generate / generate_mamba are plain functions: ``generate([tokens], model, ...)``
GENERATIONS = frozenset({"generate", "generate_mamba", "chat", "pipeline", PIPELINE_CLASS, GENERATION_SHAPE})
QUANTIZATION = LOADS | {"BitsAndBytesConfig"}
# The names a rule's facts come from: without a call of one, the rule cannot fire.
NEEDS: dict[str, frozenset[str]] = {
    "LLM101": QUANTIZATION,
    "LLM102": LOADS,
    "LLM103": LOADS,
    "LLM104": QUANTIZATION,
    "LLM105": QUANTIZATION,
    "LLM106": QUANTIZATION,
    "LLM107": LOADS,
    "LLM108": QUANTIZATION,
    "LLM201": GENERATIONS | {"DataLoader"},
    "LLM202": GENERATIONS | {"DataLoader"},
    "LLM203": LOADS,
    "LLM205": GENERATIONS,
    "LLM206": GENERATIONS,
    "LLM207": LOADS,
    "LLM301": GENERATIONS | {"GenerationConfig", ASSIGNS_USE_CACHE},
    "LLM302": GENERATIONS,
    "LLM303": LOADS,
    "LLM304": LOADS,
    "LLM305": GENERATIONS,
    "LLM306": LOADS,
    "LLM307": LOADS,
}
VLLM_ENGINES = frozenset({"LLM", "EngineArgs", "AsyncEngineArgs"})  # LLM204 reads their settings, vLLM's only
IMPORTED_LOADS = frozenset({"LLM203"})  # reports loads in the project functions and classes a file calls
NEEDS_GPU = frozenset({"LLM103", "LLM107"})  # their checks compare a model with the configured GPU
NEEDED_NAMES = frozenset().union(*NEEDS.values()) - {ASSIGNS_USE_CACHE, GENERATION_SHAPE}


@dataclass
class TreeSummary:
    """What the pre-pass reads from a syntax tree in one walk."""

    depth: int = 0  # how deep the tree goes
    called: set[str] = field(default_factory=set)  # the names a call goes through (see :func:`summarize`)
    loads: LoadFacts = field(default_factory=LoadFacts)  # what tells whether a call may load a model
    tree: ast.AST | None = None  # what was summarized, for the rules that look further (:func:`generation_gate`)


def summarize(tree: ast.AST) -> TreeSummary:
    """The tree's depth and the needed names it calls: the called name or attribute, and what an alias
    (``import ... as``, ``name = other`` or ``name = obj.attr``) stands for."""
    summary = TreeSummary(tree=tree)
    loads, load_calls, load_nodes = summary.loads, LoadFacts.CALLS, LoadFacts.NODES
    calls: set[str] = set()
    aliases: dict[str, set[str]] = {}
    call, constant, alias, assign, attribute = ast.Call, ast.Constant, ast.alias, ast.Assign, ast.Attribute
    level, depth = [tree], -1
    while level:  # one level of the tree at a time: its depth is the number of levels
        depth += 1
        below: list[ast.AST] = []
        for node in level:
            kind = node.__class__
            if kind is call:
                name = last_name(node.func)
                if name is not None:
                    calls.add(name)
                    if name in load_calls:
                        loads.calls.append(node)
                if any(keyword.arg in GENERATION_ONLY_KEYWORDS for keyword in node.keywords):
                    calls.add(GENERATION_SHAPE)
            elif kind is constant:
                if node.value in RESULT_KEYS:
                    calls.add(GENERATION_SHAPE)
                continue  # no children
            elif kind is alias:
                if node.asname:
                    aliases.setdefault(node.asname, set()).add(node.name.rsplit(".", 1)[-1])
                continue  # no children
            elif kind is assign:
                value = last_name(node.value)
                if value is not None:
                    for target in node.targets:
                        if isinstance(target, ast.Name):
                            aliases.setdefault(target.id, set()).add(value)
                loads.nodes.append(node)
            elif kind is attribute and node.attr == "use_cache" and isinstance(node.ctx, ast.Store):
                calls.add(ASSIGNS_USE_CACHE)
            elif kind in load_nodes:
                loads.nodes.append(node)
            _add_children(node, below)
        level = below
    summary.depth = depth
    for _ in range(3):  # aliases of aliases
        grown = {meant for name in calls for meant in aliases.get(name, ())} - calls
        if not grown:
            break
        calls |= grown
    summary.called = {PIPELINE_CLASS if name.endswith(PIPELINE_CLASS) else name for name in calls}
    return summary


def _add_children(node: ast.AST, found: list[ast.AST]) -> None:
    """``found.extend(ast.iter_child_nodes(node))``, without a generator per node."""
    for name in node._fields:
        value = getattr(node, name, None)
        if isinstance(value, ast.AST):
            found.append(value)
        elif value.__class__ is list:
            found.extend([item for item in value if isinstance(item, ast.AST)])


def last_name(node: ast.AST) -> str | None:
    """The name a node ends in: ``x`` of ``x``, ``generate`` of ``self.model.generate``; else None."""
    if isinstance(node, ast.Name):
        return node.id
    if isinstance(node, ast.Attribute):
        return node.attr
    return None


def possible(codes: list[str], summary: TreeSummary, imported: str = "", has_gpu: bool = True,
             imported_generators: str = "", imported_settings: str = "") -> list[str]:
    """The codes of ``codes`` that can fire on the file summarized; ``imported`` is the text of what it
    imports from its project (the names there count as called). The generation rules that remain are
    looked at further (``ecolint.generation_gate``, with the parts of that text that generate and that
    assign)."""
    called = summary.called | {name for name in NEEDED_NAMES if name in imported}
    loading = _loading(codes, summary, imported)
    found = [code for code in codes
             if (has_gpu or code not in NEEDS_GPU) and (code not in NEEDS or loading.get(code, called) & NEEDS[code])]
    if "LLM204" in found and not _may_make_vllm_engine(summary, imported):
        found.remove("LLM204")
    if summary.tree is not None and found:
        from ecolint.generation_gate import kept

        found = kept(found, summary.tree, imported_generators, imported_settings)
    return found


def _may_make_vllm_engine(summary: TreeSummary, imported: str) -> bool:
    """LLM204 reads the settings of a call the analysis qualifies as vLLM's ``LLM``, ``EngineArgs`` or
    ``AsyncEngineArgs``: the file calls one of those names (or an alias of one) and imports vllm, or the text it
    imports from its project mentions vllm."""
    if not summary.called & VLLM_ENGINES:
        return False
    if "vllm" in imported:
        return True
    return summary.loads.imports("vllm")


def _loading(codes: list[str], summary: TreeSummary, imported: str) -> dict[str, set[str]]:
    """For the codes of rules that need a model load (or a quantization config), the names through which the file
    may make one as the analysis records it (``ecolint.candidate_loads``): a call of ``from_pretrained`` on a
    tokenizer or on ``cls`` does not count. The imported text counts as called for LLM203 only, which also
    reports the loads of the functions and classes a file imports from its project."""
    codes = [code for code in codes if NEEDS.get(code) in (LOADS, QUANTIZATION)]
    if not codes:
        return {}
    found = load_names(summary.loads, summary.called, imported)
    # the imported text's loads as the analysis of their modules would record them (not AutoConfig's, cls's)
    through_imports = found | ({"from_pretrained"} if imported and may_load_a_model(imported) else set())
    return {code: through_imports if code in IMPORTED_LOADS else found for code in codes}
