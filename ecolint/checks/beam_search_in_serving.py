"""LLM305 beam-search-in-serving: beam search where one answer is returned."""

from __future__ import annotations

from collections.abc import Iterator

import libcst as cst

from ecolint.analysis.models import seq2seq_load
from ecolint.analysis.parameters import number, parameter_binding
from ecolint.analysis.values import Entries, Value, ValueKind
from ecolint.checks import CheckContext, check
from ecolint.diagnostics import Finding


def _beams(entries: Entries, site) -> tuple[Value, int] | None:
    """``num_beams`` when it is (or defaults to) more than 1, and one sequence is returned."""
    entry = entries.get("num_beams")
    if entry is None:
        return None
    value = _parameter_default(entry.value, site)
    beams = number(value)
    if beams is None or beams <= 1:
        return None
    returned = entries.get("num_return_sequences")
    if returned is not None and number(returned.value) != 1:
        return None  # all (or several) beams are wanted: the energy is shared between the sequences
    return value, int(beams)


def seq2seq_module(ctx: CheckContext) -> bool:
    """The module loads an encoder-decoder model."""
    return any(seq2seq_load(load) for load in ctx.facts.model_loads)


def _parameter_default(value: Value, site) -> Value:
    """A parameter's own default (``def evaluate(..., num_beams=4)``, a UI callback the module never calls)."""
    binding = parameter_binding(value, site)
    default = binding.node.default if binding is not None else None
    if isinstance(default, cst.Integer):
        return Value(ValueKind.CONST, int(default.value), default)
    return value


@check("LLM305")
def beam_search_in_serving(ctx: CheckContext) -> Iterator[Finding]:
    if seq2seq_module(ctx):
        return
    places = [(call.site, call.entries, "generate" if call.kind != "pipeline" else "the pipeline call")
              for call in ctx.facts.generations if call.kind in ("generate", "pipeline", "chat")]
    if ctx.facts.generations:
        places += [(config.site, config.entries, "GenerationConfig") for config in ctx.facts.generation_configs]
    for site, entries, where in places:
        if ctx.facts.is_training(site.unit):
            continue
        found = _beams(entries, site)
        if found is None:
            continue
        value, beams = found
        entry = entries.get("num_beams")
        yield Finding("LLM305", entry.key_node, {"beams": beams, "where": where, "when": _when(value, entry)}, entry)


def _when(value: Value, entry) -> str:
    """Where the number comes from, when it is not written at the call."""
    if value.kind == ValueKind.OPTION:
        return f" (the default of {value.flag})"
    if value.node is not None and value.node is not entry.value.node and entry.value.kind == ValueKind.UNKNOWN:
        return " (the parameter's default)"
    return ""
