"""Whether a call is given many items at once: a list, a dataset, a generator of inputs."""

from __future__ import annotations

import libcst as cst

from ecolint.analysis.facts import GenerationCall, ModuleFacts
from ecolint.analysis.scopes import dotted_name
from ecolint.analysis.values import last_name
from ecolint.analysis.walk import walk

# Keywords through which a pipeline receives its inputs.
INPUT_KEYWORDS = ("text_inputs", "inputs", "images", "sequences", "documents")
DATASET_CALLS = frozenset({"KeyDataset", "KeyPairDataset", "load_dataset", "list", "tolist", "to_list"})
COLLECTION_ANNOTATIONS = ("list", "List", "Sequence", "Iterable", "Iterator", "Dataset", "tuple", "Tuple")
# Plural names that stand for one item (a chat is one conversation; kwargs are settings).
ONE_ITEM_PLURALS = frozenset({"messages", "kwargs", "inputs", "outputs", "args", "params", "settings",
                              "options", "ids", "input_ids", "tokens", "pixels", "values", "logits"})


def collection_argument(facts: ModuleFacts, generation: GenerationCall) -> str | None:
    """A short description (``a list``, ``a dataset``) when the call's input is many items, else None."""
    call = generation.site.node
    positional = [arg.value for arg in call.args if arg.keyword is None and not arg.star]
    keyword = [arg.value for arg in call.args if arg.keyword is not None and arg.keyword.value in INPUT_KEYWORDS]
    argument = positional[0] if positional else (keyword[0] if keyword else None)
    if argument is None:
        return None
    return _describe(facts, generation, argument, depth=0)


def _describe(facts: ModuleFacts, generation: GenerationCall, node: cst.BaseExpression, depth: int) -> str | None:
    if isinstance(node, (cst.ListComp, cst.GeneratorExp)):
        return "a list"
    if isinstance(node, (cst.List, cst.Tuple, cst.Set)):
        if any(isinstance(element.value, cst.Dict) for element in node.elements):
            return None  # chat messages: one conversation
        return "a list" if len(node.elements) > 1 else None
    if isinstance(node, cst.Call):
        name = last_name(node.func)
        if name in ("KeyDataset", "KeyPairDataset", "load_dataset"):
            return "a dataset"
        if name in DATASET_CALLS:
            return "a list"
        function = facts.resolver.local_function(node.func, generation.site.scope, generation.site.order)
        return "a generator" if function is not None and _yields(function.node) else None
    if isinstance(node, cst.Subscript):
        index = node.slice[0].slice if len(node.slice) == 1 else None
        if isinstance(index, cst.Index) and isinstance(index.value, cst.SimpleString):
            return "a dataset column" if _dataset_like(node.value) else None
        return "a list" if isinstance(index, cst.Slice) else None
    if isinstance(node, cst.Name) and depth < 3:
        site = generation.site
        binding = site.scope.lookup(node.value, site.order)
        if binding is None:
            return None
        if binding.kind == "param":
            return _annotated_collection(binding.node) or _plural(node.value)
        if binding.kind == "assign" and binding.value is not None:
            return _describe(facts, generation, binding.value, depth + 1)
    return None


def _yields(function: cst.FunctionDef) -> bool:
    """A generator function: its own body (not a nested function's) yields."""
    found = False

    class Yields(cst.CSTVisitor):
        def visit_Yield(self, node: cst.Yield) -> bool:
            nonlocal found
            found = True
            return False

        def visit_FunctionDef(self, node: cst.FunctionDef) -> bool:
            return node is function

        def visit_Lambda(self, node: cst.Lambda) -> bool:
            return False

    walk(function, Yields())
    return found


def _dataset_like(node: cst.BaseExpression) -> bool:
    text = (dotted_name(node) or "").rsplit(".", 1)[-1].lower()
    return text in ("ds", "dataset", "data") or text.endswith(("_ds", "dataset", "_data"))


def _annotated_collection(param: cst.CSTNode | None) -> str | None:
    if not isinstance(param, cst.Param) or param.annotation is None:
        return None
    annotation = param.annotation.annotation
    base = annotation.value if isinstance(annotation, cst.Subscript) else annotation
    return "a list" if (dotted_name(base) or "").rsplit(".", 1)[-1] in COLLECTION_ANNOTATIONS else None


def _plural(name: str) -> str | None:
    lowered = name.lower()
    if lowered in ONE_ITEM_PLURALS or not lowered.endswith("s") or lowered.endswith(("ss", "us", "is")):
        return None
    return "a list"
