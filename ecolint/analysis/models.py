"""Facts about a module's model loads that several rules share: which loads run inference, which models
generate text, which are encoder-decoders, and which stay on the CPU or are turned into half precision."""

from __future__ import annotations

import re
from collections.abc import Iterator

import libcst as cst

from ecolint.analysis.facts import ModelLoad, ModuleFacts
from ecolint.analysis.practices import HALF
from ecolint.analysis.scopes import dotted_name
from ecolint.analysis.values import ValueKind


def model_text(load: ModelLoad) -> str | None:
    """The model id as written or resolved (``"meta-llama/Llama-3.1-8B"``), when it is known."""
    if load.model_id is None:
        return None
    return load.model_id.text()


def inference_loads(facts: ModuleFacts) -> Iterator[ModelLoad]:
    """The model loads outside training code."""
    for load in facts.model_loads:
        if not facts.is_training(load.site.unit) and not load.loads_for_training:
            yield load


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


# Tasks where beam search is the documented quality setting (translation, summarization, captioning,
# speech): encoder-decoder models, their classes, ids and pipeline tasks.
SEQ2SEQ_CLASSES = re.compile(r"Seq2Seq|T5|Bart|Marian|Pegasus|M2M100|NllbMoe|MBart|Blip|VisionEncoderDecoder|"
                             r"Whisper|SpeechSeq2Seq|Pix2Struct|Florence|Kosmos")
SEQ2SEQ_IDS = re.compile(r"t5|bart|opus-mt|marian|pegasus|nllb|m2m|mbart|blip|whisper|pix2struct|florence|"
                         r"madlad|seamless|trocr|donut", re.I)
SEQ2SEQ_TASKS = ("translation", "summarization", "text2text-generation", "image-to-text", "image-text-to-text",
                 "automatic-speech-recognition", "visual-question-answering")


def seq2seq_load(load: ModelLoad) -> bool:
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


def stays_on_cpu(facts: ModuleFacts, load: ModelLoad) -> bool:
    """``device_map="cpu"`` (or a map of CPU devices), or no device placement anywhere in the module."""
    entry = load.entries.get("device_map") or load.entries.get("device")
    if entry is not None:
        return _is_cpu(entry.value, load.site)
    if load.engine == "vllm":
        return False  # vLLM places the model on the GPU itself
    return not any(site.node.func.attr.value in ("cuda", "to") for site in facts.device_moves)


HALF_SYMBOLS = frozenset(symbol for symbol in HALF if symbol.startswith("torch."))


def converted_later(facts: ModuleFacts, load: ModelLoad) -> bool:
    """The loaded model is turned into half precision afterwards: ``.half()``, ``.to(torch.float16)``."""
    for site in facts.device_moves:
        name = site.node.func.attr.value
        if name in ("half", "bfloat16"):
            return True
        if name == "to" and any(dotted_name(arg.value) in HALF_SYMBOLS for arg in site.node.args):
            return True
    return False
