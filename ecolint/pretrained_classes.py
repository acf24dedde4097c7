"""How a ``from_pretrained`` call's class is named when it loads no model, and the libraries and keywords that make
it a model load: read by the analysis (``facts._Builder._loads_a_model``), by the pre-pass
(``ecolint.candidate_loads``) and by the project index's text gate, which must agree. Importing this module
loads nothing else."""

from __future__ import annotations

import re

LOADING_PACKAGES = ("transformers", "peft")
LOADING_LIBRARIES = tuple(f"{package}." for package in LOADING_PACKAGES)
NOT_MODELS = ("Tokenizer", "TokenizerFast", "Processor", "FeatureExtractor", "Config", "ImageProcessor")
NOT_MODEL_WORDS = ("tokenizer", "processor", "config", "feature_extractor")
ADAPTER_LOADERS = frozenset({"PeftModel", "PeftModelForCausalLM", "LoraModel"})
BNB_LOAD_ARGUMENTS = frozenset({"load_in_8bit", "load_in_4bit", "quantization_config"})


def loads_no_model(class_name: str) -> bool:
    """A tokenizer, processor or config (``AutoTokenizer``, ``tokenizer_class``, ``model_config``), or an adapter
    put on a model loaded elsewhere (``PeftModel``): the last name of the class ``from_pretrained`` is called on."""
    lowered = class_name.lower()
    return class_name.endswith(NOT_MODELS) or class_name in ADAPTER_LOADERS or any(
        word in lowered for word in NOT_MODEL_WORDS)


LOAD_CALL = re.compile(r"\b(?:from_pretrained|pipeline|LLM)\s*\(")
RECEIVER_NAME = re.compile(r"(\w+)$")  # the last name of the receiver text before ``.from_pretrained``


def may_load_a_model(code: str) -> bool:
    """Whether a definition's code may load a model as the analysis records one in its module (``facts``'s
    ``_loads_a_model``): a ``pipeline(...)`` or ``LLM(...)`` call, or a ``from_pretrained`` call on a class that
    may be a model's. Not: ``def from_pretrained(``, a class named like a tokenizer, processor or config
    (``AutoConfig.from_pretrained``, ``tokenizer_class.from_pretrained``), ``cls``/``self``/``super()``, which
    the analysis cannot resolve to a transformers class; every call counts where the code passes bitsandbytes
    loading keywords, which make any class's load one."""
    bitsandbytes = any(word in code for word in BNB_LOAD_ARGUMENTS)
    for match in LOAD_CALL.finditer(code):
        if not match.group().startswith("from_pretrained") or bitsandbytes:
            return True
        before = code[max(0, match.start() - 200):match.start()].rstrip()
        if before.endswith("def"):
            continue  # the method's definition, not a call
        if not before.endswith("."):
            return True  # a function called from_pretrained (an alias): unknown
        receiver = before[:-1].rstrip()
        name = RECEIVER_NAME.search(receiver)
        if receiver.endswith("super()") or (name and (loads_no_model(name.group(1)) or (
                name.group(1) in ("cls", "self") and not receiver[:name.start()].endswith(".")))):
            continue
        return True
    return False
