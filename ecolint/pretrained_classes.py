"""How a ``from_pretrained`` call's class is named when it loads no model, and the libraries and keywords that make
it a model load: read by the analysis (``facts._Builder._loads_a_model``) and by the pre-pass
(``ecolint.candidate_loads``), which must agree. Plain names only: importing this module loads nothing else."""

from __future__ import annotations

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
