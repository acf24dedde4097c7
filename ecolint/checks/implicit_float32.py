"""LLM306 implicit-float32: a model loaded without a dtype, which transformers before v5 loads in float32;
the fix (unsafe) adds dtype "auto", the checkpoint's own dtype, to the load (``analysis.dtype_choice``)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import libcst as cst

from ecolint.analysis.dtype_choice import AUTO, DtypeChoice
from ecolint.analysis.facts import ModelLoad
from ecolint.analysis.models import (converted_later, generates_with_remote_code, generative, inference_loads,
                                     model_text, seq2seq_load, stays_on_cpu, text_seq2seq_generator)
from ecolint.analysis.values import Value, ValueKind
from ecolint.checks import CheckContext, check
from ecolint.checks._versions import transformers_major, transformers_pin
from ecolint.diagnostics import Finding
from ecolint.fixes.context import FixContext, NoFix, Proposal
from ecolint.fixes.dtype import DTYPE_KEYWORDS, WRITTEN_DTYPE, dtype_keyword
from ecolint.fixes.layout import container_sequence
from ecolint.fixes.registry import fixer

# Checkpoints stored quantized (their loader picks a half-precision compute dtype itself).
QUANTIZED_IDS = re.compile(r"gptq|awq|gguf|ggml|exl2|bnb|int4|int8|4bit|8bit|fp8|mlx", re.I)
# A module that loads pre-quantized checkpoints (their kernels choose the compute dtype).
QUANTIZED_FORMATS = re.compile(r"gptq|\bawq|gguf|exl2", re.I)
# The whole module computes in half precision anyway: a default dtype, or autocast.
HALF_ELSEWHERE = re.compile(r"\bset_default_dtype\s*\(|\bautocast\s*\(")


def dtype_spelling(ctx: CheckContext) -> str:
    """The dtype keyword to suggest: the one the file already writes, else what the pinned transformers accepts."""
    if "dtype spellings" not in ctx.memo:  # read once per file, not once per finding
        ctx.memo["dtype spellings"] = set(WRITTEN_DTYPE.findall(ctx.source))
    written = ctx.memo["dtype spellings"]
    return next(iter(written)) if len(written) == 1 else ctx.versions.dtype_keyword()


def _model_named(load: ModelLoad) -> bool:
    """A pipeline given a model id (not a model object loaded elsewhere, whose own load is reported)."""
    value = load.model_id
    if value is None:
        return False
    if value.kind == ValueKind.CONST:
        return isinstance(value.value, str)
    return value.kind in (ValueKind.OPTION, ValueKind.CHOICE)


# Remote code that picks its own precision when no dtype is given: Qwen (v1) sets bf16 or fp16 from its
# config's bf16/fp16/fp32 flags, which can also be passed to from_pretrained; ChatGLM2/3 build their layers in
# config.torch_dtype (float16 in their checkpoints).
OWN_PRECISION_IDS = re.compile(r"(?:^|/)Qwen-(?:\d|VL|Audio)|(?:^|/)chatglm", re.I)
OWN_PRECISION_KEYWORDS = ("bf16", "fp16", "fp32")


def chooses_own_precision(load: ModelLoad) -> bool:
    if any(load.entries.get(keyword) for keyword in OWN_PRECISION_KEYWORDS):
        return True
    remote = load.entries.get("trust_remote_code")
    if remote is None or remote.value.provably_false():
        return False
    named = model_text(load) or ""
    return not named or bool(OWN_PRECISION_IDS.search(named))  # remote code of an unknown model may pick its own


# Text encoder-decoders (BART, LED, Pegasus) are often stored in float32, which "auto" would keep.
SEQ2SEQ_CHOICE = DtypeChoice("bfloat16", "encoder-decoder checkpoints are often stored in float32, which \"auto\" "
                                         "keeps; bfloat16 keeps float32's range, where float16 can overflow")


@check("LLM306")
def implicit_float32(ctx: CheckContext) -> Iterator[Finding]:
    if transformers_major(ctx.versions) == "5" or HALF_ELSEWHERE.search(ctx.source):
        return  # v5 loads in the checkpoint's dtype ("auto"); or half precision is set for the whole module
    if transformers_major(ctx.versions) == "4":  # the pin keeps every allowed version below 5
        when = f"with {transformers_pin(ctx.versions)}"
    elif ctx.versions.pin("transformers") is not None:
        when = f"when transformers < 5 (the pin {transformers_pin(ctx.versions)} allows it)"
    else:
        when = "when transformers < 5"
    quantized_module = QUANTIZED_FORMATS.search(ctx.source) is not None  # GPTQ/AWQ loaders pick their own dtype
    for load in inference_loads(ctx.facts):
        if load.dtype is not None or load.entries.unknown_splat:
            continue
        unquantized = _unquantized_when(load.quant)  # None: the load is quantized (its own compute dtype)
        if unquantized is None:
            continue
        if load.engine != "transformers" or quantized_module:
            continue  # vLLM's dtype defaults to "auto" (the checkpoint's)
        if load.via_pipeline and not _model_named(load):
            continue
        seq2seq = text_seq2seq_generator(load)
        if QUANTIZED_IDS.search(model_text(load) or "") or chooses_own_precision(load) or (
                seq2seq_load(load) and not seq2seq):
            continue  # T5-style encoder-decoders overflow in float16: their float32 default is no oversight
        if not (generative(load) or generates_with_remote_code(ctx.facts, load)):
            continue
        if stays_on_cpu(ctx.facts, load) or converted_later(ctx.facts, load):
            continue
        choice = SEQ2SEQ_CHOICE if seq2seq else AUTO  # an encoder-decoder checkpoint is often float32
        context = {"model": model_text(load) or "the model", "when": when + unquantized,
                   "suggested": choice.written(), "why": choice.why, "keyword": dtype_spelling(ctx)}
        yield Finding("LLM306", load.site.node, context, load)


def _unquantized_when(quant) -> str | None:
    """When a load with bitsandbytes arguments still runs unquantized: "" for no request (or only False ones),
    `` and --load_8bit is off`` for command-line flags that are off by default, None when it may be quantized
    by default (a config object, a value that is on or unknown)."""
    if quant is None:
        return ""
    if quant.entries.unknown_splat or quant.kind not in ("direct", "config"):
        return None
    flags = []
    for name in ("load_in_8bit", "load_in_4bit"):
        entry = quant.entry(name)
        if entry is None or entry.value.provably_false():
            continue
        value = entry.value
        if value.kind == ValueKind.OPTION and isinstance(value.value, Value) and value.value.provably_false():
            flags.append(value.flag)
            continue
        return None
    if not flags and quant.kind == "config" and not any(quant.entry(n) for n in ("load_in_8bit", "load_in_4bit")):
        return None  # a config that quantizes some other way
    return "".join(f" and {flag} is off" for flag in flags)


@fixer("LLM306")
def add_auto_dtype(ctx: FixContext, finding: Finding) -> Proposal:
    """Add ``torch_dtype="auto"`` (``dtype=`` where the pinned transformers accepts it) to the load."""
    load = finding.subject
    call: cst.Call = load.site.node
    if not call.args:
        raise NoFix("nothing to add the dtype to")
    if text_seq2seq_generator(load):
        raise NoFix("an encoder-decoder: bfloat16 is suggested, and torch may not be imported here")
    ctx.require_absent(call, DTYPE_KEYWORDS)
    keyword = dtype_keyword(ctx, call)
    edits = container_sequence(ctx, call).append(f"{keyword}={AUTO.written()}")
    return Proposal(edits, message=f"Load with {keyword}={AUTO.written()} ({AUTO.why})")
