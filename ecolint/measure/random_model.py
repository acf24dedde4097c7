"""Random-weight models with the shapes of real architectures, quantized and compiled as users run them.

Models are built from the configurations of real architectures (shipped as JSON in
``ecolint/measure/architectures/``) with random weights: energy per token depends on tensor
shapes and kernels, not on trained values. The inputs of the linear layers carry a few large
channels, as in trained LLMs (see :func:`add_outlier_channels`), so that LLM.int8()
(``int8_default``, threshold 6.0) really takes its mixed-precision outlier path.

Quantization uses bitsandbytes directly, with the settings ``transformers`` uses for
``BitsAndBytesConfig``: ``nf4`` = ``Linear4bit(quant_type="nf4", compute_dtype=float16)``,
no double quantization; ``int8_default`` = ``Linear8bitLt(threshold=6.0)``; ``int8_pure`` =
``Linear8bitLt(threshold=0.0)``; ``lm_head`` stays in fp16, as transformers leaves it.

``fp16_compiled`` (``--compile``) is the fp16 model with a static KV cache and its decoding step
compiled by ``torch.compile(mode="reduce-overhead", fullgraph=True)`` (see
:func:`compile_for_generation`).

torch and transformers are imported only when a model is built; bitsandbytes only for nf4/int8.
"""

from __future__ import annotations

import json
from importlib import resources

from ecolint.measure.calibration_plan import Protocol

QUANTIZED = ("nf4", "int8_default", "int8_pure")
INT8_THRESHOLD = {"int8_default": 6.0, "int8_pure": 0.0}


class CalibrationError(RuntimeError):
    """Calibration cannot run (missing package, unknown architecture ...). One-line message."""


# -- architectures -----------------------------------------------------------------------------


def available_architectures() -> list[str]:
    folder = resources.files("ecolint.measure").joinpath("architectures")
    return sorted(p.name[: -len(".json")] for p in folder.iterdir() if p.name.endswith(".json"))


def load_architecture(name: str) -> dict:
    key = name.strip().lower()
    folder = resources.files("ecolint.measure").joinpath("architectures")
    path = folder.joinpath(f"{key}.json")
    if not path.is_file():
        raise CalibrationError(
            f"unknown architecture {name!r}; known: {', '.join(available_architectures())}"
        )
    return json.loads(path.read_text(encoding="utf-8"))


# -- model building ----------------------------------------------------------------------------


def require_module(name: str):
    try:
        return __import__(name)
    except ImportError as error:
        raise CalibrationError(f"calibrate needs {name} ({error})") from None


def build_model(
    arch: dict,
    precision: str,
    protocol: Protocol,
    device: str,
    config_overrides: dict | None = None,
):
    """A causal LM with ``arch``'s shapes, random weights and outlier channels, in ``precision``."""
    torch = require_module("torch")
    transformers = require_module("transformers")
    settings = dict(arch["config"])
    settings.update(config_overrides or {})
    model_type = settings.pop("model_type")
    settings.pop("architectures", None)
    settings.pop("torch_dtype", None)
    config = transformers.AutoConfig.for_model(model_type, **settings)
    dtype = {"fp32": torch.float32, "bf16": torch.bfloat16}.get(precision, torch.float16)
    torch.manual_seed(protocol.seed)
    with torch.device(device):
        try:
            model = transformers.AutoModelForCausalLM.from_config(config, dtype=dtype)
        except TypeError:  # transformers < 4.56 names it torch_dtype
            model = transformers.AutoModelForCausalLM.from_config(config, torch_dtype=dtype)
    model = model.to(device=device, dtype=dtype)
    model.requires_grad_(False)
    add_outlier_channels(model, protocol)
    if precision in QUANTIZED:
        quantize(model, precision, device)
    model.eval()  # after quantize: new layers start in training mode, and bitsandbytes acts on it
    return model


def compile_for_generation(model) -> str:
    """Give ``model`` a static KV cache and a ``torch.compile``d decoding step; returns how.

    transformers versions whose ``generate`` compiles by itself (those with ``CompileConfig``,
    5.x among them) get ``generation_config.cache_implementation = "static"`` and
    ``generation_config.compile_config = CompileConfig(fullgraph=True, mode="reduce-overhead",
    dynamic=False)``: ``generate`` then runs the prefill eagerly and every decoding step through
    the compiled model. Older versions get the recipe of their documentation, the static cache
    and ``model.forward = torch.compile(model.forward, mode="reduce-overhead", fullgraph=True)``.
    Nothing is compiled here: compilation happens on the first ``generate`` call.
    """
    torch = require_module("torch")
    transformers = require_module("transformers")
    model.generation_config.cache_implementation = "static"
    compile_config = getattr(transformers, "CompileConfig", None)
    if compile_config is not None and hasattr(model, "get_compiled_call"):
        model.generation_config.compile_config = compile_config(
            fullgraph=True, mode="reduce-overhead", dynamic=False
        )
        return (
            "static KV cache; generate compiles the decoding step itself "
            "(CompileConfig(fullgraph=True, mode='reduce-overhead', dynamic=False))"
        )
    model.forward = torch.compile(model.forward, mode="reduce-overhead", fullgraph=True)
    return "static KV cache; model.forward = torch.compile(model.forward, mode='reduce-overhead', fullgraph=True)"


def reset_compiled(torch) -> None:
    """Drop compiled graphs and CUDA graph pools, so the next model starts clean."""
    dynamo = getattr(torch, "_dynamo", None)
    if dynamo is not None and hasattr(dynamo, "reset"):
        dynamo.reset()


def _decoder_layers(model):
    inner = getattr(model, "model", None)
    layers = getattr(inner, "layers", None)
    if layers is None:
        raise CalibrationError(
            f"{type(model).__name__}: no model.layers (only Llama-like decoders are supported)"
        )
    return layers


def add_outlier_channels(model, protocol: Protocol) -> None:
    """Give the linear layers' inputs a few large channels, as trained LLMs have them.

    ``outlier_channels`` hidden channels get RMSNorm gain ``outlier_scale`` before attention and
    before the MLP, and as many intermediate channels get up-projection rows scaled by
    ``outlier_scale``; the weight columns that read those channels are divided by the same
    factor. The model computes the same function as before, but the inputs of q/k/v, gate/up
    and down projections carry large channels, which LLM.int8() (threshold 6.0) handles on its
    mixed-precision outlier path, as it does in trained models.
    """
    torch = require_module("torch")
    if protocol.outlier_channels <= 0 or protocol.outlier_scale == 1.0:
        return
    scale = protocol.outlier_scale
    config = model.config
    generator = torch.Generator().manual_seed(protocol.seed + 1)
    hidden = torch.randperm(config.hidden_size, generator=generator)[: protocol.outlier_channels]
    inner = torch.randperm(config.intermediate_size, generator=generator)[
        : protocol.outlier_channels
    ]
    with torch.no_grad():
        for layer in _decoder_layers(model):
            attention, mlp = layer.self_attn, layer.mlp
            groups = (
                (layer.input_layernorm, (attention.q_proj, attention.k_proj, attention.v_proj)),
                (layer.post_attention_layernorm, (mlp.gate_proj, mlp.up_proj)),
            )
            for norm, readers in groups:
                channels = hidden.to(norm.weight.device)
                norm.weight[channels] *= scale
                for linear in readers:
                    linear.weight[:, channels] /= scale
            channels = inner.to(mlp.up_proj.weight.device)
            mlp.up_proj.weight[channels] *= scale
            if mlp.up_proj.bias is not None:
                mlp.up_proj.bias[channels] *= scale
            mlp.down_proj.weight[:, channels] /= scale


def quantize(model, precision: str, device: str) -> int:
    """Replace the decoder's nn.Linear layers with bitsandbytes layers; returns how many."""
    torch = require_module("torch")
    try:
        import bitsandbytes as bnb
    except ImportError as error:
        raise CalibrationError(f"{precision} needs bitsandbytes ({error})") from None
    count = 0
    for parent in list(_decoder_layers(model).modules()):
        for child_name, child in list(parent.named_children()):
            if type(child) is not torch.nn.Linear:
                continue
            has_bias = child.bias is not None
            weight = child.weight.data.to(device=device, dtype=torch.float16)
            if precision == "nf4":
                layer = bnb.nn.Linear4bit(
                    child.in_features,
                    child.out_features,
                    bias=has_bias,
                    compute_dtype=torch.float16,
                    compress_statistics=False,
                    quant_type="nf4",
                    device="meta",
                )
                layer.weight = bnb.nn.Params4bit(
                    weight,
                    requires_grad=False,
                    compress_statistics=False,
                    quant_type="nf4",
                    module=layer,
                ).to(device)
            else:
                layer = bnb.nn.Linear8bitLt(
                    child.in_features,
                    child.out_features,
                    bias=has_bias,
                    has_fp16_weights=False,
                    threshold=INT8_THRESHOLD[precision],
                    device="meta",
                )
                param = bnb.nn.Int8Params(weight, requires_grad=False, has_fp16_weights=False)
                layer.weight = (
                    param._quantize(device)
                    if hasattr(param, "_quantize")
                    else param.cpu().to(device)
                )
            if has_bias:
                layer.bias = torch.nn.Parameter(
                    child.bias.data.to(device=device, dtype=torch.float16), requires_grad=False
                )
            setattr(parent, child_name, layer)
            del child, weight
            count += 1
    return count


def int8_outlier_layers(model) -> tuple[int, int]:
    """(LLM.int8() layers whose last forward took the outlier path, LLM.int8() layers with a threshold)."""
    taken = total = 0
    for module in model.modules():
        state = getattr(module, "state", None)
        if type(module).__name__ != "Linear8bitLt" or not getattr(state, "threshold", 0.0) > 0.0:
            continue
        total += 1
        idx = getattr(state, "idx", None)
        if idx is not None and getattr(idx, "numel", lambda: 0)() > 0:
            taken += 1
    return taken, total
