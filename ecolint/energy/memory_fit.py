"""Does a model fit a GPU? Weights + KV cache + runtime overhead, one arithmetic for every command and rule.

``ecolint estimate``, ``optimize``, ``compare``, ``diagnose`` and rule LLM107 all answer with
``fit``: the weights at a precision plus the KV cache of every sequence of the batch must stay
within ``MEMORY_HEADROOM`` of the GPU's memory, the rest being runtime overhead (activations,
logits, the CUDA context).
"""

from __future__ import annotations

from dataclasses import dataclass

from ecolint.energy.architectures import Architecture
from ecolint.energy.dataset import GpuSpec
from ecolint.energy.workload import Workload

# Weights + KV cache may use at most this share of the GPU memory: in the A800 batch sweep the measured
# peak memory was 10-24% above weights + KV cache (activations, logits, the CUDA context).
MEMORY_HEADROOM = 0.8
FIT_PRECISIONS = ("fp16", "int8_pure", "nf4")  # from most to fewest bytes per weight, as offered to users
PRECISION_NAMES = {"fp16": "FP16", "bf16": "BF16", "fp32": "FP32", "int8_pure": "INT8", "int8_default": "INT8",
                   "nf4": "NF4"}


@dataclass(frozen=True)
class Fit:
    """What one precision needs on one GPU."""

    quantization: str
    weights_gb: float
    kv_gb: float
    usable_gb: float  # the GPU memory less the runtime overhead

    @property
    def needed_gb(self) -> float:
        return self.weights_gb + self.kv_gb

    @property
    def fits(self) -> bool:
        return self.needed_gb <= self.usable_gb

    def describe(self) -> str:
        name = PRECISION_NAMES.get(self.quantization, self.quantization)
        return f"{name} {self.needed_gb:.1f} GB ({self.weights_gb:.1f} weights + {self.kv_gb:.1f} KV)"


def usable_gb(gpu: GpuSpec) -> float:
    return gpu.vram_gb * MEMORY_HEADROOM


def fit(workload: Workload) -> Fit:
    """The memory ``workload`` needs against what its GPU offers after the runtime overhead."""
    weights = workload.arch.weight_bytes_resident(workload.quantization) / 1e9
    total = workload.vram_bytes() / 1e9
    return Fit(workload.quantization, weights, total - weights, usable_gb(workload.gpu))


def fits_by_precision(
    gpu: GpuSpec,
    arch: Architecture,
    batch_size: int = 1,
    input_tokens: int = 512,
    output_tokens: int = 256,
    precisions: tuple[str, ...] = FIT_PRECISIONS,
) -> list[Fit]:
    """The fit of each precision, for the batch and sequence given (``estimate``'s defaults otherwise)."""
    return [fit(Workload(gpu, arch, q, batch_size, input_tokens, output_tokens)) for q in precisions]


def load_architecture(model_text: str, params_b: float, active_params_b: float | None = None) -> Architecture:
    """The shape of a loaded model: the table's when the id or name is known, else estimated from its size."""
    from ecolint.energy.architectures import estimated_architecture, find_architecture

    return find_architecture(model_text) or estimated_architecture(
        params_b, model_text, active_params_b=active_params_b
    )


def weights_gb(
    model_text: str, params_b: float, quantization: str = "fp16", active_params_b: float | None = None
) -> float:
    """GB the weights of a load occupy on the GPU: the one figure rules LLM103, LLM107 and LLM108 and the
    advisor's fit use (``Architecture.weight_bytes_resident``)."""
    arch = load_architecture(model_text, params_b, active_params_b)
    return arch.weight_bytes_resident(quantization) / 1e9
