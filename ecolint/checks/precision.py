"""Weights precision: LLM303 (float32 inference)."""

from __future__ import annotations

import re
from collections.abc import Iterator

import libcst as cst

from ecolint.analysis.facts import ModelLoad
from ecolint.analysis.practices import HALF
from ecolint.analysis.scopes import dotted_name
from ecolint.analysis.values import Value, ValueKind, last_name
from ecolint.checks import CheckContext, check
from ecolint.checks.common import inference_loads, model_text
from ecolint.diagnostics import Finding

FLOAT32 = frozenset({"torch.float32", "torch.float"})
HALF_SYMBOLS = frozenset(symbol for symbol in HALF if symbol.startswith("torch."))


def _is_float32(value) -> bool:
    if value.kind == ValueKind.SYMBOL:
        return value.value in FLOAT32
    if value.kind == ValueKind.CONST:
        return value.value in ("float32", "float", "fp32")
    if value.kind == ValueKind.OPTION and value.value is not None:
        return _is_float32(value.value)  # the option's default loads in float32
    return False


# Model classes and ids whose cost the float32 rows (decoder LLMs generating text) do not describe.
NOT_GENERATIVE = re.compile(
    r"SequenceClassification|TokenClassification|QuestionAnswering|MultipleChoice|MaskedLM|Embedding|"
    r"SentenceTransformer|"
    r"^AutoModel$|BertModel|CLIP|Whisper|Wav2Vec|SpeechSeq2Seq|ImageClassification|EncoderModel|RewardModel"
)
NOT_GENERATIVE_TASKS = frozenset({
    "feature-extraction", "text-classification", "sentiment-analysis", "token-classification", "ner", "fill-mask",
    "automatic-speech-recognition", "image-classification", "zero-shot-classification", "question-answering",
    "sentence-similarity", "audio-classification", "object-detection", "image-segmentation", "depth-estimation",
})
NOT_GENERATIVE_IDS = re.compile(r"bert|roberta|e5-|bge-|gte-|minilm|mpnet|whisper|wav2vec|clip|sentence-t", re.I)


def generative(load: ModelLoad) -> bool:
    """A model that generates text (the class or the id says otherwise for encoders, embedders, speech)."""
    func = load.site.node.func
    owner = func.value if isinstance(func, cst.Attribute) else None
    class_name = (dotted_name(owner) or "").rsplit(".", 1)[-1] if owner is not None else ""
    if class_name and NOT_GENERATIVE.search(class_name):
        return False
    model = model_text(load)
    if load.via_pipeline:
        task = load.site.node.args[0].value if load.site.node.args else None
        if isinstance(task, cst.SimpleString) and str(task.evaluated_value) in NOT_GENERATIVE_TASKS:
            return False
    return not (model and NOT_GENERATIVE_IDS.search(model))


def _is_cpu(value, site) -> bool:
    """A device (or a device map) that is the CPU: ``"cpu"``, ``torch.device("cpu")``, ``{"": "cpu"}``, or a
    parameter or option whose default is one of them."""
    if value.kind == ValueKind.CONST:
        return isinstance(value.value, str) and value.value.lower().startswith("cpu")
    if value.kind == ValueKind.OPTION:
        return value.value is not None and _is_cpu(value.value, site)
    if value.kind == ValueKind.CHOICE:
        return bool(value.options) and all(_is_cpu(option, site) for option in value.options)
    if value.kind == ValueKind.MAPPING:
        items = value.entries.items.values() if value.entries is not None else ()
        return bool(items) and all(_is_cpu(entry.value, site) for entry in items)
    node = value.node
    if isinstance(node, cst.Call) and dotted_name(node.func) in ("torch.device", "device") and node.args:
        node = node.args[0].value
        if isinstance(node, cst.SimpleString):
            return str(node.evaluated_value).lower().startswith("cpu")
    if isinstance(node, cst.Name):
        binding = site.scope.lookup(node.value, site.order)
        default = getattr(binding.node, "default", None) if binding is not None and binding.kind == "param" else None
        return isinstance(default, cst.SimpleString) and str(default.evaluated_value).lower().startswith("cpu")
    return False


def stays_on_cpu(facts, load: ModelLoad) -> bool:
    """``device_map="cpu"`` (or a map of CPU devices), or no device placement anywhere in the module."""
    entry = load.entries.get("device_map") or load.entries.get("device")
    if entry is not None:
        return _is_cpu(entry.value, load.site)
    if load.engine == "vllm":
        return False  # vLLM places the model on the GPU itself
    return not any(site.node.func.attr.value in ("cuda", "to") for site in facts.device_moves)


WEIGHT_WORK = frozenset({"save_pretrained", "state_dict", "save_file", "merge_and_unload"})


def converts_weights(facts, load: ModelLoad) -> bool:
    """Code that loads a model to change and save its weights (a weight diff, a merge, a conversion) and does
    not generate in the same function: float32 there is about exact arithmetic, not inference."""
    unit = load.site.unit
    if any(generation.site.unit is unit for generation in facts.generations):
        return False
    calls = facts.collector.calls if facts.collector is not None else []
    return any(site.unit is unit and last_name(site.node.func) in WEIGHT_WORK for site in calls)


def converted_later(facts, load: ModelLoad) -> bool:
    """The loaded model is turned into half precision afterwards: ``.half()``, ``.to(torch.float16)``."""
    for site in facts.device_moves:
        name = site.node.func.attr.value
        if name in ("half", "bfloat16"):
            return True
        if name == "to" and any(dotted_name(arg.value) in HALF_SYMBOLS for arg in site.node.args):
            return True
    return False


@check("LLM303")
def fp32_inference(ctx: CheckContext) -> Iterator[Finding]:
    suggested = "bfloat16" if "bfloat16" in ctx.source else "float16"
    for load in inference_loads(ctx):
        if load.dtype is None or not _is_float32(load.dtype.value):
            continue
        if not generative(load) or stays_on_cpu(ctx.facts, load) or converted_later(ctx.facts, load):
            continue
        if converts_weights(ctx.facts, load):
            continue
        yield Finding(
            "LLM303",
            load.dtype.key_node,
            {"model": model_text(load) or "the model", "suggested": suggested, "keyword": load.dtype.name},
            load.dtype,
        )


# Checkpoints stored quantized (their loader picks a half-precision compute dtype itself).
QUANTIZED_IDS = re.compile(r"gptq|awq|gguf|ggml|exl2|bnb|int4|int8|4bit|8bit|fp8|mlx", re.I)
# A module that loads pre-quantized checkpoints (their kernels choose the compute dtype).
QUANTIZED_FORMATS = re.compile(r"gptq|\bawq|gguf|exl2", re.I)
# The whole module computes in half precision anyway: a default dtype, or autocast.
HALF_ELSEWHERE = re.compile(r"\bset_default_dtype\s*\(|\bautocast\s*\(")
_DTYPE_SPELLING = re.compile(r"""(?<![\w.])(torch_dtype|dtype)["']?\s*(?:=(?!=)|:)""")


def dtype_spelling(ctx: CheckContext) -> str:
    """The dtype keyword to suggest: the one the file already writes, else what the pinned transformers accepts."""
    written = set(_DTYPE_SPELLING.findall(ctx.source))
    return written.pop() if len(written) == 1 else ctx.versions.dtype_keyword()


def _model_named(load: ModelLoad) -> bool:
    """A pipeline given a model id (not a model object loaded elsewhere, whose own load is reported)."""
    value = load.model_id
    if value is None:
        return False
    if value.kind == ValueKind.CONST:
        return isinstance(value.value, str)
    return value.kind in (ValueKind.OPTION, ValueKind.CHOICE)


# Remote code that picks its own precision when no dtype is given: Qwen (v1) sets bf16 or fp16 from its
# config's bf16/fp16/fp32 flags, which can also be passed to from_pretrained.
OWN_PRECISION_IDS = re.compile(r"(?:^|/)Qwen-(?:\d|VL|Audio)", re.I)
OWN_PRECISION_KEYWORDS = ("bf16", "fp16", "fp32")


def chooses_own_precision(load: ModelLoad) -> bool:
    if any(load.entries.get(keyword) for keyword in OWN_PRECISION_KEYWORDS):
        return True
    remote = load.entries.get("trust_remote_code")
    if remote is None or remote.value.provably_false():
        return False
    named = model_text(load) or ""
    return not named or bool(OWN_PRECISION_IDS.search(named))  # remote code of an unknown model may pick its own


@check("LLM306")
def implicit_float32(ctx: CheckContext) -> Iterator[Finding]:
    from ecolint.checks.beam_search import seq2seq_load
    from ecolint.checks.versions import transformers_major, transformers_pin

    if transformers_major(ctx.versions) == "5" or HALF_ELSEWHERE.search(ctx.source):
        return  # v5 loads in the checkpoint's dtype ("auto"); or half precision is set for the whole module
    if transformers_major(ctx.versions) == "4":  # the pin keeps every allowed version below 5
        when = f"with {transformers_pin(ctx.versions)}"
    elif ctx.versions.pin("transformers") is not None:
        when = f"when transformers < 5 (the pin {transformers_pin(ctx.versions)} allows it)"
    else:
        when = "when transformers < 5"
    suggested = "bfloat16" if "bfloat16" in ctx.source else "float16"
    quantized_module = QUANTIZED_FORMATS.search(ctx.source) is not None  # GPTQ/AWQ loaders pick their own dtype
    for load in inference_loads(ctx):
        if load.dtype is not None or load.entries.unknown_splat:
            continue
        unquantized = _unquantized_when(load.quant)  # None: the load is quantized (its own compute dtype)
        if unquantized is None:
            continue
        if load.engine != "transformers" or quantized_module:
            continue  # vLLM's dtype defaults to "auto" (the checkpoint's)
        if load.via_pipeline and not _model_named(load):
            continue
        if QUANTIZED_IDS.search(model_text(load) or "") or chooses_own_precision(load) or seq2seq_load(load):
            continue  # T5-style encoder-decoders overflow in float16: their float32 default is no oversight
        if not generative(load) or stays_on_cpu(ctx.facts, load) or converted_later(ctx.facts, load):
            continue
        context = {"model": model_text(load) or "the model", "when": when + unquantized, "suggested": suggested,
                   "keyword": dtype_spelling(ctx)}
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
