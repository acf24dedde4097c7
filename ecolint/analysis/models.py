"""Facts about a module's model loads that several rules share: which loads run inference, which models
generate text, which are encoder-decoders, and which stay on the CPU or are turned into half precision."""

from __future__ import annotations

import re
from collections.abc import Iterator
from weakref import WeakKeyDictionary

import libcst as cst

from ecolint.analysis.branches import branch_paths, may_both_run
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
    r"^AutoModel$|BertModel|CLIP|Whisper|Wav2Vec|SpeechSeq2Seq|ImageClassification|EncoderModel|RewardModel|"
    # encoders and scorers by their heads: DPRContextEncoder, CrossEncoder, ...ForCTC, ...ForAudioClassification
    r"Encoder$|Embedder|Reranker|Retriever|ForCTC|AudioClassification|NextSentencePrediction|ObjectDetection|"
    r"SemanticSegmentation|DepthEstimation|ForRewardModeling"
)
NOT_GENERATIVE_TASKS = frozenset({
    "feature-extraction", "text-classification", "sentiment-analysis", "token-classification", "ner", "fill-mask",
    "automatic-speech-recognition", "image-classification", "zero-shot-classification", "question-answering",
    "sentence-similarity", "audio-classification", "object-detection", "image-segmentation", "depth-estimation",
})
NOT_GENERATIVE_IDS = re.compile(r"bert|roberta|e5-|bge-|gte-|minilm|mpnet|whisper|wav2vec|clip|sentence-t|dpr-|"
                                r"encoder(?![-_]?decoder)", re.I)


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
    """``device_map="cpu"`` (or a map of CPU devices), or no placement on a GPU anywhere in the module: no
    ``.cuda()``, no ``.to(...)`` other than ``.to(model.device)`` / ``.to("cpu")`` / a dtype (one chained onto
    another load places that model only), and no pipeline that wraps the loaded model with a GPU ``device``."""
    entry = load.entries.get("device_map") or load.entries.get("device")
    if entry is not None:
        return _is_cpu(entry.value, load.site)
    if load.engine == "vllm":
        return False  # vLLM places the model on the GPU itself
    if any((_places_on_gpu(site.node) or _to_own_device(facts, site)) and _may_hold(site.node, facts, load)
           for site in facts.device_moves):
        return False
    return not any(_is_gpu(device) for device in _wrapping_pipeline_devices(facts, load))


def _places_on_gpu(call: cst.Call) -> bool:
    """``.cuda()`` or ``.to(device)``; not ``.to(model.device)`` (it follows the model wherever it is),
    ``.to("cpu")`` or ``.to(torch.float16)``."""
    name = call.func.attr.value
    if name == "cuda":
        return True
    if name != "to":
        return False
    given = [arg.value for arg in call.args if arg.keyword is None and not arg.star]
    given += [arg.value for arg in call.args if arg.keyword is not None and arg.keyword.value == "device"]
    if not given:
        return False
    first = given[0]
    if isinstance(first, cst.Attribute) and first.attr.value == "device":
        return False
    if isinstance(first, cst.SimpleString) and str(first.evaluated_value).lower().startswith("cpu"):
        return False
    return not (dotted_name(first) or "").startswith("torch.") or dotted_name(first) == "torch.device"


def _to_own_device(facts: ModuleFacts, site) -> bool:
    """``.to(self.device)`` in a class that sets ``self.device`` itself (a wrapper's configured device, not the
    device a model reports), to something other than the CPU."""
    call = site.node
    if call.func.attr.value != "to" or not call.args or call.args[0].keyword is not None:
        return False
    device = call.args[0].value
    if not (isinstance(device, cst.Attribute) and device.attr.value == "device" and isinstance(device.value, cst.Name)
            and device.value.value == "self" and site.function is not None and site.function.owner is not None):
        return False
    settings = facts.collector.instance_attributes.get((id(site.function.owner), "device"), []) if (
        facts.collector is not None) else []
    return any(not _is_cpu(facts.resolver.resolve(setting.value, setting.scope, setting.order), setting)
               for setting in settings)


def _wrapping_pipeline_devices(facts: ModuleFacts, load: ModelLoad) -> Iterator:
    """The ``device`` (or ``device_map``) of each ``pipeline(model=model, ...)`` that wraps the loaded model."""
    for creation in facts.pipelines:
        model = creation.entries.get("model")
        if model is None or model.value.node is not load.site.node:
            continue
        entry = creation.entries.get("device") or creation.entries.get("device_map")
        if entry is not None:
            yield entry.value


def _is_gpu(value) -> bool:
    """A device that is a GPU: an index >= 0, ``"cuda"``, ``"cuda:1"``, ``"auto"``; for a choice, any option."""
    if value.kind == ValueKind.CHOICE:
        return any(_is_gpu(option) for option in value.options)
    if value.kind != ValueKind.CONST:
        return False
    if isinstance(value.value, int) and not isinstance(value.value, bool):
        return value.value >= 0
    return isinstance(value.value, str) and value.value.lower().startswith(("cuda", "auto"))


def generates_with_remote_code(facts: ModuleFacts, load: ModelLoad) -> bool:
    """``AutoModel.from_pretrained(..., trust_remote_code=True)`` whose model then runs ``.generate`` or ``.chat``:
    a generative model although its class says nothing about it."""
    remote = load.entries.get("trust_remote_code")
    if remote is None or remote.value.provably_false():
        return False
    return generates(facts, load)


def generates(facts: ModuleFacts, load: ModelLoad) -> bool:
    """The loaded model runs ``.generate`` or ``.chat`` in the module: through a name assigned the load
    (``model = AutoModel.from_pretrained(...).cuda().eval()``), or an attribute of the class that holds it
    (``self.model = ...`` in one method, ``self.model.generate(...)`` in another)."""
    for generation in facts.generations:
        func = generation.site.node.func
        if generation.kind not in ("generate", "chat") or not isinstance(func, cst.Attribute):
            continue
        if any(_holds(value, load) for value in _assigned(facts, generation.site, func.value)):
            return True
    return False


def _assigned(facts: ModuleFacts, site, receiver: cst.BaseExpression) -> list:
    """What the receiver of a call was assigned: a name's value, or every ``self.<attr> = ...`` of its class."""
    if isinstance(receiver, cst.Name):
        binding = site.scope.lookup(receiver.value, site.order)
        return [binding.value] if binding is not None and binding.kind == "assign" else []
    owner = site.function.owner if site.function is not None else None
    if (isinstance(receiver, cst.Attribute) and isinstance(receiver.value, cst.Name) and receiver.value.value == "self"
            and owner is not None and facts.collector is not None):
        settings = facts.collector.instance_attributes.get((id(owner), receiver.attr.value), [])
        return [setting.value for setting in settings]
    return []


def _holds(value, load: ModelLoad) -> bool:
    """The value is the load's call, or a chain of calls on it (``.cuda().eval()``)."""
    while isinstance(value, cst.Call):
        if value is load.site.node:
            return True
        value = value.func.value if isinstance(value.func, cst.Attribute) else None
    return False


# Encoder-decoders whose activations overflow in float16 (T5 and its descendants): no finding for them.
FLOAT16_OVERFLOW_IDS = re.compile(r"t5|ul2|madlad|switch-", re.I)


def text_seq2seq_generator(load: ModelLoad) -> bool:
    """``AutoModelForSeq2SeqLM`` (or BART, LED, Pegasus, Marian) loading a named text model that is not from the
    T5 family: a generative encoder-decoder that runs in bfloat16 as well as in float32."""
    func = load.site.node.func
    owner = dotted_name(func.value) if isinstance(func, cst.Attribute) else None
    class_name = (owner or "").rsplit(".", 1)[-1]
    if not re.fullmatch(r"AutoModelForSeq2SeqLM|(?:Bart|LED|Pegasus|Marian|MBart)ForConditionalGeneration",
                        class_name):
        return False
    model = model_text(load)
    return bool(model) and not FLOAT16_OVERFLOW_IDS.search(model)


HALF_SYMBOLS = frozenset(symbol for symbol in HALF if symbol.startswith("torch."))


def converted_later(facts: ModuleFacts, load: ModelLoad) -> bool:
    """The loaded model is turned into half precision afterwards: ``.half()``, ``.to(torch.float16)``. A conversion
    chained onto another load (``AutoModel.from_pretrained(...).half()``) is that model's, and one in the other
    branch of an ``if`` than the load (``if multi_gpu: ... model.half()``) never follows it."""
    conversions = [site for site in facts.device_moves if _to_half(site.node) and _may_hold(site.node, facts, load)]
    if not conversions:
        return False
    paths = _branch_paths(facts)
    at = paths.get(id(load.site.node), ())
    return any(may_both_run(at, paths.get(id(site.node), ())) for site in conversions)


def _to_half(call: cst.Call) -> bool:
    name = call.func.attr.value
    if name in ("half", "bfloat16"):
        return True
    return name == "to" and any(dotted_name(arg.value) in HALF_SYMBOLS for arg in call.args)


def _may_hold(call: cst.Call, facts: ModuleFacts, load: ModelLoad) -> bool:
    """A ``.cuda()``/``.half()``/``.to(...)`` that may act on ``load``'s model: not one chained onto another load
    (``AutoModel.from_pretrained(...).half().cuda()`` moves that model only)."""
    receiver = call.func.value
    while isinstance(receiver, cst.Call):
        if receiver is load.site.node:
            return True
        if any(other.site.node is receiver for other in facts.model_loads):
            return False
        receiver = receiver.func.value if isinstance(receiver.func, cst.Attribute) else None
    return True


_PATHS: WeakKeyDictionary = WeakKeyDictionary()


def _branch_paths(facts: ModuleFacts) -> dict:
    """The ``if``/``try`` branch of every call, computed once per module."""
    if facts not in _PATHS:
        _PATHS[facts] = branch_paths(facts.module) if facts.module is not None else {}
    return _PATHS[facts]
