"""How many parameters a model has: from its id, a table of well-known ids, or a config.json."""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

# "8x7B" (mixture of experts: nominal experts x size), then "7B", "1.5b", "135M".
_MOE = re.compile(r"(?:^|[-_/ .])(\d+)x(\d+(?:\.\d+)?)([bm])(?![a-z0-9])", re.IGNORECASE)
_PLAIN = re.compile(r"(?:^|[-_/ ])(\d+(?:\.\d+)?)([bm])(?![a-z0-9])", re.IGNORECASE)


# config.json fields that hold counts; each must be a whole number within these bounds.
CONFIG_COUNT_FIELDS = (
    "hidden_size", "n_embd", "d_model", "num_hidden_layers", "n_layer", "num_layers", "vocab_size",
    "num_attention_heads", "n_head", "num_key_value_heads", "head_dim", "intermediate_size", "n_inner",
    "num_local_experts", "num_experts", "n_routed_experts", "n_shared_experts", "num_experts_per_tok",
    "moe_intermediate_size", "shared_expert_intermediate_size", "max_position_embeddings", "n_positions",
)
CONFIG_COUNT_MAX = 10**8


class ConfigError(ValueError):
    """A checkpoint's config.json that cannot be read as a model shape (one line, names the field)."""


def check_config(config: object, where: str) -> dict:
    """``config`` when every count field is a whole number from 1 to 10^8; a ConfigError naming the field otherwise."""
    if not isinstance(config, dict):
        raise ConfigError(f"{where} is not a JSON object")
    for key in CONFIG_COUNT_FIELDS:
        value = config.get(key)
        if value is None:
            continue
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not (
            value == value and 1 <= value <= CONFIG_COUNT_MAX and float(value).is_integer()
        ):
            raise ConfigError(f"{where}: {key} = {json.dumps(value)[:40]} is not a whole number from 1 to 10^8")
    return config


@dataclass(frozen=True)
class ModelSize:
    """A parameter count in billions and how it was found."""

    params_b: float
    source: str  # "name", "table" or "config.json"
    detail: str

    def describe(self) -> str:
        return f"{format_params(self.params_b)} parameters, {self.detail}"


def format_params(params_b: float) -> str:
    if params_b < 1:
        return f"{params_b * 1000:.0f}M"
    return f"{params_b:g}B" if params_b == round(params_b, 1) else f"{params_b:.1f}B"


def _scale(unit: str) -> float:
    return 1.0 if unit.lower() == "b" else 0.001


def size_from_name(model_id: str) -> ModelSize | None:
    """The size written in a model id, e.g. ``Qwen/Qwen2-1.5B`` -> 1.5B, ``8x7B`` -> 56B nominal."""
    name = model_id.rsplit("/", 1)[-1]
    moe = _MOE.search(name)
    if moe:
        experts, each, unit = moe.groups()
        total = int(experts) * float(each) * _scale(unit)
        return ModelSize(total, "name", f"read from '{moe.group(0).strip('-_/ .')}' in the model id (experts x size)")
    plain = _PLAIN.search(name)
    if plain:
        number, unit = plain.groups()
        return ModelSize(float(number) * _scale(unit), "name", f"read from '{number}{unit}' in the model id")
    return None


@lru_cache(maxsize=None)
def _known_sizes() -> dict[str, tuple[float, str]]:
    table = resources.files("ecolint.energy.data").joinpath("model_sizes.csv")
    with table.open(encoding="utf-8", newline="") as handle:
        return {row["model_id"].lower(): (float(row["params_b"]), row["source"]) for row in csv.DictReader(handle)}


def size_from_table(model_id: str) -> ModelSize | None:
    """The size of a well-known model whose id carries none (gpt2, phi-2, Phi-3-mini, ...)."""
    known = _known_sizes()
    key = model_id.lower()
    found = known.get(key) or known.get(key.split("/", 1)[-1])
    if found is None and "/" not in key:
        found = next((value for name, value in known.items() if name.split("/")[-1] == key), None)
    if found is None and key.startswith("openai-community/"):
        found = known.get(key.split("/", 1)[1])
    if found is None:
        return None
    return ModelSize(found[0], "table", f"per {found[1]}")


def params_from_config(config: dict) -> float | None:
    """Parameters (billions) of a decoder-only transformer from its Hugging Face config.

    Counts embeddings (twice when not tied), attention projections (with grouped-query heads),
    the MLP (three matrices for gated activations such as SiLU/SwiGLU, two otherwise) and ignores
    norms and biases, which are well under 1% of the total for the architectures measured.
    """
    hidden = config.get("hidden_size") or config.get("n_embd") or config.get("d_model")
    layers = config.get("num_hidden_layers") or config.get("n_layer") or config.get("num_layers")
    vocab = config.get("vocab_size")
    if not (hidden and layers and vocab):
        return None
    heads = config.get("num_attention_heads") or config.get("n_head") or 1
    kv_heads = config.get("num_key_value_heads") or heads
    head_dim = config.get("head_dim") or hidden // heads
    intermediate = config.get("intermediate_size") or config.get("n_inner") or 4 * hidden
    activation = str(config.get("hidden_act") or config.get("activation_function") or "gelu").lower()
    gated = activation in {"silu", "swish", "swiglu"} or config.get("model_type") in {"llama", "mistral", "qwen2"}
    attention = hidden * heads * head_dim * 2 + hidden * kv_heads * head_dim * 2
    mlp = (3 if gated else 2) * hidden * intermediate
    experts = config.get("num_local_experts") or 1
    embeddings = vocab * hidden * (1 if config.get("tie_word_embeddings", False) else 2)
    return (embeddings + layers * (attention + mlp * experts)) / 1e9


def size_from_checkpoint(path: Path) -> ModelSize | None:
    """The size computed from ``path/config.json`` when ``path`` is a local checkpoint directory.

    None when there is no config.json; a ConfigError when it is not valid JSON or a count is not a
    whole number in range (1e308, a list where a number belongs).
    """
    config_file = path / "config.json"
    try:
        text = config_file.read_text(encoding="utf-8")
    except OSError:
        return None
    try:
        config = json.loads(text)
    except ValueError as error:
        raise ConfigError(f"{config_file} is not valid JSON ({error})") from None
    check_config(config, str(config_file))
    params = params_from_config(config)
    if params is None:
        return None
    return ModelSize(params, "config.json", f"computed from {config_file}")


def resolve_model_size(model_id: str, base_dirs: tuple[Path, ...] = ()) -> ModelSize | None:
    """The model's size, or None when it cannot be known (then no size-based finding is made)."""
    for base in base_dirs:
        candidate = (base / model_id) if not Path(model_id).is_absolute() else Path(model_id)
        try:
            if candidate.is_dir():
                found = size_from_checkpoint(candidate)
                if found:
                    return found
        except (OSError, ConfigError):
            continue
    return size_from_table(model_id) or size_from_name(model_id)
