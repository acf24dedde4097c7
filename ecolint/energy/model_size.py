"""How many parameters a model has: from its id, a table of well-known ids, or a config.json."""

from __future__ import annotations

import csv
import json
import re
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

# "8x7B" (mixture of experts: experts x nominal size, which is neither the total nor the active count),
# "30B-A3B" (total and active parameters), then "7B", "1.5b", "135M".
_MOE = re.compile(r"(?:^|[-_/ .])(\d+)x(\d+(?:\.\d+)?)([bm])(?![a-z0-9])", re.IGNORECASE)
_TOTAL_ACTIVE = re.compile(
    r"(?:^|[-_/ ])(\d+(?:\.\d+)?)([bm])[-_]a(\d+(?:\.\d+)?)([bm])(?![a-z0-9])", re.IGNORECASE
)
_PLAIN = re.compile(r"(?:^|[-_/ ])(\d+(?:\.\d+)?)([bm])(?![a-z0-9])", re.IGNORECASE)
# A model id that names a mixture of experts without saying how many parameters are active.
_MOE_WORD = re.compile(r"(?:^|[-_/ .])moe(?![a-z])", re.IGNORECASE)


# config.json fields that hold counts; each must be a whole number within these bounds.
CONFIG_COUNT_FIELDS = (
    "hidden_size", "n_embd", "d_model", "num_hidden_layers", "n_layer", "num_layers", "vocab_size",
    "num_attention_heads", "n_head", "num_key_value_heads", "head_dim", "intermediate_size", "n_inner",
    "num_local_experts", "num_experts", "n_routed_experts", "n_shared_experts", "num_experts_per_tok",
    "moe_intermediate_size", "shared_expert_intermediate_size", "max_position_embeddings", "n_positions",
    "experts_per_token",
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
    """A parameter count in billions and how it was found.

    ``params_b`` is the total, which the weights occupy in memory. For a mixture of experts
    ``active_params_b`` is what one token runs through (shared layers plus the routed experts);
    compute and energy per token follow it. None for a dense model.
    """

    params_b: float
    source: str  # "name", "table" or "config.json"
    detail: str
    active_params_b: float | None = None

    @property
    def is_moe(self) -> bool:
        return self.active_params_b is not None

    @property
    def compute_params_b(self) -> float:
        """Parameters one generated token runs through: the active ones of a mixture of experts."""
        return self.params_b if self.active_params_b is None else self.active_params_b

    def short(self) -> str:
        """``7B``, or ``46.7B total, 12.9B active (mixture of experts)``."""
        if self.active_params_b is None:
            return format_params(self.params_b)
        active = format_params(self.active_params_b)
        return f"{format_params(self.params_b)} total, {active} active (mixture of experts)"

    def describe(self) -> str:
        if self.active_params_b is None:
            return f"{format_params(self.params_b)} parameters, {self.detail}"
        return (
            f"mixture of experts: {format_params(self.params_b)} parameters in memory, "
            f"{format_params(self.active_params_b)} active per token, {self.detail}"
        )


def format_params(params_b: float) -> str:
    if params_b < 1:
        return f"{params_b * 1000:.0f}M"
    return f"{params_b:g}B" if params_b == round(params_b, 1) else f"{params_b:.1f}B"


def _scale(unit: str) -> float:
    return 1.0 if unit.lower() == "b" else 0.001


def size_from_name(model_id: str) -> ModelSize | None:
    """The size written in a model id, e.g. ``Qwen/Qwen2-1.5B`` -> 1.5B, ``Qwen3-30B-A3B`` -> 30B, 3B active.

    ``8x7B`` gives None: experts x nominal size is neither the total (Mixtral 8x7B has 46.7B, the
    attention layers being shared) nor the active count, so the size must come from the table of
    known models or a config.json. So does an id that says ``moe`` with one number only.
    """
    name = model_id.rsplit("/", 1)[-1]
    if _MOE.search(name):
        return None
    both = _TOTAL_ACTIVE.search(name)
    if both:
        total, unit, active, active_unit = both.groups()
        return ModelSize(
            float(total) * _scale(unit),
            "name",
            f"read from '{total}{unit}-A{active}{active_unit}' in the model id (total and active)",
            float(active) * _scale(active_unit),
        )
    if _MOE_WORD.search(name):
        return None
    plain = _PLAIN.search(name)
    if plain:
        number, unit = plain.groups()
        return ModelSize(float(number) * _scale(unit), "name", f"read from '{number}{unit}' in the model id")
    return None


@lru_cache(maxsize=None)
def _known_sizes() -> dict[str, tuple[float, str, float | None]]:
    table = resources.files("ecolint.energy.data").joinpath("model_sizes.csv")
    with table.open(encoding="utf-8", newline="") as handle:
        return {
            row["model_id"].lower(): (
                float(row["params_b"]),
                row["source"],
                float(row["active_params_b"]) if row.get("active_params_b") else None,
            )
            for row in csv.DictReader(handle)
        }


def size_from_table(model_id: str) -> ModelSize | None:
    """The size of a well-known model whose id carries none or a misleading one (gpt2, phi-2, Mixtral-8x7B)."""
    known = _known_sizes()
    key = model_id.lower()
    found = known.get(key) or known.get(key.split("/", 1)[-1])
    if found is None and "/" not in key:
        found = next((value for name, value in known.items() if name.split("/")[-1] == key), None)
    if found is None and key.startswith("openai-community/"):
        found = known.get(key.split("/", 1)[1])
    if found is None:
        return None
    return ModelSize(found[0], "table", f"per {found[1]}", found[2])


@dataclass(frozen=True)
class MoeShape:
    """The routed experts of a mixture-of-experts config: counts and linear parameters over all layers."""

    experts: int
    active_experts: int
    expert_params: float  # one routed expert, summed over the MoE layers
    other_mlp_params: float  # shared experts and the MLPs of dense layers, summed over all layers


def _count(config: dict, *keys: str) -> int:
    for key in keys:
        value = config.get(key)
        if isinstance(value, (int, float)) and not isinstance(value, bool) and value >= 1:
            return int(value)
    return 0


def _gated(config: dict) -> bool:
    activation = str(config.get("hidden_act") or config.get("activation_function") or "gelu").lower()
    return activation in {"silu", "swish", "swiglu"} or config.get("model_type") in {"llama", "mistral", "qwen2"}


def moe_shape(config: dict) -> MoeShape | None:
    """The experts of a Hugging Face config (Mixtral, Qwen-MoE, DeepSeek-MoE, OLMoE, Phi-MoE, GPT-OSS); None if dense.

    Experts: ``num_local_experts``, ``num_experts`` or ``n_routed_experts``; active per token:
    ``num_experts_per_tok`` or ``experts_per_token``; expert width: ``moe_intermediate_size``, else
    ``intermediate_size``; shared experts: ``shared_expert_intermediate_size`` or ``n_shared_experts``
    x the expert width; the first ``first_k_dense_replace`` layers have a dense MLP of ``intermediate_size``.
    """
    experts = _count(config, "num_local_experts", "num_experts", "n_routed_experts")
    active = _count(config, "num_experts_per_tok", "experts_per_token")
    hidden = _count(config, "hidden_size", "n_embd", "d_model")
    layers = _count(config, "num_hidden_layers", "n_layer", "num_layers")
    if experts < 2 or not (active and hidden and layers):
        return None
    intermediate = _count(config, "intermediate_size", "n_inner") or 4 * hidden
    expert_width = _count(config, "moe_intermediate_size") or intermediate
    shared_width = (
        _count(config, "shared_expert_intermediate_size") or _count(config, "n_shared_experts") * expert_width
    )
    dense_layers = min(_count(config, "first_k_dense_replace"), layers)
    matrices = 3 if _gated(config) else 2
    moe_layers = layers - dense_layers
    return MoeShape(
        experts=experts,
        active_experts=min(active, experts),
        expert_params=float(moe_layers * matrices * hidden * expert_width),
        other_mlp_params=float(matrices * hidden * (moe_layers * shared_width + dense_layers * intermediate)),
    )


def _dense_parts(config: dict) -> tuple[float, float, float] | None:
    """Embeddings, attention (all layers) and dense MLP (all layers) parameters, or None without a shape."""
    hidden = config.get("hidden_size") or config.get("n_embd") or config.get("d_model")
    layers = config.get("num_hidden_layers") or config.get("n_layer") or config.get("num_layers")
    vocab = config.get("vocab_size")
    if not (hidden and layers and vocab):
        return None
    heads = config.get("num_attention_heads") or config.get("n_head") or 1
    kv_heads = config.get("num_key_value_heads") or heads
    head_dim = config.get("head_dim") or hidden // heads
    intermediate = config.get("intermediate_size") or config.get("n_inner") or 4 * hidden
    attention = hidden * heads * head_dim * 2 + hidden * kv_heads * head_dim * 2
    mlp = (3 if _gated(config) else 2) * hidden * intermediate
    embeddings = vocab * hidden * (1 if config.get("tie_word_embeddings", False) else 2)
    return float(embeddings), float(layers * attention), float(layers * mlp)


def params_from_config(config: dict) -> float | None:
    """Parameters (billions, all of them: what the weights occupy) of a decoder-only transformer's config.

    Counts embeddings (twice when not tied), attention projections (with grouped-query heads),
    the MLP (three matrices for gated activations such as SiLU/SwiGLU, two otherwise) and, for a
    mixture of experts, every routed and shared expert (``moe_shape``); ignores norms, biases and
    routers, which are well under 1% of the total for the architectures measured.
    """
    parts = _dense_parts(config)
    if parts is None:
        return None
    embeddings, attention, mlp = parts
    moe = moe_shape(config)
    if moe is None:
        return (embeddings + attention + mlp) / 1e9
    return (embeddings + attention + moe.other_mlp_params + moe.experts * moe.expert_params) / 1e9


def active_params_from_config(config: dict) -> float | None:
    """Parameters (billions) one token runs through: all but the routed experts not chosen; None if dense."""
    parts, moe = _dense_parts(config), moe_shape(config)
    if parts is None or moe is None:
        return None
    embeddings, attention, _ = parts
    return (embeddings + attention + moe.other_mlp_params + moe.active_experts * moe.expert_params) / 1e9


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
    return ModelSize(params, "config.json", f"computed from {config_file}", active_params_from_config(config))


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
