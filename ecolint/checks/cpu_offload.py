"""LLM108 cpu-offload: decoder layers of a model placed on the CPU or the disk (weight offloading)."""

from __future__ import annotations

import re

import libcst as cst

from ecolint.analysis.facts import ModelLoad
from ecolint.analysis.values import Entry, Value, ValueKind, last_name
from ecolint.analysis.models import inference_loads, model_text
from ecolint.checks import CheckContext, check
from ecolint.checks._common import model_size
from ecolint.diagnostics import Finding

STRATEGIES = frozenset({"auto", "balanced", "balanced_low_0", "sequential"})
HOST_DEVICES = frozenset({"cpu", "disk", "meta"})
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([kmgt]i?b?)?\s*$", re.IGNORECASE)
_UNITS = {"k": 1e3, "m": 1e6, "g": 1e9, "t": 1e12, "ki": 2**10, "mi": 2**20, "gi": 2**30, "ti": 2**40}


def memory_bytes(value: Value) -> float | None:
    """``"10GiB"``, ``"18GB"``, ``"500MB"`` or a number of bytes, as bytes."""
    number = value.number()
    if number is not None:
        return number
    text = value.text()
    match = _SIZE.match(text or "")
    if match is None:
        return None
    unit = (match.group(2) or "").lower().rstrip("b")
    return float(match.group(1)) * _UNITS.get(unit, 1.0)


def _device_kind(value: Value) -> str | None:
    """"gpu" for ``0``, ``"cuda"``, ``"cuda:1"``; "host" for ``"cpu"``/``"disk"``; None when unknown."""
    if value.number() is not None:
        return "gpu"
    text = (value.text() or "").lower()
    if text in HOST_DEVICES:
        return "host"
    if text.startswith(("cuda", "xpu", "npu")) or text.isdigit():
        return "gpu"
    return None


def _mapping_items(value: Value, resolve) -> list[tuple[Value | None, Value]] | None:
    """The (key, value) pairs of a dict literal (keys of any kind), or None when it is not one."""
    node = value.node
    if value.kind != ValueKind.MAPPING or not isinstance(node, cst.Dict):
        return None
    items = []
    for element in node.elements:
        if not isinstance(element, cst.DictElement):
            items.append((None, Value(ValueKind.UNKNOWN, reason="splat")))
            continue
        items.append((resolve(element.key), resolve(element.value)))
    return items


def _resolver(ctx: CheckContext, load: ModelLoad):
    site = load.site
    return lambda node: ctx.facts.resolver.resolve(node, site.scope, site.order)


def _strategy(entry: Entry | None) -> str | None:
    if entry is None:
        return None
    text = entry.value.text()
    return text if text in STRATEGIES else None


def _cpu_only(entry: Entry | None, items) -> bool:
    if entry is None:
        return False
    if (entry.value.text() or "").lower() == "cpu":
        return True
    return bool(items) and all(_device_kind(value) == "host" for _, value in items)


def _precision(load: ModelLoad) -> str:
    if load.quant is not None and load.quant.requests("load_in_4bit"):
        return "nf4"
    if load.quant is not None and load.quant.requests("load_in_8bit"):
        return "int8_pure"
    dtype = (load.dtype.value.text() or str(load.dtype.value.value or "")) if load.dtype else ""
    return "fp32" if "float32" in dtype else "fp16"


def _weights_bytes(ctx: CheckContext, load: ModelLoad) -> float | None:
    """The weights' bytes on the GPU, as LLM107 and the advisor compute them (``memory_fit.weights_gb``)."""
    from ecolint.energy.memory_fit import weights_gb

    size = model_size(ctx, load)
    if size is None:
        return None
    return weights_gb(model_text(load) or "", size.params_b, _precision(load), size.active_params_b) * 1e9


def _gib(count: float) -> str:
    return f"{count / 1e9:.0f} GB"


def _load_reason(ctx: CheckContext, load: ModelLoad) -> tuple[cst.CSTNode, str] | None:
    resolve = _resolver(ctx, load)
    device_map = load.entries.get("device_map")
    device_items = _mapping_items(device_map.value, resolve) if device_map else None
    if _cpu_only(device_map, device_items):
        return None  # CPU inference, not offload
    if device_items:
        kinds = {_device_kind(value) for _, value in device_items}
        if {"gpu", "host"} <= kinds:
            return device_map.key_node, "device_map puts some modules on the CPU or the disk and the rest on the GPU"
    strategy = _strategy(device_map)
    memory = load.entries.get("max_memory")
    if strategy is not None and memory is not None:
        memory_items = _mapping_items(memory.value, resolve)
        if memory_items:
            host = [(key, value) for key, value in memory_items
                    if key is not None and _device_kind(key) == "host" and (memory_bytes(value) or 0) > 0]
            if host:
                budget = host[0][1].text() or "a budget"
                return memory.key_node, (f"max_memory gives the CPU {budget} with device_map=\"{strategy}\": the "
                                         f"layers that do not fit the GPU budgets run from CPU memory")
            gpu_budgets = [memory_bytes(value) for key, value in memory_items
                           if key is not None and _device_kind(key) == "gpu"]
            weights = _weights_bytes(ctx, load)
            if (weights and gpu_budgets and len(gpu_budgets) == len(memory_items)
                    and None not in gpu_budgets and sum(gpu_budgets) < weights):
                return memory.key_node, (f"the GPU budgets of max_memory ({_gib(sum(gpu_budgets))}) are smaller than "
                                         f"the weights (about {_gib(weights)}): the rest is offloaded")
    folder = load.entries.get("offload_folder")
    if folder is not None and device_map is not None and not (folder.value.kind == ValueKind.CONST
                                                              and folder.value.value is None):
        return folder.key_node, "offload_folder= lets the layers that do not fit the GPU go to the disk"
    if strategy is not None and ctx.gpu is not None:
        from ecolint.energy.memory_fit import usable_gb

        weights = _weights_bytes(ctx, load)
        if weights is not None and weights / 1e9 > usable_gb(ctx.gpu):
            return device_map.key_node, (f"device_map=\"{strategy}\" with weights of about {_gib(weights)}, more than "
                                         f"{ctx.gpu.key} can hold ({usable_gb(ctx.gpu):.0f} GB usable of "
                                         f"{ctx.gpu.vram_gb:g} GB): accelerate puts the rest on the CPU")
    return None


SAVES = frozenset({"save_pretrained", "save_file", "save_model"})


def _saves_weights(facts, load: ModelLoad) -> bool:
    """The function (or script) of the load writes weights and generates nothing: a merge or conversion for
    later use (LLM303 leaves such code out too), not a model that another call (an evaluator) may still run."""
    generating, saving = _units_generating_and_saving(facts)
    return id(load.site.unit) not in generating and id(load.site.unit) in saving


def _units_generating_and_saving(facts) -> tuple[frozenset[int], frozenset[int]]:
    """The units that generate and the units that save weights, found once per module (asked per load)."""
    def found():
        calls = facts.collector.calls if facts.collector is not None else []
        return (frozenset(id(generation.site.unit) for generation in facts.generations),
                frozenset(id(site.unit) for site in calls if last_name(site.node.func) in SAVES))
    return facts.once("units generating and saving", found)


@check("LLM108")
def cpu_offload(ctx: CheckContext) -> list[Finding]:
    findings: list[Finding] = []
    seen: set[int] = set()
    for config in ctx.facts.quant_configs:
        entry = config.entry("llm_int8_enable_fp32_cpu_offload")
        if entry is not None and entry.value.provably_true() and not ctx.facts.is_training(config.unit):
            seen.add(id(entry.key_node))
            findings.append(Finding("LLM108", entry.key_node, {
                "reason": "llm_int8_enable_fp32_cpu_offload=True keeps the modules that do not fit the GPU on the "
                          "CPU, in float32"}))
    for load in inference_loads(ctx.facts):
        if _saves_weights(ctx.facts, load):
            continue  # merged or converted and saved, no generation: offloading costs one pass, not each request
        found = _load_reason(ctx, load)
        if found is not None and id(found[0]) not in seen:
            seen.add(id(found[0]))
            findings.append(Finding("LLM108", found[0], {"reason": found[1]}, load))
    return findings
