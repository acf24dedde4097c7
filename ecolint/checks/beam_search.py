"""Beam search where one answer is returned: LLM305."""

from __future__ import annotations

import re
from collections.abc import Iterator

import libcst as cst

from ecolint.analysis.scopes import dotted_name
from ecolint.analysis.values import Entries, Value, ValueKind
from ecolint.checks import CheckContext, check
from ecolint.checks.common import model_text, parameter_binding
from ecolint.diagnostics import Finding

# Tasks where beam search is the documented quality setting (translation, summarization, captioning,
# speech): encoder-decoder models, their classes, ids and pipeline tasks.
SEQ2SEQ_CLASSES = re.compile(r"Seq2Seq|T5|Bart|Marian|Pegasus|M2M100|NllbMoe|MBart|Blip|VisionEncoderDecoder|"
                             r"Whisper|SpeechSeq2Seq|Pix2Struct|Florence|Kosmos")
SEQ2SEQ_IDS = re.compile(r"t5|bart|opus-mt|marian|pegasus|nllb|m2m|mbart|blip|whisper|pix2struct|florence|"
                         r"madlad|seamless|trocr|donut", re.I)
SEQ2SEQ_TASKS = ("translation", "summarization", "text2text-generation", "image-to-text", "image-text-to-text",
                 "automatic-speech-recognition", "visual-question-answering")


def _number(value: Value) -> float | None:
    if value.kind == ValueKind.OPTION and isinstance(value.value, Value):
        return value.value.number()
    return value.number()


def _beams(entries: Entries, site) -> tuple[Value, int] | None:
    """``num_beams`` when it is (or defaults to) more than 1, and one sequence is returned."""
    entry = entries.get("num_beams")
    if entry is None:
        return None
    value = _parameter_default(entry.value, site)
    beams = _number(value)
    if beams is None or beams <= 1:
        return None
    returned = entries.get("num_return_sequences")
    if returned is not None and _number(returned.value) != 1:
        return None  # all (or several) beams are wanted: the energy is shared between the sequences
    return value, int(beams)


def seq2seq_load(load) -> bool:
    """An encoder-decoder model (translation, summarization, captioning, speech): by class, id or task."""
    func = load.site.node.func
    owner = dotted_name(func.value) if isinstance(func, cst.Attribute) else None
    if owner and SEQ2SEQ_CLASSES.search(owner.rsplit(".", 1)[-1]):
        return True
    if SEQ2SEQ_IDS.search(model_text(load) or ""):
        return True
    if load.via_pipeline and load.site.node.args:
        task = load.site.node.args[0].value
        if isinstance(task, cst.SimpleString) and str(task.evaluated_value).startswith(SEQ2SEQ_TASKS):
            return True
    return False


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
