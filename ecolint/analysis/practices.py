"""Good practices: the energy-wise choices a module makes, read from the same facts the checks use.

The audit report lists them next to the findings. They are computed in the engine's one pass over
a file, only when a run asks for them.
"""

from __future__ import annotations

import re
from pathlib import Path

import libcst as cst

from ecolint.analysis.facts import ModuleFacts
from ecolint.analysis.values import ValueKind
from ecolint.energy.model_size import resolve_model_size

# Text a file must contain before it is parsed for good practices.
PRACTICE_HINTS = re.compile(r"llm_int8_threshold|dtype|batch_size|padding|compile|load_in_4bit|use_cache")
HALF = {"torch.float16": "float16", "torch.half": "float16", "torch.bfloat16": "bfloat16",
        "float16": "float16", "bfloat16": "bfloat16", "fp16": "float16", "bf16": "bfloat16"}


def _number(value) -> float | None:
    if value is None:
        return None
    if value.kind == ValueKind.OPTION and value.value is not None and hasattr(value.value, "number"):
        return value.value.number()
    return value.number()


def _symbol(value) -> str | None:
    if value is None:
        return None
    if value.kind == ValueKind.SYMBOL:
        return str(value.value)
    if value.kind == ValueKind.CONST and isinstance(value.value, str):
        return value.value
    if value.kind == ValueKind.OPTION and value.value is not None and hasattr(value.value, "kind"):
        return _symbol(value.value)
    return None


def good_practices(facts: ModuleFacts, module: cst.Module, positions, path: Path | None) -> list[tuple[int, str]]:
    """``(row, description)`` of the energy-wise choices a module makes."""

    def row(node) -> int:
        try:
            return positions[node].start.line
        except KeyError:
            return 1

    found: list[tuple[int, str]] = []
    for config in facts.quant_configs:
        eight, threshold = config.entry("load_in_8bit"), config.entry("llm_int8_threshold")
        if eight and eight.value.maybe_true() and threshold and _number(threshold.value) == 0:
            found.append((row(threshold.key_node), "8-bit loading with `llm_int8_threshold=0.0` (pure INT8): "
                                                   "avoids the mixed-precision decomposition overhead"))
    bases = tuple(folder for folder in ((path.parent,) if path else ()) + (Path.cwd(),))
    for load in facts.model_loads:
        dtype = _symbol(load.dtype.value) if load.dtype else None
        quant = load.quant
        if dtype in HALF and not (quant and (quant.requests("load_in_8bit") or quant.requests("load_in_4bit"))):
            found.append((row(load.dtype.key_node), f"model loaded in half precision (`{HALF[dtype]}`)"))
        if quant and quant.entry("load_in_4bit") and quant.entry("load_in_4bit").value.provably_true():
            model = load.model_id.text() if load.model_id else None
            size = resolve_model_size(model, bases) if model else None
            if size is not None and size.params_b >= 6:
                found.append((row(load.site.node), f"4-bit loading of a {size.params_b:g}B model, large enough "
                                                   "for NF4 to save energy"))
    for creation in facts.pipelines:
        entry = creation.entries.get("batch_size")
        if entry and (_number(entry.value) or 0) > 1:
            found.append((row(entry.key_node), f"batched generation: pipeline batch_size={_number(entry.value):g}"))
    for generation in facts.generations:
        entry = generation.entries.get("batch_size")
        if entry and (_number(entry.value) or 0) > 1:
            found.append((row(entry.key_node), f"batched generation: batch_size={_number(entry.value):g}"))
        cache = generation.entries.get("use_cache")
        if cache and cache.value.provably_true():
            found.append((row(cache.key_node), "KV cache kept on for generation (`use_cache=True`)"))
    for loader in facts.dataloaders:
        size = _number(loader.batch_size) if loader.batch_size is not None else None
        if size and size > 1 and loader.batch_size_entry:
            found.append((row(loader.batch_size_entry.key_node), f"batched inputs: DataLoader batch_size={size:g}"))
    padded = _padded_calls(module, positions)
    if padded and facts.generations and not any(g.site.loops for g in facts.generations):
        found.append((padded[0], "batched generation: inputs tokenized together with padding"))
    if facts.uses_compile and facts.generations:
        found.append((1, "`torch.compile` used in a module that generates"))
    return sorted(set(found))


def _padded_calls(module: cst.Module, positions) -> list[int]:
    rows = []

    class Finder(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            for arg in node.args:
                if arg.keyword is not None and arg.keyword.value == "padding" and not (
                        isinstance(arg.value, cst.Name) and arg.value.value in ("False", "None")):
                    rows.append(positions[node].start.line)

    module.visit(Finder())
    return rows
