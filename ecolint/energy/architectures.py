"""Transformer shapes: how many layers a model has and how many bytes it reads per generated token.

The measured models' shapes come from their published ``config.json`` (``data/model_architectures.csv``);
a local checkpoint directory is read from its own ``config.json``; any other model is given a shape
estimated from its parameter count by fits over that table (``estimated_architecture``), and says so.
"""

from __future__ import annotations

import csv
import json
import math
import statistics
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from pathlib import Path

from ecolint.energy.model_size import check_config, moe_shape

# Bytes per weight of a linear layer, by quantization. bitsandbytes NF4 stores one fp32 absmax per
# block of 64 weights (4/64 byte per weight; double quantization shrinks it, and the measurement
# records disagree on whether it was on: SOURCES.md conflict 11); LLM.int8() stores int8 weights with
# one scale per row, which is negligible. Embeddings and the output head stay in 16 bits.
LINEAR_BYTES_PER_WEIGHT = {
    "fp32": 4.0,
    "fp16": 2.0,
    "bf16": 2.0,
    "nf4": 0.5 + 4.0 / 64.0,
    "int8_default": 1.0,
    "int8_pure": 1.0,
}
UNQUANTIZED_BYTES = {"fp32": 4.0}  # embeddings/head follow the weights' dtype when not quantized
KV_BYTES_PER_VALUE = 2.0  # the KV cache is kept in the compute dtype: 16 bits, or 32 with FP32 weights


@dataclass(frozen=True)
class Architecture:
    key: str
    model_ids: tuple[str, ...]
    names: tuple[str, ...]
    layers: int
    hidden: int
    heads: int
    kv_heads: int
    head_dim: int
    intermediate: int
    vocab: int
    tied_embeddings: bool
    context: int | None
    source: str
    estimated: bool = False
    # For estimated shapes (no config): parameters in billions, all counted as linear-layer weights.
    estimated_params_b: float | None = None
    # Mixture of experts (``experts`` > 1): ``intermediate`` is unused; the MLPs are ``experts`` routed
    # experts of ``expert_params`` each (summed over layers), ``active_experts`` chosen per token, plus
    # ``other_mlp_params`` (shared experts, dense layers). An estimated shape knows only the active count.
    experts: int = 0
    active_experts: int = 0
    expert_params: float = 0.0
    other_mlp_params: float = 0.0
    estimated_active_params_b: float | None = None

    @property
    def is_moe(self) -> bool:
        return self.experts > 1 or self.estimated_active_params_b is not None

    def _attention_params(self) -> float:
        return float(
            self.layers
            * (self.hidden * self.heads * self.head_dim * 2 + self.hidden * self.kv_heads * self.head_dim * 2)
        )

    def _linear_with(self, experts: float) -> float:
        if self.experts > 1:
            return self._attention_params() + self.other_mlp_params + experts * self.expert_params
        return self._attention_params() + float(self.layers * 3 * self.hidden * self.intermediate)

    @property
    def linear_params(self) -> float:
        """Every linear-layer weight: what sits in memory."""
        if self.estimated:
            return (self.estimated_params_b or 0.0) * 1e9
        return self._linear_with(self.experts)

    @property
    def active_linear_params(self) -> float:
        """The linear-layer weights one token runs through (all of them for a dense model)."""
        if self.estimated:
            return (self.estimated_active_params_b or self.estimated_params_b or 0.0) * 1e9
        return self._linear_with(self.active_experts)

    def expected_experts_read(self, batch_size: int) -> float:
        """Routed experts a decode step reads per layer: E x (1 - (1 - k/E)^batch), uniform routing assumed."""
        e, k = self.experts, self.active_experts
        return e * (1.0 - (1.0 - k / e) ** max(1, batch_size)) if e > 1 else 0.0

    def linear_params_read(self, batch_size: int = 1) -> float:
        """Linear-layer weights read per decode step: every one for a dense model; for a mixture of experts
        the shared part plus the experts the batch's tokens route to (only the active ones for an
        estimated shape, which does not know its experts)."""
        if self.estimated or self.experts <= 1:
            return self.active_linear_params
        return self._linear_with(self.expected_experts_read(batch_size))

    @property
    def embedding_params(self) -> float:
        return 0.0 if self.estimated else float(self.vocab * self.hidden)

    def _embedding_tables(self) -> float:
        return self.embedding_params * (1 if self.tied_embeddings else 2)

    @property
    def params_b(self) -> float:
        """All parameters (billions): what the weights occupy in memory."""
        if self.estimated:
            return self.estimated_params_b or 0.0
        return (self.linear_params + self._embedding_tables()) / 1e9

    @property
    def active_params_b(self) -> float:
        """Parameters (billions) one token runs through: compute and energy per token follow them."""
        if self.estimated:
            return self.estimated_active_params_b or self.estimated_params_b or 0.0
        return (self.active_linear_params + self._embedding_tables()) / 1e9

    def config(self) -> dict:
        return {
            "hidden_size": self.hidden,
            "num_hidden_layers": self.layers,
            "num_attention_heads": self.heads,
            "num_key_value_heads": self.kv_heads,
            "head_dim": self.head_dim,
            "intermediate_size": self.intermediate,
            "vocab_size": self.vocab,
            "tie_word_embeddings": self.tied_embeddings,
            "hidden_act": "silu",
        }

    def kv_bytes_per_token(self, quantization: str | None = None) -> float:
        """KV-cache bytes one token of context occupies (keys and values, every layer)."""
        per_value = 4.0 if quantization == "fp32" else KV_BYTES_PER_VALUE
        return 2.0 * self.layers * self.kv_heads * self.head_dim * per_value

    def weight_bytes_read(self, quantization: str, batch_size: int = 1) -> float:
        """Bytes of weights read from memory per decode step: the linear layers used plus the output head."""
        head_bytes = UNQUANTIZED_BYTES.get(quantization, 2.0)
        return (
            self.linear_params_read(batch_size) * LINEAR_BYTES_PER_WEIGHT[quantization]
            + self.embedding_params * head_bytes
        )

    def weight_bytes_resident(self, quantization: str) -> float:
        """Bytes the weights occupy in GPU memory (input embedding and, when untied, output head)."""
        head_bytes = UNQUANTIZED_BYTES.get(quantization, 2.0)
        tables = 1 if self.tied_embeddings or self.estimated else 2
        return (
            self.linear_params * LINEAR_BYTES_PER_WEIGHT[quantization]
            + tables * self.embedding_params * head_bytes
        )


def _bool(text: str) -> bool:
    return text.strip().lower() in {"true", "yes", "1"}


@lru_cache(maxsize=None)
def architectures() -> dict[str, Architecture]:
    """The shapes of the measured models, by key."""
    table = resources.files("ecolint.energy.data").joinpath("model_architectures.csv")
    found: dict[str, Architecture] = {}
    with table.open(encoding="utf-8", newline="") as handle:
        for row in csv.DictReader(handle):
            found[row["key"]] = Architecture(
                key=row["key"],
                model_ids=tuple(x.strip() for x in row["model_ids"].split(";") if x.strip()),
                names=tuple(x.strip() for x in row["names"].split(";") if x.strip()),
                layers=int(row["num_hidden_layers"]),
                hidden=int(row["hidden_size"]),
                heads=int(row["num_attention_heads"]),
                kv_heads=int(row["num_key_value_heads"]),
                head_dim=int(row["head_dim"]),
                intermediate=int(row["intermediate_size"]),
                vocab=int(row["vocab_size"]),
                tied_embeddings=_bool(row["tie_word_embeddings"]),
                context=int(row["max_position_embeddings"])
                if row["max_position_embeddings"]
                else None,
                source=row["source"],
            )
    return found


def architecture_for_id(model_id: str) -> Architecture | None:
    """The shape of a model by exact Hugging Face id (case-insensitive)."""
    wanted = model_id.strip().lower()
    for arch in architectures().values():
        if wanted in (mid.lower() for mid in arch.model_ids):
            return arch
    return None


def find_architecture(name: str) -> Architecture | None:
    """The shape for a Hugging Face id or an informal name (``Mistral-7B``, ``qwen2.5-7b-instruct``)."""
    exact = architecture_for_id(name)
    if exact:
        return exact
    wanted = name.strip().lower().rsplit("/", 1)[-1]
    for arch in architectures().values():
        candidates = [n.lower() for n in arch.names] + [
            mid.lower().rsplit("/", 1)[-1] for mid in arch.model_ids
        ]
        if wanted in candidates:
            return arch
    return None


def architecture_from_checkpoint(path: Path) -> Architecture | None:
    """The shape written in ``path/config.json`` of a local checkpoint directory."""
    try:
        config = check_config(json.loads((path / "config.json").read_text(encoding="utf-8")), str(path))
    except (OSError, ValueError):  # ConfigError included: size_from_checkpoint reports it
        return None
    hidden = config.get("hidden_size") or config.get("n_embd")
    layers = config.get("num_hidden_layers") or config.get("n_layer")
    heads = config.get("num_attention_heads") or config.get("n_head")
    vocab = config.get("vocab_size")
    if not (hidden and layers and heads and vocab):
        return None
    kv_heads = config.get("num_key_value_heads") or heads
    moe = moe_shape(config)
    return Architecture(
        key=path.name,
        model_ids=(str(path),),
        names=(),
        layers=int(layers),
        hidden=int(hidden),
        heads=int(heads),
        kv_heads=int(kv_heads),
        head_dim=int(config.get("head_dim") or hidden // heads),
        intermediate=int(config.get("intermediate_size") or config.get("n_inner") or 4 * hidden),
        vocab=int(vocab),
        tied_embeddings=bool(config.get("tie_word_embeddings", False)),
        context=config.get("max_position_embeddings") or config.get("n_positions"),
        source=f"computed from {path / 'config.json'}",
        experts=moe.experts if moe else 0,
        active_experts=moe.active_experts if moe else 0,
        expert_params=moe.expert_params if moe else 0.0,
        other_mlp_params=moe.other_mlp_params if moe else 0.0,
    )


@dataclass(frozen=True)
class ShapeFit:
    """How layers and KV-cache width follow parameter count over the known shapes."""

    layer_coefficient: float
    layer_exponent: float
    kv_bytes_per_layer_token: float
    n: int

    def layers(self, params_b: float) -> int:
        return max(1, round(self.layer_coefficient * params_b**self.layer_exponent))


def fit_shapes(known: list[Architecture]) -> ShapeFit:
    """Fit ``layers = c x params_b ** a`` (log-log least squares) and take the median KV width."""
    xs = [math.log(a.params_b) for a in known]
    ys = [math.log(a.layers) for a in known]
    mean_x, mean_y = statistics.fmean(xs), statistics.fmean(ys)
    sxx = sum((x - mean_x) ** 2 for x in xs)
    slope = sum((x - mean_x) * (y - mean_y) for x, y in zip(xs, ys)) / sxx if sxx else 0.0
    kv = statistics.median(a.kv_bytes_per_token() / a.layers for a in known)
    return ShapeFit(math.exp(mean_y - slope * mean_x), slope, kv, len(known))


def estimated_architecture(
    params_b: float, label: str, known: list[Architecture] | None = None, active_params_b: float | None = None
) -> Architecture:
    """A shape for a model the data lacks, from its parameter count alone (see ``fit_shapes``).

    For a mixture of experts ``params_b`` is the total (memory) and ``active_params_b`` what one token
    runs through (weights read and compute per token). The layer count follows the active count:
    a mixture of experts has the depth of a dense model of its active size (Mixtral 8x7B: 32 layers,
    like Mistral-7B), not of its total.
    """
    fit = fit_shapes(known if known is not None else list(architectures().values()))
    layers = fit.layers(active_params_b or params_b)
    sizes = f"{params_b:g}B parameters" + (
        f" ({active_params_b:g}B active per token, mixture of experts)" if active_params_b is not None else ""
    )
    kv_heads, head_dim = 1, max(1, round(fit.kv_bytes_per_layer_token / (2 * KV_BYTES_PER_VALUE)))
    return Architecture(
        key=label,
        model_ids=(),
        names=(),
        layers=layers,
        hidden=0,
        heads=0,
        kv_heads=kv_heads,
        head_dim=head_dim,
        intermediate=0,
        vocab=0,
        tied_embeddings=False,
        context=None,
        source=(
            f"estimated from {sizes}: {layers} layers "
            f"(layers = {fit.layer_coefficient:.1f} x B^{fit.layer_exponent:.2f}, fitted on {fit.n} known shapes), "
            f"KV cache {fit.kv_bytes_per_layer_token:.0f} bytes per layer per token (median of the known shapes)"
        ),
        estimated=True,
        estimated_params_b=params_b,
        estimated_active_params_b=active_params_b,
    )
